// Data types, fields, schemas and rows: the vocabulary every layer of Rill shares.

/** Spark SQL data types that Rill supports. `int` is 32-bit; `long` holds a JS number (exact up to 2^53). */
export type DataType = "string" | "int" | "long" | "double" | "boolean" | "timestamp" | "binary" | "window" | "null" | "any";

/** The value of a `window` column: an event-time interval [start, end) in milliseconds. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

export interface Field {
  readonly name: string;
  readonly type: DataType;
  readonly nullable: boolean;
}

export interface Schema {
  readonly fields: readonly Field[];
}

/** One record. Keys are the schema's field names; timestamps are numbers of milliseconds since the epoch. */
export type Row = Record<string, unknown>;

export function schemaOf(fields: readonly Field[]): Schema {
  return { fields };
}

export function fieldNames(schema: Schema): string[] {
  return schema.fields.map((field) => field.name);
}

export function isNumeric(type: DataType): boolean {
  return type === "int" || type === "long" || type === "double";
}

/** Spark's integral types: int and long. */
export function isIntegral(type: DataType): boolean {
  return type === "int" || type === "long";
}

/** Finds a field as Spark does by default (spark.sql.caseSensitive=false): exact match first, then case-insensitive. */
export function findField(schema: Schema, name: string): Field | undefined {
  const exact = schema.fields.find((field) => field.name === name);
  if (exact) return exact;
  const lower = name.toLowerCase();
  const matches = schema.fields.filter((field) => field.name.toLowerCase() === lower);
  return matches.length === 1 ? matches[0] : undefined;
}

export function formatSchema(schema: Schema): string {
  return schema.fields.map((field) => `${field.name}: ${field.type}`).join(", ");
}
