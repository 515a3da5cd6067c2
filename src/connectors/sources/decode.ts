// Checks decoded records (JSON, CSV, msgpack) against the user's schema: timestamps read from text first, then the zod check.
import { BinaryRecord } from "../../core/binary-record.ts";
import { ConfigError } from "../../core/errors.ts";
import type { Field, PositionalRow, Row, Schema } from "../../core/types.ts";
import type { RowValidator } from "./memory.ts";
import { longOfBigInt } from "../../core/long.ts";

/** One strict decoder for every payload: a byte sequence that is not UTF-8 throws instead of becoming U+FFFD. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The text of a payload, or undefined when it is not valid UTF-8: such a record goes to the dead letter
 * (as base64) rather than being changed silently by replacement characters.
 */
export function decodeUtf8(payload: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(payload);
  } catch (error) {
    if (error instanceof TypeError) return undefined;
    throw error;
  }
}

/** A payload for a dead letter that cannot be carried as text: its bytes go out as `rawBase64`. */
export function binaryRaw(payload: Uint8Array, decoded?: unknown): BinaryRecord {
  return new BinaryRecord(Buffer.from(payload), decoded);
}

/** Spark's message when a format that cannot infer its columns gets none. */
export function requireSchema(format: string, schema: Schema | undefined, what: string): Schema {
  if (schema === undefined || schema.fields.length === 0) {
    throw new ConfigError(`Schema must be specified when creating a streaming source DataFrame from ${what}; use .schema(zodSchema) before .format("${format}").load(...).`);
  }
  return schema;
}

/**
 * A checker for decoded records: timestamp fields written as ISO text or epoch milliseconds become
 * Dates (what a zod `z.date()` expects), then the user's validator runs; without one, a check
 * built from the schema's field types does.
 */
export function recordChecker(schema: Schema, validate: RowValidator | undefined): RowValidator {
  const timestamps = schema.fields.filter((field) => field.type === "timestamp").map((field) => field.name);
  const check = validate ?? schemaValidator(schema);
  if (timestamps.length === 0) return check;
  return (value) => {
    if (typeof value === "object" && value !== null) {
      const record = value as Row;
      for (const name of timestamps) record[name] = toDate(record[name]);
    }
    return check(value);
  };
}

/** A timestamp from ISO text ("2024-01-01 10:00:00" or with a T) or epoch milliseconds; other values unchanged, for the check to reject. */
export function toDate(value: unknown): unknown {
  if (typeof value === "number") return new Date(value);
  if (typeof value !== "string") return value;
  const time = Date.parse(/^\d{4}-\d{2}-\d{2} \d/.test(value) ? value.replace(" ", "T") : value);
  return Number.isNaN(time) ? value : new Date(time);
}

/** Checks field types and nullability, and keeps only the schema's fields (missing ones become null). */
function schemaValidator(schema: Schema): RowValidator {
  const fields = schema.fields;
  return (value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return { error: `record: expected an object, got ${describe(value)}` };
    const record = value as Row;
    const row: Row = {};
    for (const field of fields) {
      const checked = checkField(field, record[field.name] ?? null);
      if (typeof checked === "string") return { error: `${field.name}: ${checked}` };
      row[field.name] = checked.value;
    }
    return { row };
  };
}

/**
 * The check of recordChecker without a user validator, over a record's values in the schema's order (a CSV record by
 * position): timestamps read from text, then each field's type and nullability, with the same reasons. `values` is
 * the caller's own array, checked in place.
 */
export function positionalChecker(schema: Schema): (values: PositionalRow) => { row: PositionalRow } | { error: string } {
  const fields = schema.fields;
  return (values) => {
    for (let index = 0; index < fields.length; index++) {
      const field = fields[index] as Field;
      const value = values[index] ?? null;
      const checked = checkField(field, field.type === "timestamp" ? toDate(value) : value);
      if (typeof checked === "string") return { error: `${field.name}: ${checked}` };
      values[index] = checked.value;
    }
    return { row: values };
  };
}

/** A check of decoded records giving rows of type R: named rows (recordChecker) or arrays (positionalRecordChecker). */
export type RecordCheck<R> = (value: unknown) => { row: R } | { error: string };

/**
 * recordChecker's rows by position: each decoded record (a JSON object, a msgpack map, a MemoryStream row) is read by
 * the schema's names once into an array in the schema's order, with the named check's values and reasons. Without a
 * user validator the array is checked as positionalChecker checks it; with one (a zod schema), the user's validator
 * runs over the record as it does named (only its own safeParse keeps its meaning) and its row is read by the names.
 * Timestamp fields of a record are read from text in place, as recordChecker does, so a dead letter's decoded form is
 * the same either way.
 */
export function positionalRecordChecker(schema: Schema, validate: RowValidator | undefined): RecordCheck<PositionalRow> {
  const names = schema.fields.map((field) => field.name);
  const count = names.length;
  const byName = (row: Row): PositionalRow => {
    const values: PositionalRow = new Array(count);
    for (let index = 0; index < count; index++) values[index] = row[names[index] as string] ?? null;
    return values;
  };
  if (validate !== undefined) {
    const named = recordChecker(schema, validate);
    return (value) => {
      const checked = named(value);
      return "row" in checked ? { row: byName(checked.row) } : checked;
    };
  }
  const timestamps = schema.fields.filter((field) => field.type === "timestamp").map((field) => field.name);
  const check = positionalChecker(schema);
  return (value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return { error: `record: expected an object, got ${describe(value)}` };
    const record = value as Row;
    for (const name of timestamps) record[name] = toDate(record[name]);
    return check(byName(record));
  };
}

/**
 * A malformed record as Spark's PERMISSIVE mode keeps it: each field of the schema that holds a value of its type keeps
 * it, every other field (and every field, when the record is not an object) is null.
 */
export function permissiveRow(schema: Schema, decoded: unknown): Row {
  const record = typeof decoded === "object" && decoded !== null && !Array.isArray(decoded) ? (decoded as Row) : {};
  const row: Row = {};
  for (const field of schema.fields) {
    const value = record[field.name] ?? null;
    const checked = checkField({ ...field, nullable: true }, field.type === "timestamp" ? toDate(value) : value);
    row[field.name] = typeof checked === "string" ? null : checked.value;
  }
  return row;
}

function checkField(field: Field, value: unknown): { value: unknown } | string {
  if (value === null) return field.nullable ? { value } : "expected a value, got null";
  switch (field.type) {
    case "string":
      return typeof value === "string" ? { value } : `expected a string, got ${describe(value)}`;
    case "int":
      return Number.isInteger(value) && Math.abs(value as number) <= 2147483647 ? { value } : `expected a 32-bit whole number, got ${describe(value)}`;
    case "long":
      if (typeof value === "bigint") return { value: longOfBigInt(value) };
      return Number.isInteger(value) ? { value } : `expected a whole number, got ${describe(value)}`;
    case "double":
      return typeof value === "number" ? { value } : `expected a number, got ${describe(value)}`;
    case "boolean":
      return typeof value === "boolean" ? { value } : `expected a boolean, got ${describe(value)}`;
    case "timestamp":
      return value instanceof Date && !Number.isNaN(value.getTime()) ? { value: value.getTime() } : `expected a timestamp, got ${describe(value)}`;
    default:
      return { value };
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'` : typeof value;
}
