// Spark SQL type names: which Rill data type each name in `cast(x as ...)` means, and how Spark prints each type.
import type { DataType } from "../core/types.ts";

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
