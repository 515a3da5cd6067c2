// Spark's CSV schema: names from the header (or _c0, _c1, ...), types all string unless inferSchema, which tries
// int, long, double, boolean and timestamp per column, in that order, and falls back to string.
import type { ConnectorOptions } from "../connectors/options.ts";
import { ConfigError } from "../core/errors.ts";
import type { DataType, Schema } from "../core/types.ts";
import { parse } from "csv-parse/sync";

const TYPE_ORDER: readonly DataType[] = ["int", "long", "double", "boolean", "timestamp", "string"];
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

function fits(type: DataType, value: string): boolean {
  const text = value.trim();
  switch (type) {
    case "int": return /^[+-]?\d+$/.test(text) && Math.abs(Number(text)) <= 2147483647;
    case "long": return /^[+-]?\d+$/.test(text) && BigInt(text) <= 9223372036854775807n && BigInt(text) >= -9223372036854775808n;
    case "double": return text !== "" && !Number.isNaN(Number(text));
    case "boolean": return /^(true|false)$/i.test(text);
    case "timestamp": return TIMESTAMP.test(text) && !Number.isNaN(Date.parse(text.replace(" ", "T")));
    default: return true;
  }
}

export function inferCsvSchema(path: string, texts: readonly string[], options: ConnectorOptions): Schema {
  const header = options.boolean("header", false);
  const infer = options.boolean("inferSchema", false);
  let names: string[] | undefined;
  const types: number[] = [];
  const seen = new Set<number>();
  for (const text of texts) {
    const records = csvRecords(text, options);
    const body = header ? records.slice(1) : records;
    if (header && records[0] && names === undefined) names = records[0];
    for (const record of body) {
      record.forEach((value, index) => {
        types[index] ??= 0;
        if (!infer || value === "") return;
        seen.add(index);
        while (!fits(TYPE_ORDER[types[index] as number] as DataType, value)) types[index] = (types[index] as number) + 1;
      });
    }
  }
  const width = Math.max(names?.length ?? 0, types.length);
  if (width === 0) throw new ConfigError(`Unable to infer schema for CSV at '${path}': it has no records. It must be specified manually with .schema(...).`);
  const fields = Array.from({ length: width }, (_, index) => {
    const type = infer ? (TYPE_ORDER[types[index] ?? 5] as DataType) : "string";
    // A column whose values were all empty stays string, as Spark's inference leaves a null-only column.
    return { name: names?.[index] ?? `_c${index}`, type: seen.has(index) ? type : "string", nullable: true };
  });
  return { fields };
}

/** Spark's CSV header handling for the inference: the first record's values, or _c0, _c1, ... */
function csvRecords(text: string, options: ConnectorOptions): string[][] {
  return parse(text, { delimiter: options.character(options.has("delimiter") ? "delimiter" : "sep", ","), quote: options.character("quote", "\""), escape: options.character("escape", "\""), bom: true, relax_column_count: true, skip_empty_lines: true, skip_records_with_error: true }) as string[][];
}
