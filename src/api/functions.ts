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

/**
 * Session windows for groupBy: events of a key closer than the gap form one session (Spark 3.2+). The gap is a duration
 * string, or a Column computing one per row (a row whose gap is null or not positive takes part in no session).
 * @example session_window(col("time"), when(col("user").equalTo("bot"), "1 minute").otherwise("10 minutes"))
 */
export function session_window(timeColumn: Column | string, gapDuration: string | Column): Column {
  const gap: Expr = typeof gapDuration === "string" ? { kind: "literal", value: gapDuration, type: "string" } : gapDuration.expr;
  return new Column({ kind: "call", name: "session_window", args: [toColumn(timeColumn).expr, gap], distinct: false });
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

/**
 * A named parameter's value (README "Parameters"): it may change while the query runs, from the next epoch on.
 * @example df.filter(col("reading").gt(param("threshold")))
 */
export function param(name: string): Column {
  return new Column({ kind: "call", name: "param", args: [literalExpr(name)], distinct: false });
}

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

// ---- collections, structs, JSON ----

/** One row per element of the array (rows with a null or empty array give none); the column is named `col`. */
export function explode(value: Column | string): Column {
  return call("explode", [value]);
}

/** explode, but a null or empty array gives one row with a null element. */
export function explode_outer(value: Column | string): Column {
  return call("explode_outer", [value]);
}

/** explode with the element's 0-based position in a column `pos` before `col`. */
export function posexplode(value: Column | string): Column {
  return call("posexplode", [value]);
}

export function posexplode_outer(value: Column | string): Column {
  return call("posexplode_outer", [value]);
}

/** The number of elements; -1 for null, as Spark with its default spark.sql.legacy.sizeOfNull. */
export function size(value: Column | string): Column {
  return call("size", [value]);
}

/** A struct of the columns; its fields are named after the columns (or `colN` for unnamed expressions). */
export function struct(...values: (Column | string)[]): Column {
  return call("struct", values);
}

export function array(...values: (Column | string)[]): Column {
  return call("array", values);
}

/** 1-based; a negative index counts from the end; null when out of range. */
export function element_at(value: Column | string, index: number): Column {
  return new Column({ kind: "call", name: "element_at", args: [toColumn(value).expr, literalExpr(index)], distinct: false });
}

export function array_contains(value: Column | string, item: LiteralValue | Column): Column {
  return new Column({ kind: "call", name: "array_contains", args: [toColumn(value).expr, lit(item).expr], distinct: false });
}

/** Splits around matches of a Java regular expression; `limit` > 0 caps the number of parts. */
export function split(value: Column | string, pattern: string, limit = -1): Column {
  return new Column({ kind: "call", name: "split", args: [toColumn(value).expr, literalExpr(pattern), literalExpr(limit)], distinct: false });
}

/**
 * Parses JSON text into a struct; the schema is a DDL string.
 * @example from_json(col("value"), "device STRING, temp DOUBLE, tags ARRAY<STRING>").alias("data")
 */
export function from_json(value: Column | string, schema: string): Column {
  return new Column({ kind: "call", name: "from_json", args: [toColumn(value).expr, literalExpr(schema)], distinct: false });
}

/** A struct or array as JSON text (timestamps in ISO-8601, null fields left out). */
export function to_json(value: Column | string): Column {
  return call("to_json", [value]);
}

// ---- dates and times (UTC, Rill's session time zone) ----

export function current_timestamp(): Column {
  return call("current_timestamp", []);
}

export function current_date(): Column {
  return call("current_date", []);
}

/** Parses with a Spark datetime pattern (`yyyy-MM-dd HH:mm:ss`); text that does not match is null. */
export function to_timestamp(value: Column | string, format?: string): Column {
  return timeCall("to_timestamp", value, format);
}

export function to_date(value: Column | string, format?: string): Column {
  return timeCall("to_date", value, format);
}

/** Formats a timestamp or date with a Spark datetime pattern, e.g. `date_format(col("ts"), "yyyy-MM-dd HH:mm")`. */
export function date_format(value: Column | string, format: string): Column {
  return timeCall("date_format", value, format);
}

function timeCall(name: string, value: Column | string, format: string | undefined): Column {
  const args: Expr[] = [toColumn(value).expr, ...(format === undefined ? [] : [literalExpr(format)])];
  return new Column({ kind: "call", name, args, distinct: false });
}

// ---- window functions (with .over(Window...)) ----

/** 1, 2, 3, ... within the window's partition, in its order. */
export function row_number(): Column {
  return windowCall("row_number", []);
}

/** The rank with gaps: rows that order equal share it, the next rank skips (1, 1, 3). */
export function rank(): Column {
  return windowCall("rank", []);
}

/** The rank without gaps (1, 1, 2). */
export function dense_rank(): Column {
  return windowCall("dense_rank", []);
}

/** (rank - 1) / (rows in the partition - 1). */
export function percent_rank(): Column {
  return windowCall("percent_rank", []);
}

/** The fraction of the partition's rows that order before or equal to this one. */
export function cume_dist(): Column {
  return windowCall("cume_dist", []);
}

/** The bucket (1 to n) of the row when the ordered partition is cut into n buckets as equal as can be. */
export function ntile(buckets: number): Column {
  return windowCall("ntile", [literalExpr(buckets)]);
}

/** The value `offset` rows before this one in the window's order; `defaultValue` (or null) when there is no such row. */
export function lag(value: Column | string, offset = 1, defaultValue?: LiteralValue): Column {
  return windowCall("lag", offsetArgs(value, offset, defaultValue));
}

/** The value `offset` rows after this one in the window's order; `defaultValue` (or null) when there is no such row. */
export function lead(value: Column | string, offset = 1, defaultValue?: LiteralValue): Column {
  return windowCall("lead", offsetArgs(value, offset, defaultValue));
}

function offsetArgs(value: Column | string, offset: number, defaultValue: LiteralValue | undefined): Expr[] {
  return [toColumn(value).expr, literalExpr(offset), ...(defaultValue === undefined ? [] : [literalExpr(defaultValue)])];
}

function windowCall(name: string, args: Expr[]): Column {
  return new Column({ kind: "call", name, args, distinct: false });
}

// ---- sort keys for orderBy ----

export function asc(value: Column | string): Column {
  return toColumn(value).asc();
}

export function desc(value: Column | string): Column {
  return toColumn(value).desc();
}
