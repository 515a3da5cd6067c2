// File sources (json as JSON Lines, csv, text): new files in a folder, each read once, every bad line sent to the dead-letter output.
//
// Write files atomically (write elsewhere or as ".name", then rename): a file is read whole the
// first time a listing sees it. Names starting with "." or "_" are ignored, as Spark ignores them.
//
// @example
//   session.readStream.schema(z.object({ gt: z.string(), x: z.number() })).option("maxFilesPerTrigger", 1).json("/data/in")
import { statSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { nowMs } from "../../core/clock.ts";
import { ConfigError, RillError } from "../../core/errors.ts";
import { schemaOf, type Schema } from "../../core/types.ts";
import { ConnectorOptions } from "../options.ts";
import { requireSchema } from "./decode.ts";
import { csvParser, jsonParser, textParser, type FileParser, CSV_OPTIONS } from "./file-parsers.ts";
import { ReadyQueue } from "./ready-queue.ts";
import type { Prepared, ReadLimit, ReadyBatch, SourceContext, SourceProvider, SourceReader } from "./source.ts";
import type { SourceRequest } from "./request.ts";

export type FileFormat = "json" | "csv" | "text";
export const FILE_FORMATS: readonly FileFormat[] = ["json", "csv", "text"];

const COMMON_OPTIONS = ["path", "pollInterval", "maxFilesPerTrigger", "latestFirst", "numPartitions"];

export const textSchema: Schema = schemaOf([{ name: "value", type: "string", nullable: false }]);

interface FileSettings {
  readonly folder: string;
  readonly pollIntervalMs: number;
  readonly maxFilesPerTrigger: number;
  readonly latestFirst: boolean;
  readonly parser: FileParser;
}

export class FileSourceProvider implements SourceProvider {
  readonly format: FileFormat;
  readonly schema: Schema;
  /** The folder is the log: files stay, and a restart reads them again in the same (mtime, name) order. */
  readonly guarantee = "exactly-once" as const;
  readonly numPartitions: number;
  readonly description: string;
  private readonly settings: FileSettings;

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
    const parser = format === "json" ? jsonParser(this.schema, request.validate) : format === "csv" ? csvParser(this.schema, request.validate, options) : textParser(this.schema.fields[0]?.name ?? "value");
    this.settings = {
      folder,
      pollIntervalMs: options.duration("pollInterval", 200, 1),
      maxFilesPerTrigger: options.number("maxFilesPerTrigger", Number.MAX_SAFE_INTEGER, { min: 1, integer: true }),
      latestFirst: options.boolean("latestFirst", false),
      parser,
    };
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

class FileReader implements SourceReader {
  private readonly ready = new ReadyQueue();
  /** Names of files already taken; each file is read once. */
  private readonly seen = new Set<string>();
  private context: SourceContext | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Listings run one after another: a timer listing and a prepare() never read the same file twice. */
  private scans: Promise<void> = Promise.resolve();
  private scansPending = 0;
  private failure: unknown;
  /** Files whose rows are in the ready queue, in order, with the rows of each not yet polled. */
  private readonly readyFiles: Array<{ name: string; left: number; polled: number }> = [];
  /** Files every row of which was polled: the offset. */
  private readonly polledFiles: string[] = [];
  /** Files read since the last prepare() ended: maxFilesPerTrigger bounds them. */
  private filesThisTrigger = 0;
  /** The last listing found more new files than the read limit let it take. */
  private heldBack = false;
  /** After seek(): the file polled part-way before the restart, and how many of its rows to skip. */
  private resumeIn: { name: string; rows: number } | undefined;

  constructor(private readonly settings: FileSettings) {}

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
    const dataLeft = this.heldBack;
    this.filesThisTrigger = 0;
    return { dataLeft };
  }

  readyCount(): number {
    return this.ready.size;
  }

  poll(max: number): ReadyBatch | undefined {
    this.throwFailure();
    const batch = this.ready.poll(max);
    if (batch) this.consumed(batch.rows.length);
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
      if (head.left === 0) {
        this.readyFiles.shift();
        this.polledFiles.push(head.name);
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.scans;
  }

  /** A failure of a timer listing surfaces at the next call the actor makes, which fails the query with it. */
  private throwFailure(): void {
    if (this.failure === undefined) return;
    const failure = this.failure;
    this.failure = undefined;
    throw failure;
  }

  private scan(readLimit: ReadLimit = "limited"): Promise<void> {
    this.scansPending++;
    this.scans = this.scans
      .then(() => this.listAndRead(readLimit))
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
    if (files.length === 0) return;
    let rows = 0;
    for (const name of files) {
      const since = nowMs();
      const text = await ifExists(readFile(join(this.settings.folder, name), "utf8"));
      if (text === undefined) continue;
      this.seen.add(name);
      let parsed = this.settings.parser(text, name, (raw, reason) => context.deadLetter(raw, reason));
      let polled = 0;
      if (this.resumeIn?.name === name) {
        polled = this.resumeIn.rows;
        parsed = parsed.slice(polled);
        this.resumeIn = undefined;
      }
      rows += parsed.length;
      if (parsed.length === 0) this.polledFiles.push(name);
      else this.readyFiles.push({ name, left: parsed.length, polled });
      this.ready.push(parsed, since);
    }
    if (rows > 0) context.notify();
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
    return timed.map((file) => file.name);
  }
}
