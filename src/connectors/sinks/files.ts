// Spark's file sink (json, csv, parquet): each epoch's rows go to a file out of sight, made visible on commit and listed in the sink's log.
//
// Layout of the output folder:
//   part-<epoch>-<writer>-0000.<ext>          committed files, each listed in the log
//   _temporary/<writer>/<epoch>-<attempt>/    an epoch prepared at its barrier by one query attempt: its files, then _prepared.json
//   _rill_sink_log/<batch>, <batch>.compact   the log of committed files (files-log.ts); readers use committedFiles(path)
// `<writer>` is derived from the query id when the query has a checkpoint (so a replay names its files the
// same), and random per run without one (so two runs never collide). `<attempt>` is the query attempt (run, rollback
// number, and sequence on the checkpoint): a commit moves only its own attempt's files, so a stalled attempt that
// resumes and prepares an epoch again writes beside the next attempt's files, never over them, and its open leaves a
// newer attempt's uncommitted folders alone. Append mode only, as Spark's file sink.
//
// @example
//   df.writeStream.format("parquet").option("path", "/data/out").option("checkpointLocation", "/data/cp").start()
//   for (const file of await committedFiles("/data/out")) ...
import { createHash, randomUUID } from "node:crypto";
import { mkdir, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { z } from "zod";
import { ConfigError, RillError } from "../../core/errors.ts";
import { faultPoint } from "../../core/fault-points.ts";
import type { Row } from "../../core/types.ts";
import { ConnectorOptions, ENGINE_SINK_OPTIONS } from "../options.ts";
import { encoderFactory, FILE_SINK_FORMATS, FORMAT_OPTIONS, type FileSinkFormat, type RowEncoder } from "./files-format.ts";
import { appendEntry, compactLog, fileSchema, isMissing, lastEpochOf, LOG_FOLDER, readJson, readLog, removeLogFiles, replaceFileAtomically, syncFolder, writeFileDurably } from "./files-log.ts";
import { attemptToken, committingPreparation, preparedBy, recoveryAction, removedAtOpen, sequenceOfToken, type PreparedBy } from "./prepared-epochs.ts";
import type { SinkContext, SinkProvider, SinkWriter } from "./sink.ts";
import type { SinkRequest } from "./request.ts";

export { committedFiles } from "./files-log.ts";
export { committingPreparation, recoveryAction, type RecoveryAction } from "./prepared-epochs.ts";
export type { FileSinkFormat } from "./files-format.ts";

export const TEMPORARY_FOLDER = "_temporary";
const MANIFEST = "_prepared.json";
const COMMON_OPTIONS = ["path", "compactInterval", "retention", ...ENGINE_SINK_OPTIONS];

export interface FileSinkEnvironment {
  /** Wall-clock milliseconds, stamped on each log entry and compared with `retention`; tests inject one. */
  readonly now?: () => number;
}

interface FileSinkSettings {
  readonly format: FileSinkFormat;
  readonly folder: string;
  readonly compactInterval: number;
  readonly retentionMs: number;
  readonly newEncoder: () => RowEncoder;
  readonly now: () => number;
}

/** What an epoch's barrier prepared: written last into its temporary folder, so its presence means the files are complete. */
const manifestSchema = z.object({
  epoch: z.number().int().nonnegative(),
  files: z.array(fileSchema),
  /** Who prepared it (absent in folders of a Rill before attempts): the run, its rollback number, where it resumed, when it opened, its sequence on the checkpoint (absent before decision 78). */
  attempt: z.object({ runId: z.string(), number: z.number().int().nonnegative(), resumedAfter: z.number().int(), openedAt: z.number(), sequence: z.number().int().nonnegative().optional() }).optional(),
});
type Manifest = z.infer<typeof manifestSchema>;

export class FileSinkProvider implements SinkProvider {
  readonly format: FileSinkFormat;
  /** Files are visible only once their epoch commits, and a replayed commit adds nothing: exactly-once with a checkpoint. */
  readonly guarantee = "transactional" as const;
  readonly description: string;
  private readonly settings: FileSinkSettings;

  constructor(request: SinkRequest, environment: FileSinkEnvironment = {}) {
    const format = FILE_SINK_FORMATS.find((candidate) => candidate === request.format.toLowerCase());
    if (!format) throw new ConfigError(`FileSinkProvider writes ${FILE_SINK_FORMATS.join(", ")}, not '${request.format}'.`);
    this.format = format;
    const options = new ConnectorOptions(`the ${format} sink`, request.options, [...COMMON_OPTIONS, ...FORMAT_OPTIONS[format]]);
    if (request.path !== undefined && options.has("path") && resolve(request.path) !== resolve(options.string("path") ?? "")) {
      throw new ConfigError(`The file sink got two paths: .option('path', '${options.string("path")}') and .start('${request.path}'). Give one.`);
    }
    const path = request.path ?? options.string("path");
    if (path === undefined || path.trim() === "") throw new ConfigError("The file sink needs a path: .option('path', dir) or .start(dir)");
    this.settings = {
      format,
      folder: resolve(path),
      compactInterval: options.number("compactInterval", 10, { min: 1, integer: true }),
      retentionMs: options.duration("retention", Number.POSITIVE_INFINITY, 1),
      newEncoder: encoderFactory(format, options),
      now: environment.now ?? Date.now,
    };
    this.description = `FileSink[${format}, ${this.settings.folder}]`;
  }

  createWriter(): SinkWriter {
    return new FileSinkWriter(this.settings);
  }
}

/** A prepared folder's name: `<epoch>-<attempt token>`, or `<epoch>` from a Rill before attempts. */
function preparedFolderOf(name: string): { readonly epoch: number; readonly token: string | undefined } | undefined {
  const match = /^(\d+)(?:-([A-Za-z0-9_]+))?$/.exec(name);
  return match ? { epoch: Number(match[1]), token: match[2] } : undefined;
}

class FileSinkWriter implements SinkWriter {
  private readonly logFolder: string;
  private writer = "";
  private queryId = "";
  private checkpointed = false;
  private temporaryFolder = "";
  private lastLoggedEpoch = -1;
  /** The last committed epoch at open(): recovery finished every epoch prepared up to it. */
  private recoveredThrough = -1;
  private nextBatch = 0;
  /** This attempt, stamped on each manifest; its token names the prepared folders. */
  private attempt: PreparedBy = { runId: "", number: 0, resumedAfter: -1, openedAt: 0 };
  private attemptToken = "";
  private readonly prepared = new Map<number, Manifest>();
  private readonly encoder: RowEncoder;

  constructor(private readonly settings: FileSinkSettings) {
    this.logFolder = join(settings.folder, LOG_FOLDER);
    this.encoder = settings.newEncoder();
  }

  async open(context: SinkContext): Promise<void> {
    if (context.outputMode !== "append") {
      throw new ConfigError(`The file sink supports only append output mode, as Spark's does; the query uses ${context.outputMode} mode (${this.settings.folder}). Use .outputMode("append"), or foreachBatch to write each epoch's result yourself.`);
    }
    await this.encoder.load?.();
    this.checkpointed = context.checkpointed;
    this.queryId = context.queryId;
    this.recoveredThrough = context.lastCommittedEpoch;
    this.writer = context.checkpointed ? createHash("sha256").update(context.queryId).digest("hex").slice(0, 12) : randomUUID().replaceAll("-", "").slice(0, 12);
    this.temporaryFolder = join(this.settings.folder, TEMPORARY_FOLDER, this.writer);
    this.attempt = preparedBy(context.attempt, context.lastCommittedEpoch, this.settings.now(), randomUUID);
    this.attemptToken = attemptToken(this.attempt);
    await this.io("create the output folder", async () => {
      await checkFolder(this.settings.folder);
      await mkdir(this.logFolder, { recursive: true });
      const snapshot = await readLog(this.logFolder);
      await removeLogFiles(this.logFolder, snapshot.obsolete);
      this.nextBatch = snapshot.nextBatch;
      this.lastLoggedEpoch = context.checkpointed ? lastEpochOf(snapshot, this.writer) : -1;
    });
    await this.io("recover the epochs prepared before a restart", () => this.recover(context.lastCommittedEpoch));
  }

  async endEpoch(epoch: number, rows: readonly Row[]): Promise<void> {
    if (epoch <= this.lastLoggedEpoch) return; // a replay of an epoch the log already has: its commit will add nothing
    // An empty epoch prepares nothing on disk: a crash before its commit loses only its empty log entry.
    if (rows.length === 0) {
      this.prepared.set(epoch, { epoch, files: [] });
      return;
    }
    await this.io(`prepare epoch ${epoch}`, async () => {
      const folder = this.preparedFolder(epoch);
      await rm(folder, { recursive: true, force: true });
      await mkdir(folder, { recursive: true });
      const name = `part-${String(epoch).padStart(8, "0")}-${this.writer}-0000.${this.encoder.extension}`;
      const bytes = await writeFileDurably(join(folder, name), this.encoder.encode(rows));
      const manifest: Manifest = { epoch, files: [{ path: name, rows: rows.length, bytes }], attempt: this.attempt };
      await replaceFileAtomically(join(folder, MANIFEST), JSON.stringify(manifest));
      this.prepared.set(epoch, manifest);
    });
  }

  async commitEpoch(epoch: number): Promise<void> {
    await this.io(`commit epoch ${epoch}`, async () => {
      if (epoch <= this.lastLoggedEpoch) {
        await rm(this.preparedFolder(epoch), { recursive: true, force: true });
        return;
      }
      // Only this attempt's own preparation: another attempt's folder of the same epoch is never committed from here.
      const manifest = this.prepared.get(epoch) ?? (await this.readManifest(this.preparedFolder(epoch), epoch));
      // A commit replayed after a restart for an epoch open() already recovered, or that was empty: nothing is left to do.
      if (!manifest && epoch <= this.recoveredThrough) return;
      if (!manifest) {
        throw new RillError("SINK_COMMIT", "internal", `The file sink at ${this.settings.folder} was asked to commit epoch ${epoch}, which it never prepared (no ${join(this.preparedFolder(epoch), MANIFEST)}).`);
      }
      await this.finish(manifest, this.preparedFolder(epoch));
    });
  }

  async close(): Promise<void> {
    if (this.temporaryFolder === "") return; // never opened
    // Leave no empty folders behind; a folder still holding a prepared epoch stays for the next start's recovery.
    await this.io("remove its empty temporary folders", async () => {
      for (const folder of [this.temporaryFolder, join(this.settings.folder, TEMPORARY_FOLDER)]) {
        try {
          await rmdir(folder);
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code !== "ENOENT" && code !== "ENOTEMPTY" && code !== "EEXIST") throw error; // missing or still in use: keep it
        }
      }
    });
  }

  /** Moves an epoch's files into view, logs them (the commit point for readers), then compacts when due. */
  private async finish(manifest: Manifest, folder: string): Promise<void> {
    for (const file of manifest.files) await this.moveIntoView(join(folder, file.path), join(this.settings.folder, file.path));
    if (manifest.files.length > 0) await syncFolder(this.settings.folder);
    faultPoint("file-sink-commit");
    const batch = this.nextBatch;
    await appendEntry(this.logFolder, {
      version: 1,
      batch,
      writer: this.writer,
      queryId: this.queryId,
      checkpointed: this.checkpointed,
      epoch: manifest.epoch,
      committedAt: this.settings.now(),
      files: manifest.files,
    });
    this.nextBatch = batch + 1;
    this.lastLoggedEpoch = manifest.epoch;
    this.prepared.delete(manifest.epoch);
    await rm(folder, { recursive: true, force: true });
    if ((batch + 1) % this.settings.compactInterval === 0) await this.compact(batch);
  }

  /** A rename that a crash may already have done: the target in place and the source gone is success. */
  private async moveIntoView(from: string, to: string): Promise<void> {
    try {
      await rename(from, to);
    } catch (error) {
      if (!isMissing(error) || !(await exists(to))) throw error;
    }
  }

  private async compact(batch: number): Promise<void> {
    const expireBefore = this.settings.now() - this.settings.retentionMs;
    const expired = await compactLog(this.logFolder, batch, expireBefore);
    await Promise.all(expired.map((file) => rm(join(this.settings.folder, file.path), { force: true })));
  }

  /**
   * Each epoch prepared under this writer, by any attempt: discarded or cleaned as `recoveryAction` says, or, committed
   * but not logged, finished from the committing attempt's preparation; the other attempts' folders of it are removed.
   * An uncommitted epoch's folder of a newer attempt (this one stalled before its open) is that attempt's: `removedAtOpen`.
   */
  private async recover(lastCommittedEpoch: number): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.temporaryFolder);
    } catch (error) {
      if (isMissing(error)) return; // nothing was ever prepared by this writer
      throw error;
    }
    const byEpoch = new Map<number, string[]>();
    for (const name of names) {
      const parsed = preparedFolderOf(name);
      if (parsed) byEpoch.set(parsed.epoch, [...(byEpoch.get(parsed.epoch) ?? []), join(this.temporaryFolder, name)]);
    }
    for (const epoch of [...byEpoch.keys()].sort((a, b) => a - b)) {
      const folders = byEpoch.get(epoch) ?? [];
      const action = recoveryAction(epoch, lastCommittedEpoch, this.lastLoggedEpoch);
      if (action === "finish") {
        const candidates: Array<{ folder: string; manifest: Manifest; attempt?: PreparedBy | undefined }> = [];
        for (const folder of folders) {
          const manifest = await this.readManifest(folder, epoch);
          if (manifest) candidates.push({ folder, manifest, attempt: manifest.attempt });
        }
        const chosen = committingPreparation(candidates);
        if (!chosen) {
          throw new RillError("SINK_RECOVERY", "internal", `The file sink at ${this.settings.folder} cannot finish epoch ${epoch}: the checkpoint has it committed, but its prepared files are incomplete (no ${MANIFEST} in ${folders.join(", ")}).`);
        }
        await this.finish(chosen.manifest, chosen.folder);
      }
      for (const folder of folders) {
        if (removedAtOpen(action, sequenceOfToken(preparedFolderOf(basename(folder))?.token), this.attempt.sequence)) await rm(folder, { recursive: true, force: true });
      }
    }
  }

  private preparedFolder(epoch: number): string {
    return join(this.temporaryFolder, `${epoch}-${this.attemptToken}`);
  }

  private async readManifest(folder: string, epoch: number): Promise<Manifest | undefined> {
    const file = join(folder, MANIFEST);
    let manifest: Manifest;
    try {
      manifest = await readJson(file, manifestSchema);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    if (manifest.epoch !== epoch) throw new RillError("SINK_RECOVERY", "internal", `The prepared-epoch file ${file} describes epoch ${manifest.epoch}, not ${epoch}.`);
    return manifest;
  }

  /** Runs an I/O step; a file-system error becomes a RillError naming the sink's folder and the step. */
  private async io(step: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      if (error instanceof RillError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new RillError("SINK_IO", "external", `The ${this.settings.format} file sink at ${this.settings.folder} could not ${step}: ${message}`, { cause: error, retryable: true });
    }
  }
}

/** The output path must be a folder or not exist yet. */
async function checkFolder(folder: string): Promise<void> {
  try {
    const info = await stat(folder);
    if (!info.isDirectory()) throw new ConfigError(`The file sink's path '${folder}' is a file; it must be a folder (created if missing).`);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  await mkdir(folder, { recursive: true });
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}
