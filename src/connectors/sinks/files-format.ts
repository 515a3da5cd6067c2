// How the file sink turns one epoch's rows into one file's bytes: JSON Lines, CSV (csv-stringify), Parquet (hyparquet-writer).
import { stringify, type Options as CsvOptions } from "csv-stringify/sync";
import type { BasicType, ColumnSource } from "hyparquet-writer";
import { ConfigError } from "../../core/errors.ts";
import { jsonWithLongs } from "../../core/long.ts";
import type { Row } from "../../core/types.ts";
import type { ConnectorOptions } from "../options.ts";

export type FileSinkFormat = "json" | "csv" | "parquet";

export const FILE_SINK_FORMATS: readonly FileSinkFormat[] = ["json", "csv", "parquet"];

/** The options each format adds to the file sink's own. */
export const FORMAT_OPTIONS: Readonly<Record<FileSinkFormat, readonly string[]>> = {
  json: ["ignoreNullFields"],
  csv: ["header", "sep", "delimiter", "quote", "escape"],
  parquet: ["compression"],
};

/** Encodes one epoch's rows (never none) into one file. An encoder lives as long as its writer and may remember column types. */
export interface RowEncoder {
  readonly extension: string;
  /** Loads what encode() needs (the Parquet writer loads on first use); the sink's open() awaits it, so a missing package fails start(). */
  load?(): Promise<void>;
  encode(rows: readonly Row[]): string | Uint8Array;
}

/** A factory per format, reading the format's options now so that a bad one fails at start(). */
export function encoderFactory(format: FileSinkFormat, options: ConnectorOptions): () => RowEncoder {
  switch (format) {
    case "json":
      return jsonEncoderFactory(options);
    case "csv":
      return csvEncoderFactory(options);
    case "parquet":
      return parquetEncoderFactory(options);
  }
}

/** JSON Lines, one object a line. Null fields are left out unless ignoreNullFields is false, as Spark does. */
function jsonEncoderFactory(options: ConnectorOptions): () => RowEncoder {
  const ignoreNullFields = options.boolean("ignoreNullFields", true);
  const replacer = (_key: string, value: unknown): unknown => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
    if (value === null && ignoreNullFields) return undefined;
    return value;
  };
  return () => ({
    extension: "json",
    encode: (rows) => {
      let text = "";
      // Longs past 2^53 (bigints) are written as JSON numbers, digit for digit, as Spark writes longs.
      for (const row of rows) text += `${jsonWithLongs(row, replacer)}\n`;
      return text;
    },
  });
}

/**
 * CSV with the csv source's option names and defaults: sep ",", quote '"', escape '"' (RFC 4180 doubling;
 * Spark's writer escapes with '\\'), header false. Nulls are empty and empty strings quoted, so the csv
 * source reads them back as null and "". Columns are the epoch's in order of first appearance; nested
 * values are written as JSON, binary as base64, timestamps (Date values) as ISO 8601.
 */
function csvEncoderFactory(options: ConnectorOptions): () => RowEncoder {
  if (options.has("sep") && options.has("delimiter")) throw options.invalid("delimiter", options.string("delimiter") ?? "", "left out when 'sep' is set (they are the same option)");
  const header = options.boolean("header", false);
  const csvOptions: CsvOptions = {
    delimiter: options.character(options.has("delimiter") ? "delimiter" : "sep", ","),
    quote: options.character("quote", '"'),
    escape: options.character("escape", '"'),
    quoted_empty: true,
    cast: {
      // quoted_empty quotes "" so that it reads back as an empty string; a null stays bare, which reads back as null.
      null: () => ({ value: "", quoted_empty: false }),
      boolean: (value) => String(value),
      date: (value) => value.toISOString(),
      bigint: (value) => value.toString(),
      object: (value) => (value instanceof Uint8Array ? Buffer.from(value).toString("base64") : JSON.stringify(value)),
    },
  };
  try {
    stringify([["a"]], csvOptions);
  } catch (error) {
    throw new ConfigError(`The csv sink's options are inconsistent: ${(error as Error).message}. Options: sep='${String(csvOptions.delimiter)}', quote='${String(csvOptions.quote)}', escape='${String(csvOptions.escape)}'.`, { cause: error });
  }
  return () => ({
    extension: "csv",
    encode: (rows) => {
      const columns = columnsOf(rows);
      const records: unknown[][] = header ? [columns] : [];
      for (const row of rows) records.push(columns.map((name) => row[name] ?? null));
      return stringify(records, csvOptions);
    },
  });
}

const PARQUET_CODECS = ["snappy", "uncompressed"] as const;

/**
 * Parquet, with a schema inferred from each epoch's rows (rows carry no schema here): every column
 * nullable; whole numbers INT64, other numbers DOUBLE, strings UTF8, booleans BOOLEAN, Date values
 * TIMESTAMP (INT64 millis), bytes BYTE_ARRAY, objects, arrays and mixed columns JSON. A column once
 * seen as DOUBLE stays DOUBLE in later files of the run, so 2.0 in a later epoch does not make it INT64.
 */
function parquetEncoderFactory(options: ConnectorOptions): () => RowEncoder {
  const codec = options.choice("compression", PARQUET_CODECS, "snappy") === "snappy" ? "SNAPPY" : "UNCOMPRESSED";
  return () => {
    const known = new Map<string, BasicType>();
    let writer: typeof import("hyparquet-writer") | undefined;
    return {
      extension: "parquet",
      load: async () => {
        // Loaded on first use: a process without a Parquet sink does not pay for hyparquet-writer (ARCHITECTURE.md decision 54).
        try {
          writer ??= await import("hyparquet-writer");
        } catch (error) {
          throw new ConfigError(`The parquet sink cannot load its Parquet writer (package 'hyparquet-writer'): ${String(error)}. Reinstall Rill's dependencies, or write another format.`, { cause: error });
        }
      },
      encode: (rows) => {
        if (!writer) throw new ConfigError("The parquet sink encoded rows before it was opened.");
        const { parquetWriteBuffer } = writer;
        const columnData: ColumnSource[] = columnsOf(rows).map((name) => {
          const values = rows.map((row) => row[name] ?? null);
          const type = parquetTypeOf(values, known.get(name));
          known.set(name, type);
          return { name, type, nullable: true, data: toParquetValues(values, type) };
        });
        return new Uint8Array(parquetWriteBuffer({ columnData, codec, createdBy: "rill" }));
      },
    };
  };
}

/** The Parquet type of a column's values; `previous` is the type earlier files of the run gave it. */
export function parquetTypeOf(values: readonly unknown[], previous: BasicType | undefined): BasicType {
  const kinds = new Set<string>();
  let fractional = false;
  for (const value of values) {
    if (value === null || value === undefined) continue;
    if (typeof value === "number") {
      kinds.add("number");
      if (!Number.isSafeInteger(value)) fractional = true;
    } else if (typeof value === "bigint") kinds.add("number");
    else if (typeof value === "string") kinds.add("string");
    else if (typeof value === "boolean") kinds.add("boolean");
    else if (value instanceof Date) kinds.add("date");
    else if (value instanceof Uint8Array) kinds.add("bytes");
    else kinds.add("object");
  }
  if (kinds.size === 0) return previous ?? "STRING";
  if (kinds.size > 1) return "JSON";
  const [kind] = kinds;
  switch (kind) {
    case "number":
      return fractional || previous === "DOUBLE" ? "DOUBLE" : "INT64";
    case "string":
      return "STRING";
    case "boolean":
      return "BOOLEAN";
    case "date":
      return "TIMESTAMP";
    case "bytes":
      return "BYTE_ARRAY";
    default:
      return "JSON";
  }
}

function toParquetValues(values: unknown[], type: BasicType): unknown[] {
  switch (type) {
    case "INT64":
      return values.map((value) => (typeof value === "number" ? BigInt(value) : value));
    case "DOUBLE":
      return values.map((value) => (typeof value === "bigint" ? Number(value) : value));
    case "JSON":
      // JSON columns hold any value; bigints and bytes have no JSON form of their own.
      return values.map((value) => (typeof value === "bigint" ? value.toString() : value instanceof Uint8Array ? Buffer.from(value).toString("base64") : value));
    default:
      return values;
  }
}

/** Column names in the order they first appear in the rows. */
function columnsOf(rows: readonly Row[]): string[] {
  const names = new Set<string>();
  for (const row of rows) for (const name of Object.keys(row)) names.add(name);
  return [...names];
}
