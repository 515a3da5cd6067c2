// Parquet files for session.read.parquet(): the schema from the file's metadata, the rows through hyparquet.
import { readFileSync } from "node:fs";
import { parquetMetadata, parquetReadObjects, type SchemaElement } from "hyparquet";
import { AnalysisError } from "../core/errors.ts";
import { longOfBigInt } from "../core/long.ts";
import type { DataType, Field, Row, Schema } from "../core/types.ts";

/** The Spark type of a flat Parquet column, from its physical and logical (or converted) types. */
function dataTypeOf(element: SchemaElement): DataType {
  const logical = element.logical_type?.type;
  const converted = element.converted_type;
  switch (element.type) {
    case "BOOLEAN": return "boolean";
    case "INT32": return logical === "DATE" || converted === "DATE" ? "date" : "int";
    case "INT64": return logical === "TIMESTAMP" || converted === "TIMESTAMP_MILLIS" || converted === "TIMESTAMP_MICROS" ? "timestamp" : "long";
    case "INT96": return "timestamp";
    case "FLOAT":
    case "DOUBLE": return "double";
    case "BYTE_ARRAY": return logical === "STRING" || logical === "JSON" || logical === "ENUM" || converted === "UTF8" || converted === "JSON" || converted === "ENUM" ? "string" : logical === "DECIMAL" || converted === "DECIMAL" ? "double" : "binary";
    case "FIXED_LEN_BYTE_ARRAY": return logical === "DECIMAL" || converted === "DECIMAL" ? "double" : "binary";
    default: return "any";
  }
}

/** The columns of a Parquet file; a nested column (a group) is typed `any` and read as hyparquet gives it. */
export function parquetFileSchema(path: string): Schema {
  const metadata = parquetMetadata(readFileSync(path));
  const [, ...elements] = metadata.schema;
  const fields: Field[] = [];
  for (let index = 0; index < elements.length; index++) {
    const element = elements[index] as SchemaElement;
    const children = element.num_children ?? 0;
    fields.push({ name: element.name, type: children > 0 ? "any" : dataTypeOf(element), nullable: element.repetition_type !== "REQUIRED" });
    index += descendants(elements, index);
  }
  if (fields.length === 0) throw new AnalysisError(`Unable to infer schema for Parquet at '${path}': the file has no columns.`);
  return { fields };
}

/** How many schema elements follow `index` that belong to its subtree. */
function descendants(elements: readonly SchemaElement[], index: number): number {
  let pending = elements[index]?.num_children ?? 0;
  let count = 0;
  while (pending > 0) {
    count++;
    pending += (elements[index + count]?.num_children ?? 0) - 1;
  }
  return count;
}

/** The rows of a Parquet file as Rill values: timestamps and dates in ms, longs as numbers (bigints past 2^53). */
export async function readParquetRows(path: string, schema: Schema): Promise<Row[]> {
  const bytes = readFileSync(path);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const rows = await parquetReadObjects({ file: buffer, columns: schema.fields.map((field) => field.name) });
  return rows.map((raw) => {
    const row: Row = {};
    for (const field of schema.fields) row[field.name] = valueOf(raw[field.name] ?? null);
    return row;
  });
}

function valueOf(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "bigint") return longOfBigInt(value);
  return value;
}
