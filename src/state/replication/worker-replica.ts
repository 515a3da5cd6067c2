// A worker's side of replicated state: its local LMDB (one per attempt) is filled from the replica before the actors
// start, and every epoch's changes are uploaded, under the attempt's name, before the actor acks the barrier.
import type { CheckpointStorage, EpochReplica } from "../lmdb-storage.ts";
import { actorParts, deltaKey, token } from "./keys.ts";
import type { StateStore } from "./kv-store.ts";
import type { StoredEntry } from "./payload.ts";
import { readCommittedState } from "./restore.ts";

export class AttemptReplica implements EpochReplica {
  /** Bytes uploaded so far (payloads, before chunking). */
  uploadedBytes = 0;

  constructor(private readonly store: StateStore, private readonly runId: string, private readonly attempt: number) {}

  async upload(epoch: number, writer: string, changes: readonly StoredEntry[]): Promise<void> {
    const { stage, partition } = actorParts(writer);
    this.uploadedBytes += await this.store.putObject(deltaKey(stage, partition, epoch, this.runId, this.attempt), changes);
  }
}

/**
 * Before an attempt's actors start on this worker: its local LMDB gets the committed state of their stages (nothing
 * on a fresh start), and from then on uploads their changes. Returns how many state entries it installed, from how
 * many objects (snapshots and deltas) of the replica.
 */
export async function prepareAttemptState(storage: CheckpointStorage, store: StateStore, run: { readonly runId: string; readonly attempt: number; readonly actors: readonly string[]; readonly lastCommittedEpoch: number | undefined }): Promise<{ entries: number; objects: number }> {
  const stages = [...new Set(run.actors.map((actor) => token(actorParts(actor).stage)))];
  const restored = run.lastCommittedEpoch === undefined ? { entries: [], objects: 0 } : await readCommittedState(store, run.lastCommittedEpoch, stages, run);
  await storage.installState(restored.entries);
  storage.refresh();
  storage.replicateTo(new AttemptReplica(store, run.runId, run.attempt));
  return { entries: restored.entries.length, objects: restored.objects };
}
