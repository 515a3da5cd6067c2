// The time-range part of a stream-stream join condition, as Spark's StreamingJoinHelper reads it: conjuncts comparing a
// timestamp column of one side with one of the other, each plus or minus interval literals, folded into bounds on
// leftTime - rightTime (e.g. `clickTime >= impressionTime AND clickTime <= impressionTime + interval 1 hour` gives
// 0 <= clickTime - impressionTime <= 1 hour).
import { INTERVAL, type Expr } from "../expr/ast.ts";
import type { TimeRange } from "../operators/join-stream-eviction.ts";

/** A timestamp column of one side plus a constant, in ms. */
interface Term {
  readonly side: "left" | "right";
  readonly column: string;
  readonly offset: number;
}

/** Which side a column reference belongs to and its name there, when it is a timestamp column; undefined otherwise. */
export type ResolveTime = (name: string) => { side: "left" | "right"; column: string } | undefined;

/**
 * The range on leftTime - rightTime that the conjuncts give for the first pair of time columns they compare (later
 * comparisons of the same pair narrow it). Undefined when no conjunct compares a left time with a right time.
 */
export function timeRangeOf(conjuncts: readonly Expr[], resolve: ResolveTime): TimeRange | undefined {
  let range: { leftColumn: string; rightColumn: string; lower: number | undefined; upper: number | undefined } | undefined;
  for (const comparison of conjuncts.flatMap(comparisons)) {
    const a = term(comparison.left, resolve);
    const b = term(comparison.right, resolve);
    if (!a || !b || a.side === b.side) continue;
    const [l, r, op] = a.side === "left" ? [a, b, comparison.op] : [b, a, flip(comparison.op)];
    if (range && (range.leftColumn !== l.column || range.rightColumn !== r.column)) continue;
    range ??= { leftColumn: l.column, rightColumn: r.column, lower: undefined, upper: undefined };
    // l.column + l.offset <op> r.column + r.offset  <=>  leftTime - rightTime <op> r.offset - l.offset
    const bound = r.offset - l.offset;
    if (op === ">" || op === ">=" || op === "=") range.lower = Math.max(range.lower ?? Number.NEGATIVE_INFINITY, bound);
    if (op === "<" || op === "<=" || op === "=") range.upper = Math.min(range.upper ?? Number.POSITIVE_INFINITY, bound);
  }
  return range;
}

type Comparison = { readonly op: "<" | "<=" | ">" | ">=" | "="; readonly left: Expr; readonly right: Expr };

/** A conjunct as comparisons: `a op b`, and `x BETWEEN lo AND hi` as `x >= lo` and `x <= hi`. */
function comparisons(expr: Expr): Comparison[] {
  if (expr.kind === "binary" && (expr.op === "<" || expr.op === "<=" || expr.op === ">" || expr.op === ">=" || expr.op === "=")) return [{ op: expr.op, left: expr.left, right: expr.right }];
  if (expr.kind === "between" && !expr.negated) return [{ op: ">=", left: expr.operand, right: expr.low }, { op: "<=", left: expr.operand, right: expr.high }];
  return [];
}

function flip(op: Comparison["op"]): Comparison["op"] {
  return op === "<" ? ">" : op === "<=" ? ">=" : op === ">" ? "<" : op === ">=" ? "<=" : "=";
}

/** `column`, `column + interval`, `column - interval`, `interval + column`, nested; undefined for anything else. */
function term(expr: Expr, resolve: ResolveTime): Term | undefined {
  if (expr.kind === "column") {
    const found = resolve(expr.name);
    return found ? { ...found, offset: 0 } : undefined;
  }
  if (expr.kind === "binary" && (expr.op === "+" || expr.op === "-")) {
    const right = intervalOf(expr.right);
    if (right !== undefined) {
      const inner = term(expr.left, resolve);
      return inner && { ...inner, offset: inner.offset + (expr.op === "+" ? right : -right) };
    }
    const left = intervalOf(expr.left);
    if (left !== undefined && expr.op === "+") {
      const inner = term(expr.right, resolve);
      return inner && { ...inner, offset: inner.offset + left };
    }
  }
  return undefined;
}

function intervalOf(expr: Expr): number | undefined {
  if (expr.kind !== "call" || expr.name !== INTERVAL) return undefined;
  const value = expr.args[0];
  return value?.kind === "literal" && typeof value.value === "number" ? value.value : undefined;
}
