// The expression tree that the parser produces and the Column API builds; compiled once into closures.
import type { DataType } from "../core/types.ts";

export type BinaryOperator =
  | "+" | "-" | "*" | "/" | "%"
  | "=" | "!=" | "<" | "<=" | ">" | ">=" | "<=>"
  | "and" | "or" | "||";

export type Expr =
  | { readonly kind: "column"; readonly name: string }
  | { readonly kind: "star" }
  | { readonly kind: "literal"; readonly value: unknown; readonly type: DataType }
  | { readonly kind: "unary"; readonly op: "-" | "not"; readonly operand: Expr }
  | { readonly kind: "binary"; readonly op: BinaryOperator; readonly left: Expr; readonly right: Expr }
  | { readonly kind: "isNull"; readonly operand: Expr; readonly negated: boolean }
  | { readonly kind: "like"; readonly operand: Expr; readonly pattern: Expr; readonly negated: boolean; readonly regex: boolean }
  | { readonly kind: "in"; readonly operand: Expr; readonly list: readonly Expr[]; readonly negated: boolean }
  | { readonly kind: "between"; readonly operand: Expr; readonly low: Expr; readonly high: Expr; readonly negated: boolean }
  | { readonly kind: "case"; readonly operand: Expr | undefined; readonly branches: readonly CaseBranch[]; readonly otherwise: Expr | undefined }
  // `decimal`: a cast to DECIMAL(precision, scale), held as a double rounded to the scale (Rill has no decimal type).
  | { readonly kind: "cast"; readonly operand: Expr; readonly to: DataType; readonly decimal?: DecimalType }
  | { readonly kind: "call"; readonly name: string; readonly args: readonly Expr[]; readonly distinct: boolean }
  | { readonly kind: "alias"; readonly operand: Expr; readonly name: string }
  | { readonly kind: "over"; readonly function: Expr; readonly window: WindowSpec };

/**
 * `OVER (PARTITION BY ... ORDER BY ... ROWS|RANGE BETWEEN ...)`, or Spark's `Window.partitionBy(...).orderBy(...)`. The
 * frame is undefined when none is given: Spark's default then applies (RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT
 * ROW with an ORDER BY, the whole partition without one).
 */
export interface WindowSpec {
  readonly partitionBy: readonly Expr[];
  readonly orderBy: readonly WindowOrder[];
  readonly frame: WindowFrame | undefined;
}

export interface WindowOrder {
  readonly expr: Expr;
  readonly descending: boolean;
  readonly nullsFirst: boolean;
}

/** Bounds relative to the current row: negative precede it, 0 is the current row, -Infinity / Infinity are unbounded. */
export interface WindowFrame {
  readonly unit: "rows" | "range";
  readonly start: number;
  readonly end: number;
}

export interface CaseBranch {
  readonly when: Expr;
  readonly then: Expr;
}

/** Aggregate function names the planner extracts from expressions (the compiler refuses them elsewhere). */
export const AGGREGATE_FUNCTIONS: ReadonlySet<string> = new Set([
  "count", "sum", "avg", "mean", "min", "max", "first", "last",
  "countdistinct", "approx_count_distinct", "collect_list", "collect_set",
]);

export function isAggregateCall(expr: Expr): expr is Extract<Expr, { kind: "call" }> {
  return expr.kind === "call" && AGGREGATE_FUNCTIONS.has(expr.name);
}

/** The call Column.getField(name) builds: `{ kind: "call", name: GET_FIELD, args: [struct, literal name] }`. */
export const GET_FIELD = "getfield";

/**
 * An interval literal (`interval 1 hour`, `INTERVAL '30' MINUTES`): `{ kind: "call", name: INTERVAL, args: [literal ms] }`.
 * Only `timestamp + interval` and `timestamp - interval` use it (a stream-stream join's time-range condition).
 */
export const INTERVAL = "interval";

/** The call Column.getItem(index) builds: the 0-based `get`, named `a[i]`. */
export const GET_ITEM = "getitem";

/** Table-generating functions, allowed only at the top of a select() or withColumn(). */
export const GENERATORS: ReadonlySet<string> = new Set(["explode", "explode_outer", "posexplode", "posexplode_outer"]);

/** The generator call an output column is, under any alias. */
export function generatorCall(expr: Expr): Extract<Expr, { kind: "call" }> | undefined {
  const inner = expr.kind === "alias" ? expr.operand : expr;
  return inner.kind === "call" && GENERATORS.has(inner.name) ? inner : undefined;
}

/** The precision and scale of a DECIMAL type (Spark's default DECIMAL is DECIMAL(10, 0)). */
export interface DecimalType {
  readonly precision: number;
  readonly scale: number;
}

/**
 * The one value that `count(a, b, ...)` and `count(DISTINCT a, b, ...)` count, as Spark's: null when any argument is
 * null (the row is not counted), else a struct of the arguments (compared by its contents). One argument is itself.
 */
export function countedArguments(args: readonly Expr[]): Expr {
  if (args.length === 1) return args[0] as Expr;
  const anyNull = args.map((arg): Expr => ({ kind: "isNull", operand: arg, negated: false }))
    .reduce((left, right) => ({ kind: "binary", op: "or", left, right }));
  const fields = args.flatMap((arg, index): Expr[] => [{ kind: "literal", value: `_${index + 1}`, type: "string" }, arg]);
  return {
    kind: "case",
    operand: undefined,
    branches: [{ when: anyNull, then: { kind: "literal", value: null, type: "null" } }],
    otherwise: { kind: "call", name: "named_struct", args: fields, distinct: false },
  };
}
