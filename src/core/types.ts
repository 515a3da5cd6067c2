// Data types, fields, schemas and rows: the vocabulary every layer of Rill shares.

/** Spark SQL data types that Rill supports. `int` is 32-bit; `long` holds a JS number (exact up to 2^53). */
export type DataType =
  | "string" | "int" | "long" | "double" | "boolean" | "timestamp" | "binary" | "window" | "null" | "any"
  // A date is the number of milliseconds at 00:00 UTC of the day; arrays are JS arrays, structs plain objects.
  | "date" | "array" | "struct";

/** The value of a `window` column: an event-time interval [start, end) in milliseconds. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

export interface Field {
  readonly name: string;
  readonly type: DataType;
  readonly nullable: boolean;
  /** A struct's fields (a window's are start and end); undefined for other types. */
  readonly fields?: readonly Field[];
  /** An array's element type (named `element`); undefined for other types. */
  readonly element?: Field;
}

/** The nested part of a type: what `fields` and `element` say, for copying between fields and compiled expressions. */
export interface NestedType {
  readonly fields?: readonly Field[];
  readonly element?: Field;
}

/** Only the nested part of a field or compiled value, without undefined keys (exactOptionalPropertyTypes). */
export function nestedOf(value: NestedType): NestedType {
  return { ...(value.fields === undefined ? {} : { fields: value.fields }), ...(value.element === undefined ? {} : { element: value.element }) };
}

/** The fields of a `window` struct, as Spark names them. */
export const WINDOW_FIELDS: readonly Field[] = [
  { name: "start", type: "timestamp", nullable: true },
  { name: "end", type: "timestamp", nullable: true },
];

export interface Schema {
  readonly fields: readonly Field[];
}

/** One record. Keys are the schema's field names; timestamps are numbers of milliseconds since the epoch. */
export type Row = Record<string, unknown>;

/**
 * One record by position: the values in the order of a schema's fields, which the planner knows, so that the engine
 * reads and writes a field by index rather than by name (the schema's names travel beside the rows, never in them).
 */
export type PositionalRow = unknown[];

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

/**
 * Complete mode: a result row whose key (the hidden `__rill_key`) starts with this prefix retracts the row of the key
 * after it (a session merged into another), so the result table loses it.
 */
export const RETRACTED_KEY_PREFIX = "\u0000retract:";
