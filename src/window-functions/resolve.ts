// Window functions resolved against their input: which function, its arguments compiled, the partition and order keys,
// the frame (Spark's default when none is given), and the column's type. Wrong calls fail here with Spark's reasons.
import { AnalysisError } from "../core/errors.ts";
import type { DataType, Field, Schema } from "../core/types.ts";
import { AGGREGATE_FUNCTIONS, countedArguments, type Expr, type WindowFrame } from "../expr/ast.ts";
import { compileExpression, expressionName, type CompiledExpr } from "../expr/compile.ts";
import type { AggregateName } from "../operators/aggregate-functions.ts";

export const RANKING_FUNCTIONS: ReadonlySet<string> = new Set(["row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile"]);
export const OFFSET_FUNCTIONS: ReadonlySet<string> = new Set(["lag", "lead"]);

export type WindowFunction =
  | { readonly kind: "ranking"; readonly name: "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" }
  | { readonly kind: "ntile"; readonly buckets: number }
  | { readonly kind: "offset"; readonly input: CompiledExpr; readonly offset: number; readonly fallback: CompiledExpr | undefined }
  | { readonly kind: "aggregate"; readonly name: AggregateName; readonly input: CompiledExpr | undefined };

export interface OrderKey {
  readonly key: CompiledExpr;
  readonly descending: boolean;
  readonly nullsFirst: boolean;
}

export interface ResolvedWindow {
  /** The output column (hidden until the projection names it). */
  readonly field: Field;
  readonly function: WindowFunction;
  readonly partitionBy: readonly CompiledExpr[];
  readonly orderBy: readonly OrderKey[];
  readonly frame: WindowFrame;
}

const NUMERIC: ReadonlySet<DataType> = new Set(["int", "long", "double"]);

/** Resolves `expr` (an `over` expression) over `input`; the column is named `name`. */
export function resolveWindow(expr: Extract<Expr, { kind: "over" }>, input: Schema, name: string): ResolvedWindow {
  const text = expressionName(expr);
  const call = expr.function;
  if (call.kind !== "call") throw new AnalysisError(`'${expressionName(call)}' is not a window function: OVER follows a ranking function (row_number, rank, dense_rank, percent_rank, cume_dist, ntile), lag, lead or an aggregate function.`);
  const context = `the window function ${text}`;
  const partitionBy = expr.window.partitionBy.map((key) => compileExpression(key, input, context));
  const orderBy = expr.window.orderBy.map((order) => ({ key: compileExpression(order.expr, input, context), descending: order.descending, nullsFirst: order.nullsFirst }));
  const fn = call.name.toLowerCase();
  const ordered = orderBy.length > 0;
  if (RANKING_FUNCTIONS.has(fn) || OFFSET_FUNCTIONS.has(fn)) {
    if (!ordered) throw new AnalysisError(`Window function ${fn}() requires window to be ordered, please add ORDER BY clause. For example SELECT ${fn}(value_expr) OVER (PARTITION BY window_partition ORDER BY window_ordering) from table (in ${text}).`);
    if (expr.window.frame !== undefined) throw new AnalysisError(`Cannot specify a window frame for ${fn}(): its frame is fixed (${text}). Leave out ROWS/RANGE (rowsBetween/rangeBetween).`);
  }
  const frame = expr.window.frame ?? (ordered ? { unit: "range" as const, start: -Infinity, end: 0 } : { unit: "rows" as const, start: -Infinity, end: Infinity });
  if (frame.unit === "range" && (Number.isFinite(frame.start) && frame.start !== 0 || Number.isFinite(frame.end) && frame.end !== 0)) {
    if (orderBy.length !== 1) throw new AnalysisError(`A range window frame with value boundaries cannot be used in a window specification with multiple order by expressions: ${text}. Order by one numeric column, or use ROWS BETWEEN.`);
    const type = (orderBy[0] as OrderKey).key.type;
    if (!NUMERIC.has(type) && type !== "timestamp") throw new AnalysisError(`A range window frame with value boundaries needs a numeric ORDER BY, but ${(orderBy[0] as OrderKey).key.name} is ${type} (${text}).`);
  }
  const resolved = resolveFunction(fn, call, input, context);
  return { field: { name, type: resolved.type, nullable: resolved.nullable }, function: resolved.function, partitionBy, orderBy, frame };
}

function resolveFunction(fn: string, call: Extract<Expr, { kind: "call" }>, input: Schema, context: string): { function: WindowFunction; type: DataType; nullable: boolean } {
  const args = call.args;
  const arity = (min: number, max: number): void => {
    if (args.length < min || args.length > max) throw new AnalysisError(`${fn}() takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? "" : "s"}, got ${args.length} in ${context}.`);
  };
  switch (fn) {
    case "row_number":
    case "rank":
    case "dense_rank":
      arity(0, 0);
      return { function: { kind: "ranking", name: fn }, type: "int", nullable: false };
    case "percent_rank":
    case "cume_dist":
      arity(0, 0);
      return { function: { kind: "ranking", name: fn }, type: "double", nullable: false };
    case "ntile": {
      arity(1, 1);
      const buckets = literalInteger(args[0] as Expr);
      if (buckets === undefined || buckets <= 0) throw new AnalysisError(`Buckets expression must be a positive integer literal, but got ${expressionName(args[0] as Expr)} in ${context}.`);
      return { function: { kind: "ntile", buckets }, type: "int", nullable: false };
    }
    case "lag":
    case "lead": {
      arity(1, 3);
      const value = compileExpression(args[0] as Expr, input, context);
      const offset = args[1] === undefined ? 1 : literalInteger(args[1]);
      if (offset === undefined) throw new AnalysisError(`The offset of ${fn}() must be an integer literal, but got ${expressionName(args[1] as Expr)} in ${context}.`);
      const fallback = args[2] === undefined ? undefined : compileExpression(args[2], input, context);
      return { function: { kind: "offset", input: value, offset: fn === "lag" ? -offset : offset, fallback }, type: value.type === "null" && fallback ? fallback.type : value.type, nullable: true };
    }
    default:
      return resolveAggregate(fn, call, input, context);
  }
}

function resolveAggregate(fn: string, call: Extract<Expr, { kind: "call" }>, input: Schema, context: string): { function: WindowFunction; type: DataType; nullable: boolean } {
  if (!AGGREGATE_FUNCTIONS.has(fn)) throw new AnalysisError(`${fn}() is not a window function (in ${context}): use a ranking function (row_number, rank, dense_rank, percent_rank, cume_dist, ntile), lag, lead, or an aggregate function (${[...AGGREGATE_FUNCTIONS].join(", ")}).`);
  let name = (fn === "mean" ? "avg" : fn === "countdistinct" ? "count_distinct" : fn) as AggregateName;
  // count and count(DISTINCT ...) take several arguments, as in Spark: rows where none is null (distinct tuples).
  const tuple = (name === "count" || name === "count_distinct") && call.args.length > 1 && !call.args.some((arg) => arg.kind === "star");
  if (call.args.length !== 1 && !tuple) throw new AnalysisError(`Aggregate function ${fn} takes exactly one argument, got ${call.args.length} in ${context}.`);
  if (call.distinct) {
    if (name !== "count") throw new AnalysisError(`${fn}(DISTINCT ...) is not supported in ${context}; count(DISTINCT x) is.`);
    name = "count_distinct";
  }
  const argument = countedArguments(call.args);
  if (name === "count" && (argument.kind === "star" || (argument.kind === "literal" && argument.value !== null))) return { function: { kind: "aggregate", name, input: undefined }, type: "long", nullable: false };
  let compiled = compileExpression(argument, input, context);
  // As Spark's PromoteStrings: the sum or average of strings is over their doubles.
  if ((name === "sum" || name === "avg") && compiled.type === "string") compiled = compileExpression({ kind: "cast", operand: argument, to: "double" }, input, context);
  if ((name === "sum" || name === "avg") && !NUMERIC.has(compiled.type) && compiled.type !== "null" && compiled.type !== "any") {
    throw new AnalysisError(`${name}(${compiled.name}) needs a numeric argument, but ${compiled.name} is ${compiled.type} (in ${context}).`);
  }
  const counts = name === "count" || name === "count_distinct" || name === "approx_count_distinct";
  const type: DataType = counts ? "long" : name === "avg" ? "double" : name === "collect_list" || name === "collect_set" ? "array" : name === "sum" && compiled.type === "int" ? "long" : compiled.type;
  return { function: { kind: "aggregate", name, input: compiled }, type, nullable: !counts };
}

function literalInteger(expr: Expr): number | undefined {
  return expr.kind === "literal" && typeof expr.value === "number" && Number.isInteger(expr.value) ? expr.value : undefined;
}
