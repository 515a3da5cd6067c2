// Opening a checkpoint location for a query: a new one starts clean, an existing one resumes or is refused with the reason.
import { randomUUID } from "node:crypto";
import { CheckpointError } from "../core/errors.ts";
import { faultPoint } from "../core/fault-points.ts";
import { loadCheckpointStorage } from "../state/load-lmdb.ts";
import type { CheckpointStorage } from "../state/lmdb-storage.ts";
import { decideRecovery } from "../state/protocol.ts";
import { STATE_FORMAT } from "../state/value-codec.ts";
import type { QueryMeta, RecordedParams, StatefulOperatorInfo } from "../state/types.ts";

export interface ResumePoint {
  readonly lastCommittedEpoch: number;
  readonly offsets: Readonly<Record<string, unknown>>;
  /** The parameter values recorded for the epoch after the last committed one (src/params/epochs.ts decides from them). */
  readonly params?: { readonly committed: RecordedParams | undefined; readonly firstEpoch: RecordedParams | undefined };
}

export interface OpenedCheckpoint {
  readonly storage: CheckpointStorage;
  readonly location: string;
  readonly id: string;
  /** Undefined for a new location. */
  readonly resume: ResumePoint | undefined;
}

export interface CheckpointQuery {
  readonly name: string | undefined;
  readonly sources: readonly string[];
  /** What each source actor reads, where its source says (physical.ts sourceIdentities). */
  readonly sourceIdentities?: Readonly<Record<string, string>>;
  readonly stateful: readonly StatefulOperatorInfo[];
  readonly outputMode: string;
  /** The parameter values a fresh query's first epoch runs with, kept in its metadata. */
  readonly params?: RecordedParams | undefined;
}

export async function openCheckpoint(location: string, query: CheckpointQuery): Promise<OpenedCheckpoint> {
  const { CheckpointStorage } = await loadCheckpointStorage();
  const storage = CheckpointStorage.open(location);
  try {
    const committedEpochs = storage.commits().map((commit) => commit.epoch);
    const meta = storage.readMeta();
    const decision = decideRecovery({ meta, lastCommit: storage.lastCommit(), committedEpochs, pendingEpochs: storage.pendingEpochs(), current: query });
    if (decision.kind === "damaged") {
      throw new CheckpointError(`The checkpoint at '${location}' is damaged: ${decision.reasons.join("; ")}. Resuming from it could lose or repeat records; restore the location from a backup, or start the query with a new checkpoint location (its state then starts empty).`);
    }
    if (decision.kind === "refuse") {
      throw new CheckpointError(`The checkpoint at '${location}' belongs to a query that cannot continue as this one: ${decision.reasons.join("; ")}. Undo the change, or start this query with a new checkpoint location (its state then starts empty).`);
    }
    if (decision.kind === "fresh") {
      const id = randomUUID();
      await storage.writeMeta({ id, name: query.name ?? null, createdAt: new Date().toISOString(), sources: query.sources, ...(query.sourceIdentities && Object.keys(query.sourceIdentities).length > 0 ? { sourceIdentities: query.sourceIdentities } : {}), stateful: query.stateful, outputMode: query.outputMode, stateFormat: STATE_FORMAT, ...(query.params ? { firstParams: query.params } : {}) });
      return { storage, location, id, resume: undefined };
    }
    faultPoint("recovery");
    await storage.discardAfter(decision.lastCommittedEpoch);
    if (meta) await upgradeStateFormat(storage, meta, location);
    return { storage, location, id: decision.id, resume: { lastCommittedEpoch: decision.lastCommittedEpoch, offsets: decision.offsets, ...recordedParams(storage.lastCommit()?.params, meta?.firstParams) } };
  } catch (error) {
    await storage.close();
    throw error;
  }
}

/**
 * A checkpoint written before state checksums is upgraded in place (one transaction); one written by a newer Rill,
 * in a format this one cannot check, is refused.
 */
async function upgradeStateFormat(storage: CheckpointStorage, meta: QueryMeta, location: string): Promise<void> {
  if (meta.stateFormat === STATE_FORMAT) return;
  if (meta.stateFormat !== undefined) {
    throw new CheckpointError(`The checkpoint at '${location}' stores its state in format ${String(meta.stateFormat)}, which this version of Rill cannot read (it reads format ${STATE_FORMAT}). Run it with the Rill that wrote it, or start the query with a new checkpoint location (its state then starts empty).`);
  }
  await storage.upgradeStateFormat(meta);
}

/**
 * The resume point after a failure inside a running query: the last committed epoch. The next attempt's start removes
 * the uncommitted changes, in the transaction that takes the checkpoint's fence (`CheckpointStorage.beginAttempt`): a
 * removal here could land after another driver took the checkpoint over and remove that driver's changes.
 */
export async function rollbackPoint(storage: CheckpointStorage): Promise<ResumePoint> {
  const last = storage.lastCommit();
  const lastCommittedEpoch = last?.epoch ?? -1;
  return { lastCommittedEpoch, offsets: last?.offsets ?? {}, ...recordedParams(last?.params, storage.readMeta()?.firstParams) };
}

/** The parameter values a checkpoint recorded for the epoch a run resumes at (src/params), when it recorded any. */
function recordedParams(committed: RecordedParams | undefined, firstEpoch: RecordedParams | undefined): Pick<ResumePoint, "params"> {
  return committed === undefined && firstEpoch === undefined ? {} : { params: { committed, firstEpoch } };
}
