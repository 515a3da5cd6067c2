// The file sink's log of committed files (`<path>/_rill_sink_log`), as Spark's `_spark_metadata`: what readers list instead of the folder.
//
// Layout: one JSON file a committed epoch, named by its batch number (`0`, `1`, ...), written atomically
// (temp file, fsync, rename, fsync of the folder); every `compactInterval` batches the entries merge into
// `<batch>.compact` and the merged entries are deleted. A reader takes the newest compact file and the
// entries after it. Batch numbers are the sink's own sequence: the first query on a path logs epoch N as
// batch N, and a later query on the same path (a new checkpoint, or a run without one) continues after it.
import { open, readdir, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { z } from "zod";
import { RillError } from "../../core/errors.ts";

export const LOG_FOLDER = "_rill_sink_log";

export const fileSchema = z.object({ path: z.string().min(1), rows: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() });

const entrySchema = z.object({
  version: z.literal(1),
  batch: z.number().int().nonnegative(),
  /** The writer's tag: derived from the query id with a checkpoint, random per run without one. */
  writer: z.string().min(1),
  queryId: z.string(),
  checkpointed: z.boolean(),
  epoch: z.number().int().nonnegative(),
  committedAt: z.number(),
  files: z.array(fileSchema),
});

const loggedFileSchema = fileSchema.extend({ batch: z.number().int().nonnegative(), epoch: z.number().int().nonnegative(), committedAt: z.number() });

const compactSchema = z.object({
  version: z.literal(1),
  batch: z.number().int().nonnegative(),
  /** The last committed epoch of each checkpointed writer: what a restart of that query needs to commit idempotently. */
  writers: z.record(z.string(), z.object({ queryId: z.string(), lastEpoch: z.number().int() })),
  files: z.array(loggedFileSchema),
});

export type LogEntry = z.infer<typeof entrySchema>;
export type LoggedFile = z.infer<typeof loggedFileSchema>;
export type CompactEntry = z.infer<typeof compactSchema>;

/** The log as one read saw it. */
export interface LogSnapshot {
  readonly compact: CompactEntry | undefined;
  /** Entries after the compact file, in batch order. */
  readonly entries: readonly LogEntry[];
  /** Log files a finished compaction made obsolete (a crash may have left them): safe to delete. */
  readonly obsolete: readonly string[];
  readonly nextBatch: number;
}

const ENTRY_NAME = /^(\d+)(\.compact)?$/;
const READ_ATTEMPTS = 3;

/** The visible committed files of a file sink's output folder, in commit order: what a downstream reader should read. */
export async function committedFiles(path: string): Promise<string[]> {
  const folder = resolve(path);
  const snapshot = await readLog(join(folder, LOG_FOLDER));
  return filesOf(snapshot).map((file) => join(folder, file.path));
}

/** Every file the snapshot lists, oldest first. */
export function filesOf(snapshot: LogSnapshot): LoggedFile[] {
  const files = snapshot.compact ? [...snapshot.compact.files] : [];
  for (const entry of snapshot.entries) {
    for (const file of entry.files) files.push({ ...file, batch: entry.batch, epoch: entry.epoch, committedAt: entry.committedAt });
  }
  return files;
}

/** The last epoch `writer` logged, or -1. */
export function lastEpochOf(snapshot: LogSnapshot, writer: string): number {
  let last = snapshot.compact?.writers[writer]?.lastEpoch ?? -1;
  for (const entry of snapshot.entries) if (entry.writer === writer) last = Math.max(last, entry.epoch);
  return last;
}

/**
 * Reads the newest compact file and the entries after it. A compaction running meanwhile may delete a
 * file between the listing and the read: the read then starts again.
 */
export async function readLog(logFolder: string): Promise<LogSnapshot> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readLogOnce(logFolder);
    } catch (error) {
      // Only a file vanishing under a concurrent compaction is retried; everything else is thrown.
      if (!isMissing(error) || attempt >= READ_ATTEMPTS) throw error;
    }
  }
}

async function readLogOnce(logFolder: string): Promise<LogSnapshot> {
  let names: string[];
  try {
    names = await readdir(logFolder);
  } catch (error) {
    if (isMissing(error)) return { compact: undefined, entries: [], obsolete: [], nextBatch: 0 };
    throw error;
  }
  const entries: Array<{ batch: number; compact: boolean; name: string }> = [];
  for (const name of names) {
    const match = ENTRY_NAME.exec(name);
    if (match) entries.push({ batch: Number(match[1]), compact: match[2] !== undefined, name });
  }
  const compacts = entries.filter((entry) => entry.compact).sort((a, b) => b.batch - a.batch);
  const newest = compacts[0];
  const compact = newest ? await readJson(join(logFolder, newest.name), compactSchema) : undefined;
  const after = entries.filter((entry) => !entry.compact && entry.batch > (newest?.batch ?? -1)).sort((a, b) => a.batch - b.batch);
  const obsolete = entries.filter((entry) => (entry.compact ? entry !== newest : entry.batch <= (newest?.batch ?? -1))).map((entry) => entry.name);
  const logged = await Promise.all(after.map((entry) => readJson(join(logFolder, entry.name), entrySchema)));
  const last = Math.max(newest?.batch ?? -1, ...after.map((entry) => entry.batch));
  return { compact, entries: logged, obsolete, nextBatch: last + 1 };
}

/** Logs one committed epoch: after this returns, readers see its files. */
export async function appendEntry(logFolder: string, entry: LogEntry): Promise<void> {
  await replaceFileAtomically(join(logFolder, String(entry.batch)), `${JSON.stringify(entry)}\n`);
}

/**
 * Merges the log up to `batch` into `<batch>.compact`, dropping the files committed before
 * `expireBefore` (ms since the epoch), then deletes the merged entries. Returns the dropped files,
 * which the caller deletes from disk: they are out of the log first, so no reader is sent to a missing file.
 */
export async function compactLog(logFolder: string, batch: number, expireBefore: number): Promise<LoggedFile[]> {
  const snapshot = await readLog(logFolder);
  const files = filesOf(snapshot).filter((file) => file.batch <= batch);
  const kept = files.filter((file) => file.committedAt >= expireBefore);
  const expired = files.filter((file) => file.committedAt < expireBefore);
  const writers: CompactEntry["writers"] = { ...snapshot.compact?.writers };
  for (const entry of snapshot.entries) {
    if (entry.batch > batch || !entry.checkpointed) continue;
    writers[entry.writer] = { queryId: entry.queryId, lastEpoch: Math.max(entry.epoch, writers[entry.writer]?.lastEpoch ?? -1) };
  }
  const compact: CompactEntry = { version: 1, batch, writers, files: kept };
  await replaceFileAtomically(join(logFolder, `${batch}.compact`), `${JSON.stringify(compact)}\n`);
  const merged = snapshot.entries.filter((entry) => entry.batch <= batch).map((entry) => String(entry.batch));
  const previous = snapshot.compact ? [`${snapshot.compact.batch}.compact`] : [];
  await removeLogFiles(logFolder, [...merged, ...previous, ...snapshot.obsolete]);
  return expired;
}

export async function removeLogFiles(logFolder: string, names: readonly string[]): Promise<void> {
  await Promise.all(names.map((name) => rm(join(logFolder, name), { force: true })));
}

/** A JSON file this sink wrote, checked against its schema; a bad one is a RillError naming the file. */
export async function readJson<T>(file: string, schema: z.ZodType<T>): Promise<T> {
  const text = await readFile(file, "utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RillError("SINK_LOG", "internal", `The file sink's file '${file}' is not valid JSON (${(error as Error).message}). It is written atomically, so it was changed by hand or the disk lost it; restore it or move the output folder aside.`, { cause: error });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "unknown shape";
    throw new RillError("SINK_LOG", "internal", `The file sink's file '${file}' does not have the expected shape (${where}). Restore it or move the output folder aside.`, { cause: parsed.error });
  }
  return parsed.data;
}

/** Writes a file and flushes it to disk; returns its size in bytes. */
export async function writeFileDurably(file: string, data: string | Uint8Array): Promise<number> {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const handle = await open(file, "w");
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return bytes.byteLength;
}

/** Replaces `file` all at once: readers see the old content or the new, never a part. */
export async function replaceFileAtomically(file: string, data: string | Uint8Array): Promise<void> {
  const folder = dirname(file);
  const temporary = join(folder, `.${basename(file)}.tmp`);
  await writeFileDurably(temporary, data);
  await rename(temporary, file);
  await syncFolder(folder);
}

/** Makes renames and new names in `folder` durable. Platforms that cannot open a folder for fsync (Windows) rely on the OS. */
export async function syncFolder(folder: string): Promise<void> {
  let handle;
  try {
    handle = await open(folder, "r");
  } catch (error) {
    if (codeOf(error) === "EISDIR" || codeOf(error) === "EPERM") return; // Windows: folders cannot be opened; rename is durable there by NTFS journaling.
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (codeOf(error) !== "EINVAL" && codeOf(error) !== "EPERM") throw error; // EINVAL/EPERM: the file system does not sync folders; nothing more to do.
  } finally {
    await handle.close();
  }
}

export function isMissing(error: unknown): boolean {
  return codeOf(error) === "ENOENT";
}

function codeOf(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : undefined;
}
