// Spark's Column: an immutable wrapper around an expression tree, built with Spark's method names.
import { AnalysisError } from "../core/errors.ts";
import { GET_FIELD, GET_ITEM, type BinaryOperator, type DecimalType, type Expr, type WindowSpec } from "../expr/ast.ts";
import { expressionName } from "../expr/names.ts";
import { knownTypeNames, parseDataType, parseDecimalType } from "../expr/typenames.ts";

/** A plain JS value that becomes a literal: numbers (integers are int or long), strings, booleans, null, Dates (timestamps), bytes. */
export type LiteralValue = string | number | bigint | boolean | Date | Uint8Array | null;

/** A method argument: a Column, or a plain value taken as a literal (as in Spark, `col("gt").equalTo("sit")`). */
export type ColumnOrValue = Column | LiteralValue;

/**
 * @example col("gt").like("%stairs%").and(col("x").cast("double").gt(1.5)).alias("stairs")
 */
export class Column {
  constructor(readonly expr: Expr) {}

  /**
   * This function (a ranking function, lag/lead, or an aggregate) computed over a window of a static DataFrame; without
   * a spec, over the whole input.
   * @example rank().over(Window.partitionBy("dept").orderBy(desc("salary")))
   */
  over(window?: { readonly spec: WindowSpec }): Column {
    return new Column({ kind: "over", function: unaliased(this.expr), window: window?.spec ?? { partitionBy: [], orderBy: [], frame: undefined } });
  }

  alias(name: string): Column {
    return new Column({ kind: "alias", operand: unaliased(this.expr), name });
  }

  as(name: string): Column {
    return this.alias(name);
  }

  plus(other: ColumnOrValue): Column { return this.binary("+", other); }
  minus(other: ColumnOrValue): Column { return this.binary("-", other); }
  multiply(other: ColumnOrValue): Column { return this.binary("*", other); }
  divide(other: ColumnOrValue): Column { return this.binary("/", other); }
  mod(other: ColumnOrValue): Column { return this.binary("%", other); }

  equalTo(other: ColumnOrValue): Column { return this.binary("=", other); }
  eq(other: ColumnOrValue): Column { return this.binary("=", other); }
  notEqual(other: ColumnOrValue): Column { return this.binary("!=", other); }
  ne(other: ColumnOrValue): Column { return this.binary("!=", other); }
  /** `<=>`: equality where null equals null. */
  eqNullSafe(other: ColumnOrValue): Column { return this.binary("<=>", other); }
  gt(other: ColumnOrValue): Column { return this.binary(">", other); }
  geq(other: ColumnOrValue): Column { return this.binary(">=", other); }
  ge(other: ColumnOrValue): Column { return this.binary(">=", other); }
  lt(other: ColumnOrValue): Column { return this.binary("<", other); }
  leq(other: ColumnOrValue): Column { return this.binary("<=", other); }
  le(other: ColumnOrValue): Column { return this.binary("<=", other); }

  and(other: ColumnOrValue): Column { return this.binary("and", other); }
  or(other: ColumnOrValue): Column { return this.binary("or", other); }

  not(): Column {
    return new Column({ kind: "unary", op: "not", operand: this.expr });
  }

  /** Unary minus. */
  negate(): Column {
    return new Column({ kind: "unary", op: "-", operand: this.expr });
  }

  isNull(): Column {
    return new Column({ kind: "isNull", operand: this.expr, negated: false });
  }

  isNotNull(): Column {
    return new Column({ kind: "isNull", operand: this.expr, negated: true });
  }

  like(pattern: ColumnOrValue): Column {
    return new Column({ kind: "like", operand: this.expr, pattern: toExpr(pattern), negated: false, regex: false });
  }

  rlike(pattern: ColumnOrValue): Column {
    return new Column({ kind: "like", operand: this.expr, pattern: toExpr(pattern), negated: false, regex: true });
  }

  /** `x IN (...)`; values may also be passed as one array, as in Spark's isin(list). */
  isin(...values: ReadonlyArray<ColumnOrValue | readonly ColumnOrValue[]>): Column {
    const flat = values.flatMap((value) => (Array.isArray(value) ? (value as readonly ColumnOrValue[]) : [value as ColumnOrValue]));
    return new Column({ kind: "in", operand: this.expr, list: flat.map(toExpr), negated: false });
  }

  between(low: ColumnOrValue, high: ColumnOrValue): Column {
    return new Column({ kind: "between", operand: this.expr, low: toExpr(low), high: toExpr(high), negated: false });
  }

  /** Casts to a Spark SQL type name: "double", "bigint", "int", "string", "boolean", "timestamp", "decimal(10,2)". */
  cast(type: string): Column {
    const to = parseDataType(type);
    if (to === undefined) {
      throw new AnalysisError(`Unknown type '${type}' in cast(). Known types: ${knownTypeNames().join(", ")}`);
    }
    let decimal: DecimalType | undefined;
    try {
      decimal = parseDecimalType(type);
    } catch (error) {
      throw new AnalysisError(`${(error as Error).message} in cast('${type}').`);
    }
    return new Column(decimal === undefined ? { kind: "cast", operand: this.expr, to } : { kind: "cast", operand: this.expr, to, decimal });
  }

  astype(type: string): Column {
    return this.cast(type);
  }

  contains(other: ColumnOrValue): Column { return this.call("contains", other); }
  startsWith(other: ColumnOrValue): Column { return this.call("startswith", other); }
  endsWith(other: ColumnOrValue): Column { return this.call("endswith", other); }

  /** 1-based, as Spark's Column.substr. */
  substr(position: ColumnOrValue, length: ColumnOrValue): Column {
    return this.call("substring", position, length);
  }

  /** A struct's field (Spark's getField): named `s.a`. */
  getField(name: string): Column {
    return new Column({ kind: "call", name: GET_FIELD, args: [this.expr, literalExpr(name)], distinct: false });
  }

  /** An array's element at a 0-based index; null when out of range. Named `a[0]`, as Spark names it. */
  getItem(index: number): Column {
    return this.call(GET_ITEM, index);
  }

  /** Sort keys for orderBy: ascending puts nulls first, descending nulls last, as in Spark. */
  asc(): Column { return this.call("asc"); }
  desc(): Column { return this.call("desc"); }
  asc_nulls_first(): Column { return this.call("asc_nulls_first"); }
  asc_nulls_last(): Column { return this.call("asc_nulls_last"); }
  desc_nulls_first(): Column { return this.call("desc_nulls_first"); }
  desc_nulls_last(): Column { return this.call("desc_nulls_last"); }

  /** Adds a branch to a CASE built by `when(...)`; like Spark, only valid on such a column before `otherwise`. */
  when(condition: Column, value: ColumnOrValue): Column {
    const expr = this.openCase("when");
    return new Column({ ...expr, branches: [...expr.branches, { when: condition.expr, then: toExpr(value) }] });
  }

  /** Sets the ELSE of a CASE built by `when(...)`. */
  otherwise(value: ColumnOrValue): Column {
    return new Column({ ...this.openCase("otherwise"), otherwise: toExpr(value) });
  }

  /** Spark's name for this column, e.g. `(gt = sit)` or `CAST(x AS DOUBLE)`. */
  toString(): string {
    return expressionName(this.expr);
  }

  private binary(op: BinaryOperator, other: ColumnOrValue): Column {
    return new Column({ kind: "binary", op, left: this.expr, right: toExpr(other) });
  }

  private call(name: string, ...args: ColumnOrValue[]): Column {
    return new Column({ kind: "call", name, args: [this.expr, ...args.map(toExpr)], distinct: false });
  }

  private openCase(method: string): Extract<Expr, { kind: "case" }> {
    const expr = this.expr;
    if (expr.kind !== "case" || expr.operand !== undefined || expr.otherwise !== undefined) {
      throw new AnalysisError(
        `${method}() can only follow when(...) and come before otherwise(...); '${this.toString()}' is not such a column`,
      );
    }
    return expr;
  }
}

/** The call names asc()/desc() build; orderBy reads them as directions. */
export const SORT_DIRECTIONS: ReadonlySet<string> = new Set(["asc", "desc", "asc_nulls_first", "asc_nulls_last", "desc_nulls_first", "desc_nulls_last"]);

function unaliased(expr: Expr): Expr {
  return expr.kind === "alias" ? expr.operand : expr;
}

/** The expression for a method argument: a Column's own tree, or a literal for a plain value. */
export function toExpr(value: ColumnOrValue): Expr {
  return value instanceof Column ? value.expr : literalExpr(value);
}

/** A literal expression for a plain JS value, typed as Spark's lit() would type it. */
export function literalExpr(value: LiteralValue): Expr {
  if (value === null) return { kind: "literal", value: null, type: "null" };
  switch (typeof value) {
    case "string":
      return { kind: "literal", value, type: "string" };
    case "boolean":
      return { kind: "literal", value, type: "boolean" };
    case "number":
      // As Spark's lit(): an integer is an int when it fits in 32 bits, else a bigint.
      return { kind: "literal", value, type: Number.isInteger(value) ? (value >= -2_147_483_648 && value <= 2_147_483_647 ? "int" : "long") : "double" };
    case "bigint":
      return { kind: "literal", value: Number(value), type: "long" };
    default:
      if (value instanceof Date) return { kind: "literal", value: value.getTime(), type: "timestamp" };
      if (value instanceof Uint8Array) return { kind: "literal", value, type: "binary" };
      throw new AnalysisError(`Cannot make a literal from ${describeValue(value)}; use a string, number, boolean, Date or null`);
  }
}

function describeValue(value: unknown): string {
  return value === undefined ? "undefined" : `a value of type ${typeof value}`;
}
