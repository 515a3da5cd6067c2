// File sources (json as JSON Lines, csv, text): new files in a folder, each read once, every bad line sent to the dead-letter output.
//
// Write files atomically (write elsewhere or as ".name", then rename): a file is read once, from the
// first time a listing sees it. Names starting with "." or "_" are ignored, as Spark ignores them.
// JSON and text files stream through in chunks (a file of any size); a CSV file is read whole, up to
// 256 MB. A line or record larger than the broker's payload limit goes to the dead-letter output.
//
// @example
//   session.readStream.schema(z.object({ gt: z.string(), x: z.number() })).option("maxFilesPerTrigger", 1).json("/data/in")
import { statSync } from "node:fs";
import { isCount, type OffsetOrder } from "../../core/offsets.ts";
import { open, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { nowMs } from "../../core/clock.ts";
import { ConfigError, RillError } from "../../core/errors.ts";
import { schemaOf, type PositionalRow, type Row, type Schema } from "../../core/types.ts";
import { ConnectorOptions } from "../options.ts";
import { requireSchema } from "./decode.ts";
import { csvParser, csvPositionalParser, jsonParser, jsonPositionalParser, textParser, textPositionalParser, type FileParser, type LineParser, CSV_OPTIONS } from "./file-parsers.ts";
import { LineReader, decodeChunk } from "./line-reader.ts";
import { ReadyQueue } from "./ready-queue.ts";
import type { PositionalSourceReader, Prepared, ReadLimit, ReadyBatchOf, SourceContext, SourceProvider, SourceReader, SourceReaderOf } from "./source.ts";
import type { SourceRequest } from "./request.ts";

export type FileFormat = "json" | "csv" | "text";
export const FILE_FORMATS: readonly FileFormat[] = ["json", "csv", "text"];

const COMMON_OPTIONS = ["path", "pollInterval", "maxFilesPerTrigger", "latestFirst", "numPartitions"];

export const textSchema: Schema = schemaOf([{ name: "value", type: "string", nullable: false }]);

interface FileSettings<R = Row> {
  readonly format: FileFormat;
  readonly folder: string;
  readonly pollIntervalMs: number;
  readonly maxFilesPerTrigger: number;
  readonly latestFirst: boolean;
  readonly parser: { readonly lines: LineParser<R> } | { readonly whole: FileParser<R> };
}

/** Rows kept ready before a streamed file is read further: memory stays bounded whatever the file's size. */
const HIGH_WATER_ROWS = 20_000;
/** A file read whole (CSV, whose records may span lines) must fit a string comfortably. */
const MAX_WHOLE_FILE_BYTES = 256 * 1024 * 1024;
/** Without a broker (a reader driven by a test), records up to NATS's default payload limit. */
const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024 - 1024;

export class FileSourceProvider implements SourceProvider {
  readonly format: FileFormat;
  readonly schema: Schema;
  /** The folder is the log: files stay, and a restart reads them again in the same (mtime, name) order. */
  readonly guarantee = "exactly-once" as const;
  readonly numPartitions: number;
  readonly description: string;
  private readonly settings: FileSettings;
  /**
   * Rows by position: CSV without a zod validator (a DDL string or a StructType schema) parses each record straight
   * into an array in the schema's order; JSON, and CSV with a zod schema, read each checked record by the schema's
   * names once into an array (after the zod check when the schema is zod's); text makes each line an array of its one
   * column.
   */
  readonly createPositionalReader: (partition: number) => PositionalSourceReader;

  constructor(request: SourceRequest) {
    const format = FILE_FORMATS.find((candidate) => candidate === request.format.toLowerCase());
    if (!format) throw new ConfigError(`FileSourceProvider reads ${FILE_FORMATS.join(", ")}, not '${request.format}'.`);
    this.format = format;
    const known = format === "csv" ? [...COMMON_OPTIONS, ...CSV_OPTIONS] : COMMON_OPTIONS;
    const options = new ConnectorOptions(`the ${format} source`, request.options, known);
    const folder = request.path ?? options.string("path");
    if (folder === undefined || folder === "") throw new ConfigError(`The ${format} source needs a folder: .format("${format}").load("/path/to/folder") or .${format}("/path/to/folder").`);
    checkFolder(format, folder);
    this.numPartitions = options.number("numPartitions", 1, { min: 1, max: 1024, integer: true });
    if (format === "text") {
      if (request.schema && (request.schema.fields.length !== 1 || request.schema.fields[0]?.type !== "string")) {
        throw new ConfigError(`The text source has one column 'value: string'; the given schema has ${request.schema.fields.map((field) => `${field.name}: ${field.type}`).join(", ")}. Remove .schema(...) or give z.object({ value: z.string() }).`);
      }
      this.schema = request.schema ?? textSchema;
    } else {
      this.schema = requireSchema(format, request.schema, `${format} files`);
    }
    const parser = format === "json" ? { lines: jsonParser(this.schema, request.validate) } : format === "csv" ? { whole: csvParser(this.schema, request.validate, options) } : { lines: textParser(this.schema.fields[0]?.name ?? "value") };
    this.settings = {
      format,
      folder,
      pollIntervalMs: options.duration("pollInterval", 200, 1),
      maxFilesPerTrigger: options.number("maxFilesPerTrigger", Number.MAX_SAFE_INTEGER, { min: 1, integer: true }),
      latestFirst: options.boolean("latestFirst", false),
      parser,
    };
    const settings = this.settings;
    const positionalParser = format === "json" ? { lines: jsonPositionalParser(this.schema, request.validate) }
      : format === "text" ? { lines: textPositionalParser() }
      : { whole: csvPositionalParser(this.schema, request.validate, options) };
    this.createPositionalReader = () => new FileReader<PositionalRow>({ ...settings, parser: positionalParser });
    const limit = options.has("maxFilesPerTrigger") ? `, maxFilesPerTrigger=${this.settings.maxFilesPerTrigger}` : "";
    this.description = `FileStream[${format}, ${folder}${limit}]`;
  }

  createReader(_partition: number): SourceReader {
    return new FileReader(this.settings);
  }
}

function checkFolder(format: string, folder: string): void {
  let isFolder: boolean;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch (error) {
    throw new ConfigError(`Path does not exist: '${folder}' (the ${format} source's folder). Create it before starting the query.`, { cause: error });
  }
  if (!isFolder) throw new ConfigError(`The ${format} source reads a folder of files, and '${folder}' is a file. Give the folder it is in.`);
}

/** The result, or undefined when the file vanished since the listing (moved away or deleted): it is not there to read. */
async function ifExists<T>(operation: Promise<T>): Promise<T | undefined> {
  try {
    return await operation;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** FNV-1a of a file name, to spread files over partitions. */
function hashName(name: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < name.length; index++) hash = Math.imul(hash ^ name.charCodeAt(index), 0x01000193);
  return hash >>> 0;
}

/**
 * The file source's offsets: every file fully polled before stays so, and the file polled part-way is either fully
 * polled now or polled at least as far.
 */
export const fileOrder: OffsetOrder = (earlier, later) => {
  if (!isFileOffset(earlier) || !isFileOffset(later)) return false;
  const done = new Set(later.files);
  if (!earlier.files.every((name) => done.has(name))) return false;
  const partial = earlier.partial;
  if (!partial || done.has(partial.name)) return true;
  return later.partial?.name === partial.name && later.partial.rows >= partial.rows;
};

function isFileOffset(value: unknown): value is { files: string[]; partial: { name: string; rows: number } | undefined } {
  if (typeof value !== "object" || value === null) return false;
  const { files, partial } = value as { files?: unknown; partial?: unknown };
  if (!Array.isArray(files) || !files.every((name) => typeof name === "string")) return false;
  if (partial === undefined || partial === null) return true;
  const { name, rows } = partial as { name?: unknown; rows?: unknown };
  return typeof name === "string" && isCount(rows);
}

/** A file of a line format being read: the rows of its first `skip` lines-with-rows were polled before a restart. */
interface OpenFile {
  readonly name: string;
  readonly lines: LineReader;
  readonly close: () => Promise<void>;
  skip: number;
}

class FileReader<R = Row> implements SourceReaderOf<R> {
  readonly offsetOrder = fileOrder;
  private readonly ready = new ReadyQueue<R>();
  /** Names of files already taken; each file is read once. */
  private readonly seen = new Set<string>();
  private context: SourceContext | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Listings and reads run one after another: a timer listing and a prepare() never read the same file twice. */
  private scans: Promise<void> = Promise.resolve();
  private scansPending = 0;
  private refilling = false;
  private failure: unknown;
  /** Files listed and taken, not opened yet, in order. */
  private readonly toRead: string[] = [];
  /** The streamed file being read, if any. */
  private reading: OpenFile | undefined;
  /** Files whose rows are (or will be) in the ready queue, in order, with the rows of each not yet polled. */
  private readonly readyFiles: Array<{ name: string; left: number; polled: number; complete: boolean }> = [];
  /** Files every row of which was polled: the offset. */
  private readonly polledFiles: string[] = [];
  /** Files read since the last prepare() ended: maxFilesPerTrigger bounds them. */
  private filesThisTrigger = 0;
  /** The last listing found more new files than the read limit let it take. */
  private heldBack = false;
  /** After seek(): the file polled part-way before the restart, and how many of its rows to skip. */
  private resumeIn: { name: string; rows: number } | undefined;

  constructor(private readonly settings: FileSettings<R>) {}

  /** The files fully polled, and the one polled part-way (with its rows polled): a replay starts right after. */
  offset(): { files: string[]; partial: { name: string; rows: number } | undefined } {
    const head = this.readyFiles[0];
    const partial = head && head.polled > 0 ? { name: head.name, rows: head.polled } : undefined;
    return { files: [...this.polledFiles], partial };
  }

  seek(offset: unknown): void {
    const { files, partial } = offset as { files: string[]; partial: { name: string; rows: number } | undefined };
    for (const name of files) {
      this.seen.add(name);
      this.polledFiles.push(name);
    }
    this.resumeIn = partial;
  }

  async open(context: SourceContext): Promise<void> {
    this.context = context;
    await this.scan();
    this.throwFailure();
    // A slow listing (a large folder, a slow disk) is not queued again behind itself.
    this.timer = setInterval(() => {
      if (this.scansPending === 0) void this.scan();
    }, this.settings.pollIntervalMs);
  }

  async prepare(readLimit: ReadLimit = "limited"): Promise<Prepared> {
    await this.scan(readLimit);
    this.throwFailure();
    // A streamed file not read to its end yet is data held back, as a read limit holds files back.
    const dataLeft = this.heldBack || this.reading !== undefined || this.toRead.length > 0;
    this.filesThisTrigger = 0;
    return { dataLeft };
  }

  readyCount(): number {
    return this.ready.size;
  }

  poll(max: number): ReadyBatchOf<R> | undefined {
    this.throwFailure();
    const batch = this.ready.poll(max);
    if (batch) this.consumed(batch.rows.length);
    if (this.ready.size < HIGH_WATER_ROWS / 2 && (this.reading || this.toRead.length > 0)) this.refill();
    return batch;
  }

  private consumed(rows: number): void {
    let left = rows;
    while (left > 0) {
      const head = this.readyFiles[0];
      if (!head) return;
      const take = Math.min(left, head.left);
      head.left -= take;
      head.polled += take;
      left -= take;
      this.settle();
    }
  }

  /** Files at the head with every row read and polled count as polled: the offset moves past them. */
  private settle(): void {
    for (let head = this.readyFiles[0]; head && head.complete && head.left === 0; head = this.readyFiles[0]) {
      this.readyFiles.shift();
      this.polledFiles.push(head.name);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.scans;
    await this.reading?.close();
    this.reading = undefined;
  }

  /** A failure of a timer listing surfaces at the next call the actor makes, which fails the query with it. */
  private throwFailure(): void {
    if (this.failure === undefined) return;
    const failure = this.failure;
    this.failure = undefined;
    throw failure;
  }

  private scan(readLimit: ReadLimit = "limited"): Promise<void> {
    return this.enqueue(() => this.listAndRead(readLimit));
  }

  /** Reads on in the streamed file once the actor has polled half of what was ready. */
  private refill(): void {
    if (this.refilling) return;
    this.refilling = true;
    void this.enqueue(async () => {
      this.refilling = false;
      const rows = await this.fill(HIGH_WATER_ROWS);
      if (rows > 0) this.context?.notify();
    });
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    this.scansPending++;
    this.scans = this.scans
      .then(work)
      .catch((error: unknown) => {
        this.failure ??= error instanceof RillError ? error : new RillError("SOURCE_IO", "external", `Cannot read the folder '${this.settings.folder}': ${String(error)}`, { cause: error, retryable: true });
      })
      .finally(() => this.scansPending--);
    return this.scans;
  }

  private async listAndRead(readLimit: ReadLimit): Promise<void> {
    const context = this.context;
    if (!context) return;
    const listed = await this.newFiles(context);
    const room = readLimit === "all" ? listed.length : Math.max(0, this.settings.maxFilesPerTrigger - this.filesThisTrigger);
    const files = listed.slice(0, room);
    this.heldBack = files.length < listed.length;
    this.filesThisTrigger += files.length;
    for (const name of files) {
      this.seen.add(name);
      this.toRead.push(name);
    }
    // Trigger once reads everything available (Spark's ReadLimit.allAvailable); otherwise a streamed file is read
    // as the actor polls, with at most about HIGH_WATER_ROWS rows ready.
    const rows = await this.fill(readLimit === "all" ? Number.POSITIVE_INFINITY : HIGH_WATER_ROWS);
    if (rows > 0) context.notify();
  }

  /** Reads files in order until `highWater` rows are ready or nothing is left to read; returns the rows added. */
  private async fill(highWater: number): Promise<number> {
    let rows = 0;
    while (this.ready.size < highWater) {
      if (!this.reading) {
        const name = this.toRead.shift();
        if (name === undefined) break;
        const parser = this.settings.parser;
        if ("whole" in parser) rows += await this.readWhole(name, parser.whole);
        else this.reading = await this.openLines(name);
        continue;
      }
      rows += await this.readChunk(this.reading);
    }
    return rows;
  }

  private resumeSkip(name: string): number {
    if (this.resumeIn?.name !== name) return 0;
    const rows = this.resumeIn.rows;
    this.resumeIn = undefined;
    return rows;
  }

  private async openLines(name: string): Promise<OpenFile | undefined> {
    const path = join(this.settings.folder, name);
    const handle = await this.fileOperation(name, ifExists(open(path, "r")));
    if (!handle) {
      this.seen.delete(name);
      return undefined;
    }
    const skip = this.resumeSkip(name);
    this.readyFiles.push({ name, left: 0, polled: skip, complete: false });
    return { name, lines: new LineReader(handle, this.context?.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES), close: () => handle.close(), skip };
  }

  /** The next chunk of a streamed file: its rows go to the ready queue, its oversized lines to the dead letter. */
  private async readChunk(file: OpenFile): Promise<number> {
    const context = this.context as SourceContext;
    const since = nowMs();
    const parse = (this.settings.parser as { lines: LineParser<R> }).lines;
    const deadLetter = (raw: unknown, reason: string): void => context.deadLetter(raw, reason);
    const pieces = await this.fileOperation(file.name, file.lines.next());
    let rows: R[] = [];
    for (const piece of pieces) {
      if ("lines" in piece) {
        for (const row of parse(piece.lines, file.name, deadLetter, piece.firstLine)) rows.push(row);
        continue;
      }
      if ("invalid" in piece) {
        deadLetter(piece.invalid.head, `${file.name}:${piece.invalid.line}: invalid UTF-8 (the dead letter shows the bad bytes as U+FFFD)`);
        continue;
      }
      const { line, bytes, head } = piece.oversized;
      deadLetter(head, `${file.name}:${line}: record larger than the broker's payload limit (${bytes} bytes, limit ${context.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES}); the dead letter holds its first characters`);
    }
    if (file.skip > 0) {
      const skipped = Math.min(file.skip, rows.length);
      file.skip -= skipped;
      rows = rows.slice(skipped);
    }
    const entry = this.readyFiles[this.readyFiles.length - 1] as { left: number; complete: boolean };
    entry.left += rows.length;
    if (rows.length > 0) this.ready.push(rows, since);
    if (file.lines.done) {
      entry.complete = true;
      this.reading = undefined;
      await file.close();
      this.settle();
    }
    return rows.length;
  }

  private async readWhole(name: string, parse: FileParser<R>): Promise<number> {
    const context = this.context as SourceContext;
    const since = nowMs();
    const path = join(this.settings.folder, name);
    const info = await this.fileOperation(name, ifExists(stat(path)));
    if (info && info.size > MAX_WHOLE_FILE_BYTES) {
      throw new RillError("SOURCE_FILE_TOO_LARGE", "user", `The file '${path}' is ${info.size} bytes: the ${this.settings.format} source reads a file whole and takes files up to ${MAX_WHOLE_FILE_BYTES} bytes. Split it into smaller files (JSON Lines and text files stream through whatever their size).`);
    }
    const bytes = info ? await this.fileOperation(name, ifExists(readFile(path))) : undefined;
    if (bytes === undefined) {
      this.seen.delete(name);
      return 0;
    }
    const { text, invalidSegments } = decodeChunk(bytes);
    const invalidLines = invalidSegments && new Set([...invalidSegments].map((segment) => segment + 1));
    let parsed = parse(text, name, (raw, reason) => context.deadLetter(raw, reason), context.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES, invalidLines);
    const polled = this.resumeSkip(name);
    parsed = parsed.slice(polled);
    this.readyFiles.push({ name, left: parsed.length, polled, complete: true });
    if (parsed.length > 0) this.ready.push(parsed, since);
    this.settle();
    return parsed.length;
  }

  /** An I/O error names the file it happened on. */
  private async fileOperation<T>(name: string, operation: Promise<T>): Promise<T> {
    try {
      return await operation;
    } catch (error) {
      throw new RillError("SOURCE_IO", "external", `Cannot read the file '${join(this.settings.folder, name)}': ${String(error)}`, { cause: error, retryable: true });
    }
  }

  /** Files not read yet, of this partition, oldest first (newest first with latestFirst). */
  private async newFiles(context: SourceContext): Promise<string[]> {
    const { folder, latestFirst } = this.settings;
    const entries = await readdir(folder, { withFileTypes: true });
    const candidates = entries.filter((entry) => {
      const name = entry.name;
      if (!entry.isFile() || name.startsWith(".") || name.startsWith("_") || this.seen.has(name)) return false;
      return context.numPartitions === 1 || hashName(name) % context.numPartitions === context.partition;
    });
    const listed = await Promise.all(candidates.map(async (entry) => {
      const info = await ifExists(stat(join(folder, entry.name)));
      return info ? { name: entry.name, mtime: info.mtimeMs } : undefined;
    }));
    const timed = listed.filter((file) => file !== undefined);
    timed.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (latestFirst) timed.reverse();
    const names = timed.map((file) => file.name);
    // The file polled part-way before a restart goes on first: the offset names one such file, and a file read before
    // it (one that arrived meanwhile with an older time) would become the offset's head and drop its position.
    const resumed = this.resumeIn === undefined ? -1 : names.indexOf(this.resumeIn.name);
    if (resumed > 0) names.unshift(...names.splice(resumed, 1));
    return names;
  }
}
