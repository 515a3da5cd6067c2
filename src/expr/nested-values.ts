// Values of the nested types: arrays are JS arrays, structs plain objects; how Spark prints them as strings.
import { valueToString } from "./values.ts";

/** `cast(x as string)` of an array or struct, as Spark prints it: `[1, 2, null]`, `{1, a}`. */
export function formatNested(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return `[${value.map(formatNested).join(", ")}]`;
  if (typeof value === "object" && !(value instanceof Uint8Array) && !(value instanceof Date)) {
    return `{${Object.values(value as Record<string, unknown>).map(formatNested).join(", ")}}`;
  }
  return valueToString(value);
}
