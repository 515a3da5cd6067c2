// Spark SQL type names: which Rill data type each name in `cast(x as ...)` means, and how Spark prints each type.
import type { DataType } from "../core/types.ts";
import type { DecimalType } from "./ast.ts";

const TYPE_NAMES: ReadonlyMap<string, DataType> = new Map<string, DataType>([
  ["string", "string"], ["varchar", "string"], ["char", "string"],
  ["int", "int"], ["integer", "int"], ["bigint", "long"], ["long", "long"],
  ["smallint", "int"], ["short", "int"], ["tinyint", "int"], ["byte", "int"],
  ["double", "double"], ["float", "double"], ["real", "double"], ["decimal", "double"], ["dec", "double"], ["numeric", "double"],
  ["boolean", "boolean"], ["bool", "boolean"],
  ["timestamp", "timestamp"], ["timestamp_ntz", "timestamp"], ["timestamp_ltz", "timestamp"],
  ["binary", "binary"],
  ["date", "date"],
]);

/** The Rill type a Spark SQL type name stands for (`bigint` -> long, `decimal(10,2)` -> double), or undefined. smallint and tinyint are int. */
export function parseDataType(name: string): DataType | undefined {
  const base = name.trim().toLowerCase().replace(/\s*\(.*\)$/, "").replace(/type$/, "");
  return TYPE_NAMES.get(base);
}

const DECIMAL = /^\s*(?:decimal|dec|numeric)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$/i;

/**
 * The precision and scale of `decimal`, `decimal(p)` or `decimal(p, s)` (also `dec`, `numeric`), as Spark reads them:
 * DECIMAL alone is DECIMAL(10, 0), DECIMAL(p) is DECIMAL(p, 0). Undefined for another type; a precision outside 1-38 or
 * a scale above the precision is an error, as in Spark.
 */
export function parseDecimalType(name: string): DecimalType | undefined {
  const match = DECIMAL.exec(name);
  if (match === null) return undefined;
  const precision = match[1] === undefined ? 10 : Number(match[1]);
  const scale = match[2] === undefined ? 0 : Number(match[2]);
  if (precision < 1 || precision > 38) throw new RangeError(`Decimal precision ${precision} exceeds max precision 38`);
  if (scale > precision) throw new RangeError(`Decimal scale (${scale}) cannot be greater than precision (${precision}).`);
  return { precision, scale };
}

/** The type names `parseDataType` accepts, for error messages. */
export function knownTypeNames(): string[] {
  return [...TYPE_NAMES.keys()];
}

/** How Spark prints a type inside `CAST(x AS ...)`. */
export function sqlTypeName(type: DataType): string {
  switch (type) {
    case "long":
      return "BIGINT";
    case "int":
      return "INT";
    case "any":
      return "ANY";
    default:
      return type.toUpperCase();
  }
}
