// Parsers of whole files into rows for the file sources: JSON Lines, CSV (csv-parse) and text. Bad lines go to the dead letter.
import { parse, type Info, type Options as CsvOptions } from "csv-parse/sync";
import { ConfigError } from "../../core/errors.ts";
import type { Field, PositionalRow, Row, Schema } from "../../core/types.ts";
import type { ConnectorOptions } from "../options.ts";
import { positionalChecker, positionalRecordChecker, recordChecker, toDate, type RecordCheck } from "./decode.ts";
import type { RowValidator } from "./memory.ts";
import { parseJsonWithLongs, parseLongText } from "../../core/long.ts";

/**
 * Where a parser sends a bad record: its text, the reason (with the file and line), and what was decoded of it when it
 * parsed but failed the schema. A handler that returns a row keeps the record as that row (Spark's PERMISSIVE mode,
 * for static files); the streaming sources' handlers return nothing and the record is only dead-lettered.
 */
export type BadRecordHandler<R = Row> = (raw: unknown, reason: string, decoded?: unknown) => R | void;

/**
 * Rows of one file; a line that does not parse or fails the schema goes to `deadLetter` with the file and line in the reason.
 * `invalidLines` (1-based) are lines whose bytes were not UTF-8: a record touching one goes to the dead letter.
 */
export type FileParser<R = Row> = (text: string, file: string, deadLetter: BadRecordHandler<R>, maxRecordBytes: number, invalidLines?: ReadonlySet<number>) => R[];

/**
 * Rows of consecutive lines of a file (without their line ends), the first of them line `firstLine`: line formats are
 * read in chunks, so a file of any size streams through.
 */
export type LineParser<R = Row> = (lines: readonly string[], file: string, deadLetter: BadRecordHandler<R>, firstLine: number) => R[];

export const CSV_OPTIONS = ["header", "sep", "delimiter", "quote", "escape"];

function withoutReturn(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

export function textParser(column: string): LineParser {
  return (lines) => lines.map((line) => ({ [column]: withoutReturn(line) }));
}

/** textParser's rows by position: each line an array of its one column. */
export function textPositionalParser(): LineParser<PositionalRow> {
  return (lines) => lines.map((line) => [withoutReturn(line)]);
}

/** JSON Lines: one object a line; blank lines are skipped, as Spark skips them. */
export function jsonParser(schema: Schema, validate: RowValidator | undefined): LineParser {
  return jsonParserOf(recordChecker(schema, validate));
}

/**
 * jsonParser's rows by position: each parsed object is read by the schema's names once into an array in the schema's
 * order, with the named check's values and reasons (positionalRecordChecker).
 */
export function jsonPositionalParser(schema: Schema, validate: RowValidator | undefined): LineParser<PositionalRow> {
  return jsonParserOf(positionalRecordChecker(schema, validate));
}

function jsonParserOf<R>(check: RecordCheck<R>): LineParser<R> {
  return (lines, file, deadLetter, firstLine) => {
    const rows: R[] = [];
    for (let index = 0; index < lines.length; index++) {
      const line = withoutReturn(lines[index] as string);
      if (line.trim() === "") continue;
      let value: unknown;
      try {
        value = parseJsonWithLongs(line);
      } catch (error) {
        const kept = deadLetter(line, `${file}:${firstLine + index}: not valid JSON (${(error as Error).message})`);
        if (kept) rows.push(kept);
        continue;
      }
      const checked = check(value);
      if ("row" in checked) rows.push(checked.row);
      else {
        const kept = deadLetter(line, `${file}:${firstLine + index}: fails the schema: ${checked.error}`, value);
        if (kept) rows.push(kept);
      }
    }
    return rows;
  };
}

interface CsvRecord {
  readonly record: Record<string, unknown> | unknown[];
  readonly info: Info;
  readonly raw: string;
}

/**
 * CSV with csv-parse. Without a header, columns map to the schema's fields by position (as Spark);
 * with one, by name. Values become the fields' types before the check; an empty unquoted value is
 * null, as Spark's default nullValue "" makes it. The default escape is '"' (RFC 4180 doubling),
 * where Spark's is '\\': set .option("escape", "\\") for files written with backslash escapes.
 */
export function csvParser(schema: Schema, validate: RowValidator | undefined, options: ConnectorOptions): FileParser {
  return csvObjectParser(schema, options, recordChecker(schema, validate));
}

/**
 * csvParser's rows by position: no named row is built. Without a user validator (a DDL string or a StructType), each
 * record's values land in an array in the schema's order (by index without a header, by name with one), checked as
 * the named check does, with the same reasons. With one (a zod schema), the record becomes the object csvParser makes
 * and the user's validator runs over it as it does named (its refinements keep their meaning); its row
 * is read by the schema's names once into an array (positionalRecordChecker), and a record it refuses carries the
 * same decoded object to the dead letter.
 */
export function csvPositionalParser(schema: Schema, validate: RowValidator | undefined, options: ConnectorOptions): FileParser<PositionalRow> {
  if (validate !== undefined) return csvObjectParser(schema, options, positionalRecordChecker(schema, validate));
  const fields = schema.fields;
  const check = positionalChecker(schema);
  return csvParserOf(schema, options, (record) => {
    const values: PositionalRow = Array.isArray(record) ? fields.map((_, index) => record[index] ?? null) : fields.map((field) => record[field.name] ?? null);
    const checked = check(values);
    return "row" in checked ? checked : { error: checked.error, decoded: values };
  });
}

/**
 * CSV checked as an object: each record becomes one (by the schema's fields' places without a header, as parsed with
 * one), `check` runs over it, and a record it refuses carries that object to the dead letter as what was decoded.
 */
function csvObjectParser<R>(schema: Schema, options: ConnectorOptions, check: RecordCheck<R>): FileParser<R> {
  const fields = schema.fields;
  return csvParserOf(schema, options, (record) => {
    const value = Array.isArray(record) ? Object.fromEntries(fields.map((field, index) => [field.name, record[index] ?? null])) : record;
    const checked = check(value);
    return "row" in checked ? checked : { error: checked.error, decoded: value };
  });
}

type CsvCheck<R> = (record: Record<string, unknown> | unknown[]) => { row: R } | { error: string; decoded: unknown };

function csvParserOf<R>(schema: Schema, options: ConnectorOptions, checkRecord: CsvCheck<R>): FileParser<R> {
  if (options.has("sep") && options.has("delimiter")) throw options.invalid("delimiter", options.string("delimiter") ?? "", "left out when 'sep' is set (they are the same option)");
  const header = options.boolean("header", false);
  const fields = schema.fields;
  const byName = new Map(fields.map((field) => [field.name, field]));
  const csvOptions: CsvOptions = {
    delimiter: options.character(options.has("delimiter") ? "delimiter" : "sep", ","),
    quote: options.character("quote", '"'),
    escape: options.character("escape", '"'),
    columns: header,
    bom: true,
    info: true,
    raw: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    cast: (value, context) => {
      if (context.header) return value;
      const field = typeof context.column === "string" ? byName.get(context.column) : fields[context.index];
      if (value === "" && !context.quoting) return null;
      return field ? convert(field, value) : value;
    },
  };
  try {
    parse("", csvOptions);
  } catch (error) {
    throw new ConfigError(`The csv source's options are inconsistent: ${(error as Error).message}. Options: sep='${String(csvOptions.delimiter)}', quote='${String(csvOptions.quote)}', escape='${String(csvOptions.escape)}'.`, { cause: error });
  }
  return (text, file, deadLetter, maxRecordBytes, invalidLines) => {
    const rows: R[] = [];
    const records = parse(text, {
      ...csvOptions,
      on_skip: (error, raw) => {
        const kept = deadLetter(raw ?? "", `${file}:${error?.lines ?? "?"}: not valid CSV (${error?.message ?? "unreadable record"})`);
        if (kept) rows.push(kept);
        return undefined;
      },
    }) as unknown as CsvRecord[];
    for (const { record, info, raw } of records) {
      if (raw.length * 3 > maxRecordBytes && Buffer.byteLength(raw) > maxRecordBytes) {
        deadLetter(raw.slice(0, 64 * 1024), `${file}:${firstLine(info, raw)}: record larger than the broker's payload limit (${Buffer.byteLength(raw)} bytes, limit ${maxRecordBytes}); the dead letter holds its first characters`);
        continue;
      }
      if (invalidLines !== undefined && touches(invalidLines, firstLine(info, raw), info.lines)) {
        const kept = deadLetter(raw.replace(/\r?\n$/, ""), `${file}:${firstLine(info, raw)}: invalid UTF-8 (the dead letter shows the bad bytes as U+FFFD)`);
        if (kept) rows.push(kept);
        continue;
      }
      const checked = checkRecord(record);
      if ("row" in checked) rows.push(checked.row);
      else {
        const kept = deadLetter(raw.replace(/\r?\n$/, ""), `${file}:${firstLine(info, raw)}: fails the schema: ${checked.error}`, checked.decoded);
        if (kept) rows.push(kept);
      }
    }
    return rows;
  };
}

function touches(lines: ReadonlySet<number>, first: number, last: number): boolean {
  for (let line = first; line <= last; line++) if (lines.has(line)) return true;
  return false;
}

/** The line a record starts on: csv-parse counts the line it ends on, and a quoted value may span lines. */
function firstLine(info: Info, raw: string): number {
  const body = raw.endsWith("\n") ? raw.slice(0, -1) : raw;
  let breaks = 0;
  for (let index = body.indexOf("\n"); index !== -1; index = body.indexOf("\n", index + 1)) breaks++;
  return info.lines - breaks;
}

/** A CSV string as the field's type; a value that does not convert stays a string for the check to reject with its reason. */
function convert(field: Field, value: string): unknown {
  switch (field.type) {
    case "int":
      return /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : value;
    case "long":
      // Past 2^53 a long is exact as a bigint (src/core/long.ts); past the long range it stays a string, which the check rejects.
      return /^\s*[+-]?\d+\s*$/.test(value) ? (parseLongText(value.trim()) ?? value) : value;
    case "double": {
      const number = value.trim() === "" ? Number.NaN : Number(value);
      return Number.isNaN(number) && value.trim() !== "NaN" ? value : number;
    }
    case "boolean": {
      const lower = value.trim().toLowerCase();
      return lower === "true" ? true : lower === "false" ? false : value;
    }
    case "timestamp":
      return toDate(value);
    default:
      return value;
  }
}
