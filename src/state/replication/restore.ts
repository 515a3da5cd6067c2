// Reads the committed state of some stages from the replicated store: the plan (decisions.ts), then its objects,
// folded oldest first into one entry per state key.
import { CheckpointError } from "../../core/errors.ts";
import { planRestore, type AttemptRef, type StageRestore } from "./decisions.ts";
import type { StateStore } from "./kv-store.ts";
import type { StoredEntry } from "./payload.ts";

/** A compaction may remove an object (or a marker) between the listing and its read: the restore lists again, this often. */
const ATTEMPTS = 4;

export interface RestoredState {
  /** Entries with a value (removed keys left out). */
  readonly entries: Array<StoredEntry & { readonly bytes: Uint8Array }>;
  /** Objects read: snapshots and deltas. */
  readonly objects: number;
}

/**
 * A listing behind the bucket (its consumer on a replica still catching up after a NATS node was lost) is asked for
 * again this often, `BEHIND_PAUSE_MS` times the count apart (about 10 s in all), before the restore gives up: the
 * placement then fails and the query rolls back and retries, as on any failed read.
 */
const BEHIND_LISTINGS = 8;
const BEHIND_PAUSE_MS = 350;

/**
 * The state of `stages` as of `committedEpoch`. `reader`: the attempt the state is read for (its marker was stored
 * before it asks): a listing that does not show that marker is not used (planRestore).
 */
export async function readCommittedState(store: StateStore, committedEpoch: number, stages: readonly string[], reader?: AttemptRef): Promise<RestoredState> {
  let behind = 0;
  for (let attempt = 1; ; attempt++) {
    const plan = planRestore(await store.listing(), committedEpoch, stages, reader);
    if (plan.kind === "behind") {
      if (++behind >= BEHIND_LISTINGS) throw new CheckpointError(`The replicated state in bucket '${store.bucket}' cannot give epoch ${committedEpoch}: ${plan.reason} (${BEHIND_LISTINGS} listings).`);
      attempt--;
      await new Promise((resolve) => setTimeout(resolve, BEHIND_PAUSE_MS * behind));
      continue;
    }
    // A listing is keys, then each marker read: a compaction in between (it removes markers, and wrote a snapshot
    // after the keys were listed) looks like damage. Listed again; damage that stays is damage.
    if (plan.kind === "damaged" && attempt < ATTEMPTS) continue;
    if (plan.kind === "damaged") throw new CheckpointError(`The replicated state in bucket '${store.bucket}' cannot give epoch ${committedEpoch}: ${plan.reasons.join("; ")}.`);
    const folded = new Map<string, StoredEntry>();
    let objects = 0;
    let complete = true;
    for (const stage of plan.stages) {
      const read = await readStage(store, stage, folded);
      if (read < 0) complete = false;
      else objects += read;
      if (!complete) break;
    }
    if (complete) return { entries: [...folded.values()].filter((entry): entry is StoredEntry & { bytes: Uint8Array } => entry.bytes !== null), objects };
    if (attempt >= ATTEMPTS) throw new CheckpointError(`The replicated state in bucket '${store.bucket}' kept changing under a restore of epoch ${committedEpoch} (${ATTEMPTS} listings): objects it listed were gone when read.`);
  }
}

/** Folds one stage's snapshot and deltas in; the number of objects read, or -1 when one was removed meanwhile. */
async function readStage(store: StateStore, stage: StageRestore, folded: Map<string, StoredEntry>): Promise<number> {
  const keys = [...(stage.snapshot ? [stage.snapshot.key] : []), ...stage.deltas.map((delta) => delta.key)];
  for (const key of keys) {
    const entries = await store.readObject(key);
    if (!entries) return -1;
    for (const entry of entries) folded.set(`${entry.stateId}\u0000${entry.keyGroup}\u0000${entry.key}`, entry);
  }
  return keys.length;
}
