// Spark's `functions`: col, lit, expr, when, the aggregate builders and common scalar helpers, returning Columns.
import type { Expr } from "../expr/ast.ts";
import { parseExpression } from "../expr/parser.ts";
import { Column, literalExpr, toExpr, type ColumnOrValue, type LiteralValue } from "./column.ts";

/** A column by name; `"*"` is every column. Names resolve case-insensitively when the query starts. */
export function col(name: string): Column {
  return new Column(name === "*" ? { kind: "star" } : { kind: "column", name });
}

export function column(name: string): Column {
  return col(name);
}

/** A literal column; a Column passes through unchanged, as in Spark. */
export function lit(value: Column | LiteralValue): Column {
  return value instanceof Column ? value : new Column(literalExpr(value));
}

/**
 * Parses a Spark SQL expression.
 * @example expr("cast(Creation_Time as double) / 1e9 AS seconds")
 */
export function expr(text: string): Column {
  return new Column(parseExpression(text));
}

/** Starts a CASE expression; chain `.when(...)` and `.otherwise(...)`. Without otherwise, unmatched rows are null. */
export function when(condition: Column, value: ColumnOrValue): Column {
  return new Column({ kind: "case", operand: undefined, branches: [{ when: condition.expr, then: toExpr(value) }], otherwise: undefined });
}

/** A Column from a Column or a column name. */
export function toColumn(value: Column | string): Column {
  return typeof value === "string" ? col(value) : value;
}

function call(name: string, args: readonly (Column | string)[], distinct = false): Column {
  const exprs: Expr[] = args.map((arg) => toColumn(arg).expr);
  return new Column({ kind: "call", name, args: exprs, distinct });
}

// ---- aggregates (the planner extracts these; they are refused outside groupBy().agg()) ----

/** count("*") counts rows; count(column) counts non-null values. */
export function count(value: Column | string): Column {
  return call("count", [value === "*" ? new Column({ kind: "star" }) : value]);
}

export function approx_count_distinct(value: Column | string): Column {
  return call("approx_count_distinct", [value]);
}

export function collect_list(value: Column | string): Column {
  return call("collect_list", [value]);
}

export function collect_set(value: Column | string): Column {
  return call("collect_set", [value]);
}

/**
 * Event-time windows for groupBy: tumbling with one duration, sliding with a slide, shifted by startTime (Spark's rules).
 * @example df.groupBy(window(col("event_time"), "10 minutes", "5 minutes")).count()
 */
export function window(timeColumn: Column | string, windowDuration: string, slideDuration?: string, startTime?: string): Column {
  const durations = [windowDuration, slideDuration ?? windowDuration, ...(startTime === undefined ? [] : [startTime])];
  const args: Expr[] = [toColumn(timeColumn).expr, ...durations.map((text): Expr => ({ kind: "literal", value: text, type: "string" }))];
  return new Column({ kind: "call", name: "window", args, distinct: false });
}

/** Session windows for groupBy: events of a key closer than `gapDuration` form one session (Spark 3.2+). */
export function session_window(timeColumn: Column | string, gapDuration: string): Column {
  return new Column({ kind: "call", name: "session_window", args: [toColumn(timeColumn).expr, { kind: "literal", value: gapDuration, type: "string" }], distinct: false });
}

export function countDistinct(first: Column | string, ...rest: (Column | string)[]): Column {
  return call("count", [first, ...rest], true);
}

export function sum(value: Column | string): Column {
  return call("sum", [value]);
}

export function avg(value: Column | string): Column {
  return call("avg", [value]);
}

/** Spark's mean is avg, and its column is named `avg(x)`. */
export function mean(value: Column | string): Column {
  return avg(value);
}

export function min(value: Column | string): Column {
  return call("min", [value]);
}

export function max(value: Column | string): Column {
  return call("max", [value]);
}

export function first(value: Column | string): Column {
  return call("first", [value]);
}

export function last(value: Column | string): Column {
  return call("last", [value]);
}

// ---- scalar helpers ----

export function abs(value: Column | string): Column {
  return call("abs", [value]);
}

export function sqrt(value: Column | string): Column {
  return call("sqrt", [value]);
}

export function lower(value: Column | string): Column {
  return call("lower", [value]);
}

export function upper(value: Column | string): Column {
  return call("upper", [value]);
}

export function coalesce(...values: (Column | string)[]): Column {
  return call("coalesce", values);
}

export function concat(...values: (Column | string)[]): Column {
  return call("concat", values);
}

/** HALF_UP rounding to `scale` decimal places (Spark's round; named `round(x, 0)` by default). */
export function round(value: Column | string, scale = 0): Column {
  return new Column({ kind: "call", name: "round", args: [toColumn(value).expr, literalExpr(scale)], distinct: false });
}
