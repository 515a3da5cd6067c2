// The folder where a sink keeps each epoch's rows, prepared at the barrier, until it has finished the epoch after its
// commit (the transactional JetStream sink, foreachBatch with a checkpoint location): the files, their durability, and
// the recovery at open(). Which preparation and which action win is decided in prepared-epochs.ts.
//
// Layout: `<epoch, 12 digits>-<attempt token>.msgpack` per epoch and attempt (`<epoch>.msgpack` from a Rill before
// attempts), and one record file naming the last epoch the sink finished (`{ "epoch": N }`). Every file is written to
// `.tmp`, fsync'd and renamed, and the folder is fsync'd after the rename, so a crash of the machine cannot lose a
// rename the sink has already acted on.
import { mkdir, open, readFile, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { pack, unpack } from "msgpackr";
import type { Row } from "../../core/types.ts";
import { attemptToken, committingPreparation, recoveryAction, removedAtOpen, sequenceOfToken, type PreparedBy } from "./prepared-epochs.ts";

/** A preparation's attempt (undefined from a Rill before attempts) and rows. */
export interface Preparation {
  readonly attempt: PreparedBy | undefined;
  readonly rows: readonly Row[];
}

/** A prepared epoch's file name: its epoch and attempt token (undefined: a Rill before attempts). */
function preparedFileOf(name: string): { readonly epoch: number; readonly token: string | undefined } | undefined {
  const match = /^(\d{12})(?:-([A-Za-z0-9_]+))?\.msgpack$/.exec(name);
  return match ? { epoch: Number(match[1]), token: match[2] } : undefined;
}

const epochStem = (epoch: number): string => String(epoch).padStart(12, "0");

export class PreparedFolder {
  /** The last epoch the sink finished (-1 when none), as the record file says. */
  lastFinishedEpoch = -1;

  private constructor(readonly path: string, private readonly recordName: string) {}

  /** Creates the folder when missing and reads its record (`recordName`, e.g. `_published.json`). */
  static async open(path: string, recordName: string): Promise<PreparedFolder> {
    await mkdir(path, { recursive: true });
    const folder = new PreparedFolder(path, recordName);
    folder.lastFinishedEpoch = await folder.readRecord();
    return folder;
  }

  /** Writes the epoch's rows as `attempt` prepared them, durably (file and folder synced). */
  async prepare(epoch: number, attempt: PreparedBy, rows: readonly Row[]): Promise<void> {
    await this.writeDurably(`${epochStem(epoch)}-${attemptToken(attempt)}.msgpack`, pack({ attempt, rows }));
  }

  /**
   * What open() does: every preparation of an epoch already finished is removed, and of an epoch not committed those
   * of attempts older than the opening writer's (`ownSequence`; a newer attempt's is its own to commit or discard,
   * decision 79: removedAtOpen); each committed epoch the record lacks is handed to `finish` (in epoch order) with the
   * rows of the committing attempt's preparation.
   */
  async recover(lastCommittedEpoch: number, ownSequence: number | undefined, finish: (epoch: number, rows: readonly Row[]) => Promise<void>): Promise<void> {
    for (const [epoch, names] of await this.preparationsByEpoch()) {
      const action = recoveryAction(epoch, lastCommittedEpoch, this.lastFinishedEpoch);
      if (action !== "finish") {
        await this.removeNames(names.filter((name) => removedAtOpen(action, sequenceOfToken(preparedFileOf(name)?.token), ownSequence)));
        continue;
      }
      const candidates = await Promise.all(names.map(async (name) => ({ name, ...readPreparation(await readFile(join(this.path, name))) })));
      const chosen = committingPreparation(candidates);
      if (chosen !== undefined) await finish(epoch, chosen.rows);
    }
  }

  /** Records `epoch` as finished (when it is past the record) durably, then removes its preparations, every attempt's. */
  async finished(epoch: number, afterRecord?: () => void): Promise<void> {
    if (epoch > this.lastFinishedEpoch) {
      await this.writeDurably(this.recordName, JSON.stringify({ epoch }));
      this.lastFinishedEpoch = epoch;
    }
    afterRecord?.();
    const stem = epochStem(epoch);
    await this.removeNames((await readdir(this.path)).filter((name) => preparedFileOf(name)?.epoch === epoch || (name.startsWith(stem) && name.endsWith(".tmp"))));
  }

  /** Preparation file names by epoch, in epoch order. */
  private async preparationsByEpoch(): Promise<Array<[number, string[]]>> {
    const byEpoch = new Map<number, string[]>();
    for (const name of await readdir(this.path)) {
      const file = preparedFileOf(name);
      if (file !== undefined) byEpoch.set(file.epoch, [...(byEpoch.get(file.epoch) ?? []), name]);
    }
    return [...byEpoch].sort(([a], [b]) => a - b);
  }

  private async removeNames(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((name) => rm(join(this.path, name), { force: true })));
  }

  private async readRecord(): Promise<number> {
    try {
      const { epoch } = JSON.parse(await readFile(join(this.path, this.recordName), "utf8")) as { epoch: number };
      return epoch;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return -1;
      throw error;
    }
  }

  /** A temporary file synced, renamed into place, and the folder synced so the rename itself survives a power loss. */
  private async writeDurably(name: string, content: Uint8Array | string): Promise<void> {
    const file = join(this.path, name);
    const handle = await open(`${file}.tmp`, "w");
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(`${file}.tmp`, file);
    const folder = await open(this.path, "r");
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  }
}

/** A prepared file's attempt and rows; a file of a Rill before attempts holds the rows alone. */
function readPreparation(bytes: Buffer): Preparation {
  const value = unpack(bytes) as unknown;
  if (Array.isArray(value)) return { attempt: undefined, rows: value as Row[] };
  const { attempt, rows } = value as { attempt: PreparedBy; rows: Row[] };
  return { attempt, rows };
}
