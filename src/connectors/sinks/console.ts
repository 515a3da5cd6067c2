// Spark's console sink: at each epoch's end, "Batch: N" and a show()-style table of the epoch's rows (or the whole result in complete mode).
//
// @example
//   df.writeStream.format("console").option("numRows", 50).option("truncate", false).start()
import type { Row } from "../../core/types.ts";
import { ConnectorOptions, ENGINE_SINK_OPTIONS } from "../options.ts";
import type { OutputMode, SinkContext, SinkProvider, SinkWriter } from "./sink.ts";
import type { SinkRequest } from "./request.ts";

const OPTIONS = ["numRows", "truncate", ...ENGINE_SINK_OPTIONS];
const BANNER = "-------------------------------------------";
const TRUNCATE_AT = 20;
const MIN_COLUMN_WIDTH = 3;

export type ConsoleOutput = (text: string) => void;

export class ConsoleSinkProvider implements SinkProvider {
  readonly format = "console";
  readonly guarantee = "at-least-once" as const;
  readonly description: string;
  private readonly numRows: number;
  private readonly truncate: boolean;

  /** `out` receives each batch's text; by default process.stdout. */
  constructor(request: SinkRequest, private readonly out: ConsoleOutput = (text) => void process.stdout.write(text)) {
    const options = new ConnectorOptions("the console sink", request.options, OPTIONS);
    this.numRows = options.number("numRows", 20, { min: 1, integer: true });
    this.truncate = options.boolean("truncate", true);
    this.description = `ConsoleSink[numRows=${this.numRows}, truncate=${this.truncate}]`;
  }

  createWriter(): SinkWriter {
    let mode: OutputMode = "append";
    return {
      open: async (context: SinkContext) => {
        mode = context.outputMode;
      },
      // Spark prints every micro-batch it ran. Rill's epochs pass every trigger interval whether or
      // not rows came, so in append and update mode an epoch without rows prints nothing (no
      // "Batch: N" with an empty table each second); complete mode prints the whole result every time.
      endEpoch: (epoch, rows) => {
        if (rows.length === 0 && mode !== "complete") return;
        this.out(`${BANNER}\nBatch: ${epoch}\n${BANNER}\n${showString(rows, this.numRows, this.truncate)}\n`);
      },
      close: async () => {},
    };
  }
}

/** The table Spark's Dataset.show(numRows, truncate) prints: right-aligned when truncating, left-aligned when not. */
export function showString(rows: readonly Row[], numRows = 20, truncate = true): string {
  const shown = rows.slice(0, numRows);
  const columns = columnsOf(shown.length > 0 ? shown : rows.slice(0, 1));
  const cells = [columns.map((name) => cut(escape(name), truncate)), ...shown.map((row) => columns.map((name) => cut(formatCell(row[name]), truncate)))];
  const widths = columns.map((_, index) => Math.max(MIN_COLUMN_WIDTH, ...cells.map((line) => (line[index] as string).length)));
  const separator = `+${widths.map((width) => "-".repeat(width)).join("+")}+\n`;
  const line = (values: string[]) => `|${values.map((value, index) => (truncate ? value.padStart(widths[index] as number) : value.padEnd(widths[index] as number))).join("|")}|\n`;
  let text = separator + line(cells[0] as string[]) + separator;
  for (const values of cells.slice(1)) text += line(values);
  text += separator;
  if (rows.length > numRows) text += `only showing top ${numRows} ${numRows === 1 ? "row" : "rows"}\n`;
  return text;
}

/** Column names in the order they first appear. */
function columnsOf(rows: readonly Row[]): string[] {
  const names = new Set<string>();
  for (const row of rows) for (const name of Object.keys(row)) names.add(name);
  return [...names];
}

function cut(text: string, truncate: boolean): string {
  return truncate && text.length > TRUNCATE_AT ? `${text.slice(0, TRUNCATE_AT - 3)}...` : text;
}

/** Control characters shown escaped, as Spark 3.4+ does, so that a value cannot break the table. */
function escape(text: string): string {
  return text.replace(/[\n\r\t\f\b\v]/g, (character) => ESCAPES[character] ?? character);
}

const ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f", "\b": "\\b", "\v": "\\v" };

/** A value as Spark shows it, roughly: null, numbers with E exponents, [a, b] arrays, {a, b} structs, [0A FF] binary. */
export function formatCell(value: unknown): string {
  return escape(formatValue(value));
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") return String(value).replace("e+", "E").replace("e-", "E-");
  if (typeof value === "string") return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "null" : value.toISOString().replace("T", " ").replace("Z", "");
  if (value instanceof Uint8Array) return `[${[...value].map((byte) => byte.toString(16).toUpperCase().padStart(2, "0")).join(" ")}]`;
  if (Array.isArray(value)) return `[${value.map(formatValue).join(", ")}]`;
  if (value instanceof Map) return `{${[...value].map(([key, entry]) => `${formatValue(key)} -> ${formatValue(entry)}`).join(", ")}}`;
  if (typeof value === "object") return `{${Object.values(value).map(formatValue).join(", ")}}`;
  return String(value);
}
