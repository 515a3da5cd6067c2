// Spark's Window and WindowSpec for window functions over static DataFrames: partitions, their order, and the frame.
//
// @example
//   const w = Window.partitionBy("dept").orderBy(desc("salary"));
//   staff.select("name", rank().over(w).alias("rank"), sum("salary").over(w.rowsBetween(Window.unboundedPreceding, Window.currentRow)));
import { AnalysisError } from "../core/errors.ts";
import type { Expr, WindowFrame, WindowOrder, WindowSpec as WindowSpecExpr } from "../expr/ast.ts";
import { Column, SORT_DIRECTIONS } from "./column.ts";

type ColumnLike = Column | string;

/** A window: immutable; each method returns a new spec. */
export class WindowSpec {
  /** @internal */
  constructor(readonly spec: WindowSpecExpr = { partitionBy: [], orderBy: [], frame: undefined }) {}

  partitionBy(...columns: ColumnLike[]): WindowSpec {
    return new WindowSpec({ ...this.spec, partitionBy: columns.map(exprOf) });
  }

  /** Sort keys: names, Columns, or `desc("x")` / `col("x").asc_nulls_last()` as in orderBy(). */
  orderBy(...columns: ColumnLike[]): WindowSpec {
    return new WindowSpec({ ...this.spec, orderBy: columns.map(orderOf) });
  }

  /** A frame of rows by position: `rowsBetween(-2, Window.currentRow)` is the row and the two before it. */
  rowsBetween(start: number, end: number): WindowSpec {
    return new WindowSpec({ ...this.spec, frame: frameOf("rows", start, end) });
  }

  /** A frame by the (single, numeric) order key's value: `rangeBetween(-10, 0)` is the rows whose key is within 10 below. */
  rangeBetween(start: number, end: number): WindowSpec {
    return new WindowSpec({ ...this.spec, frame: frameOf("range", start, end) });
  }
}

/** Spark's Window: the entry points of a WindowSpec, and the frame bounds. */
export const Window = {
  unboundedPreceding: Number.NEGATIVE_INFINITY,
  unboundedFollowing: Number.POSITIVE_INFINITY,
  currentRow: 0,
  partitionBy: (...columns: ColumnLike[]): WindowSpec => new WindowSpec().partitionBy(...columns),
  orderBy: (...columns: ColumnLike[]): WindowSpec => new WindowSpec().orderBy(...columns),
  rowsBetween: (start: number, end: number): WindowSpec => new WindowSpec().rowsBetween(start, end),
  rangeBetween: (start: number, end: number): WindowSpec => new WindowSpec().rangeBetween(start, end),
} as const;

function exprOf(column: ColumnLike): Expr {
  return typeof column === "string" ? { kind: "column", name: column } : column.expr;
}

function orderOf(column: ColumnLike): WindowOrder {
  const expr = exprOf(column);
  if (expr.kind === "call" && expr.args.length === 1 && SORT_DIRECTIONS.has(expr.name)) {
    const descending = expr.name.startsWith("desc");
    const nullsFirst = expr.name.endsWith("nulls_first") || (!descending && !expr.name.endsWith("nulls_last"));
    return { expr: expr.args[0] as Expr, descending, nullsFirst };
  }
  return { expr, descending: false, nullsFirst: true };
}

/** Bounds as Spark takes them: Long.MinValue / MaxValue (or beyond the safe integers here) are unbounded. */
function frameOf(unit: WindowFrame["unit"], start: number, end: number): WindowFrame {
  const bound = (value: number): number => (value <= Number.MIN_SAFE_INTEGER ? -Infinity : value >= Number.MAX_SAFE_INTEGER ? Infinity : value);
  const frame = { unit, start: bound(start), end: bound(end) };
  if (Number.isNaN(start) || Number.isNaN(end) || frame.start === Infinity || frame.end === -Infinity || frame.start > frame.end) {
    throw new AnalysisError(`The lower bound of a window frame must be less than or equal to the upper bound: ${unit}Between(${start}, ${end}).`);
  }
  if (unit === "rows" && (!Number.isInteger(frame.start) && Number.isFinite(frame.start) || !Number.isInteger(frame.end) && Number.isFinite(frame.end))) {
    throw new AnalysisError(`rowsBetween(${start}, ${end}) takes whole numbers of rows.`);
  }
  return frame;
}
