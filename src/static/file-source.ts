// The static file source of session.read: json (JSON Lines), csv, text and parquet, from one file or a folder of
// files, read whole when the plan runs. Bad lines go to the dead letter with their file and line, as in the streams.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConnectorOptions } from "../connectors/options.ts";
import { CSV_OPTIONS, csvParser, jsonParser, textParser, type BadRecordHandler, type FileParser, type LineParser } from "../connectors/sources/file-parsers.ts";
import { decodeChunk } from "../connectors/sources/line-reader.ts";
import { recordChecker } from "../connectors/sources/decode.ts";
import type { RowValidator } from "../connectors/sources/memory.ts";
import { ReadyQueue } from "../connectors/sources/ready-queue.ts";
import { jsonWithLongs } from "../core/long.ts";
import type { SourceContext, SourceProvider, SourceReader } from "../connectors/sources/source.ts";
import { nowMs } from "../core/clock.ts";
import { ConfigError } from "../core/errors.ts";
import { findField, type Row, type Schema } from "../core/types.ts";
import { inferCsvSchema } from "./infer-csv.ts";
import { JsonSchemaInference } from "./infer-json.ts";
import { parquetFileSchema, readParquetRows } from "./parquet.ts";
import { badRecordHandler, badRecordPolicy, checkCorruptColumn, PARSE_MODE_OPTIONS, type BadRecordPolicy } from "./parse-mode.ts";

export type StaticFormat = "json" | "csv" | "text" | "parquet";
export const STATIC_FORMATS: readonly StaticFormat[] = ["json", "csv", "text", "parquet"];

/** Options every static format takes; refreshInterval matters only as the static side of a stream-static join. */
const COMMON_OPTIONS = ["path", "refreshInterval", ...PARSE_MODE_OPTIONS];
const CSV_STATIC_OPTIONS = [...CSV_OPTIONS, "inferSchema"];

/** The files of a path: the file itself, or a folder's files in name order (names starting with "." or "_" left out, as Spark does). */
export function listStaticFiles(format: string, path: string): string[] {
  let info;
  try {
    info = statSync(path);
  } catch (error) {
    throw new ConfigError(`Path does not exist: '${path}' (session.read.${format}).`, { cause: error });
  }
  if (!info.isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.startsWith(".") && !entry.name.startsWith("_"))
    .map((entry) => entry.name)
    .sort()
    .map((name) => join(path, name));
}

/** What the reader was given, checked: the format, its files, options and the schema (given or inferred). */
export interface StaticFileSpec {
  readonly format: StaticFormat;
  readonly path: string;
  readonly options: ConnectorOptions;
  readonly schema: Schema;
  /** What a malformed record becomes: Spark's mode option, or Rill's dead letter when none is given. */
  readonly policy: BadRecordPolicy;
}

/** Checks the options and finds the schema: the user's, or Spark's inference from the data (read now, as Spark reads it). */
export function staticFileSpec(format: string, path: string, rawOptions: ReadonlyMap<string, string>, userSchema: Schema | undefined): StaticFileSpec {
  const checked = STATIC_FORMATS.find((candidate) => candidate === format.trim().toLowerCase());
  if (!checked) throw new ConfigError(`Unknown static source format '${format}'. session.read reads the files ${STATIC_FORMATS.join(", ")} and the databases postgres (or jdbc) and redis.`);
  const options = new ConnectorOptions(`session.read.${checked}`, rawOptions, checked === "csv" ? [...COMMON_OPTIONS, ...CSV_STATIC_OPTIONS] : COMMON_OPTIONS);
  const files = listStaticFiles(checked, path);
  const policy = badRecordPolicy(options);
  const schema = userSchema ?? inferSchema(checked, path, files, options, policy);
  checkCorruptColumn(schema, policy);
  return { format: checked, path, options, schema, policy };
}

function inferSchema(format: StaticFormat, path: string, files: readonly string[], options: ConnectorOptions, policy: BadRecordPolicy): Schema {
  switch (format) {
    case "text": return { fields: [{ name: "value", type: "string", nullable: false }] };
    case "parquet": {
      if (files.length === 0) throw new ConfigError(`Unable to infer schema for Parquet at '${path}': the folder has no files. It must be specified manually with .schema(...).`);
      return parquetFileSchema(files[0] as string);
    }
    case "json": {
      const inference = new JsonSchemaInference();
      for (const file of files) for (const line of readFileSync(file, "utf8").split("\n")) inference.addLine(line);
      // As Spark's inference in PERMISSIVE mode: malformed lines add the corrupt-record column.
      return inference.schema(path, policy.mode === "PERMISSIVE" ? policy.corruptColumn : undefined);
    }
    case "csv": return inferCsvSchema(path, files.map((file) => readFileSync(file, "utf8")), options);
  }
}

export class StaticFileSourceProvider implements SourceProvider {
  readonly format: StaticFormat;
  readonly schema: Schema;
  readonly numPartitions = 1;
  readonly guarantee = "exactly-once" as const;
  readonly description: string;

  constructor(private readonly spec: StaticFileSpec) {
    this.format = spec.format;
    this.schema = spec.schema;
    this.description = `StaticFiles[${spec.format}, ${spec.path}]`;
  }

  createReader(): SourceReader {
    return new StaticFileReader(this.spec);
  }
}

/** Reads every file of the path when prepared; the files are listed again at each run (a refresh sees new ones). */
class StaticFileReader implements SourceReader {
  private readonly ready = new ReadyQueue();
  private context: SourceContext | undefined;

  constructor(private readonly spec: StaticFileSpec) {}

  async open(context: SourceContext): Promise<void> {
    this.context = context;
  }

  async prepare(): Promise<void> {
    const context = this.context as SourceContext;
    const { format, schema, options, policy } = this.spec;
    const handler = badRecordHandler(policy, schema, {
      deadLetter: (raw, reason) => context.deadLetter(raw, reason),
      dropped: (reason) => context.dropMalformed?.(reason),
    });
    // The corrupt-record column is not in the data (a CSV's columns map to the schema without it, as in Spark): parse
    // with the other fields; a good record's corrupt column is null.
    const corrupt = format === "parquet" || format === "text" ? undefined : findField(schema, policy.corruptColumn)?.name;
    const data: Schema = corrupt === undefined ? schema : { fields: schema.fields.filter((field) => field.name !== corrupt) };
    const lines: LineParser | undefined = format === "json" ? jsonParser(data, coercingValidator(data)) : format === "text" ? textParser(schema.fields[0]?.name ?? "value") : undefined;
    const whole: FileParser | undefined = format === "csv" ? csvParser(data, undefined, options) : undefined;
    for (const file of listStaticFiles(format, this.spec.path)) {
      const since = nowMs();
      let rows: Row[];
      if (format === "parquet") rows = await parquetRows(file, schema, handler);
      else {
        const { text, invalidSegments } = decodeChunk(await readFile(file));
        if (lines) rows = lineRows(lines, linesOf(text), file, handler, invalidSegments);
        else rows = (whole as FileParser)(text, file, handler, Number.MAX_SAFE_INTEGER, invalidSegments && new Set([...invalidSegments].map((segment) => segment + 1)));
      }
      if (corrupt !== undefined) rows = rows.map((row) => inSchemaOrder(row, schema));
      if (rows.length > 0) this.ready.push(rows, since);
    }
  }

  readyCount(): number {
    return this.ready.size;
  }

  poll(max: number) {
    return this.ready.poll(max);
  }

  async close(): Promise<void> {}
}

/**
 * As Spark reads JSON against a schema: a value of a string column that is not a string keeps its JSON text (the
 * inference made the column string because the values disagree), and a long in a double column becomes a double.
 */
function coercingValidator(schema: Schema): RowValidator {
  const strings = schema.fields.filter((field) => field.type === "string").map((field) => field.name);
  const doubles = schema.fields.filter((field) => field.type === "double").map((field) => field.name);
  const check = recordChecker(schema, undefined);
  return (value) => {
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const record = value as Row;
      for (const name of strings) {
        const item = record[name];
        if (item !== null && item !== undefined && typeof item !== "string") record[name] = jsonWithLongs(item);
      }
      for (const name of doubles) if (typeof record[name] === "bigint") record[name] = Number(record[name]);
    }
    return check(value);
  };
}

/** The row's columns in the schema's order (the corrupt-record column where the schema puts it), missing ones null. */
function inSchemaOrder(row: Row, schema: Schema): Row {
  const ordered: Row = {};
  for (const field of schema.fields) ordered[field.name] = row[field.name] ?? null;
  return ordered;
}

/** Rows of a line format; a line whose bytes are not UTF-8 is a bad record (as in the streaming file source). */
function lineRows(parse: LineParser, lines: readonly string[], file: string, handler: BadRecordHandler, invalidSegments: ReadonlySet<number> | undefined): Row[] {
  if (invalidSegments === undefined) return parse(lines, file, handler, 1);
  const rows: Row[] = [];
  let start = 0;
  const flush = (end: number): void => {
    if (end > start) for (const row of parse(lines.slice(start, end), file, handler, start + 1)) rows.push(row);
  };
  for (const segment of [...invalidSegments].sort((a, b) => a - b)) {
    if (segment >= lines.length) continue;
    flush(segment);
    const kept = handler(lines[segment] as string, `${file}:${segment + 1}: invalid UTF-8 (the dead letter shows the bad bytes as U+FFFD)`);
    if (kept) rows.push(kept);
    start = segment + 1;
  }
  flush(lines.length);
  return rows;
}

/** A Parquet file that cannot be read is one bad record: the file, and why. */
async function parquetRows(file: string, schema: Schema, handler: BadRecordHandler): Promise<Row[]> {
  try {
    return await readParquetRows(file, schema);
  } catch (error) {
    const kept = handler("", `${file}: not a readable Parquet file (${error instanceof Error ? error.message : String(error)})`);
    return kept ? [kept] : [];
  }
}

/** The lines of a text; a final line end does not start another (empty) line. */
function linesOf(text: string): string[] {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}
