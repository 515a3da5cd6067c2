// The driver's side of replicated state: it creates the query's bucket, writes each attempt's marker before placing
// its actors (the fence), and every `snapshotEvery` committed epochs compacts the store in the background.
import type { NatsTransport } from "../../actors/nats-transport.ts";
import { CheckpointError } from "../../core/errors.ts";
import { planCompaction, planRestore, type AttemptRef } from "./decisions.ts";
import { snapshotKey } from "./keys.ts";
import { StateStore } from "./kv-store.ts";
import { readCommittedState } from "./restore.ts";
import type { ReplicationSettings } from "./settings.ts";

export interface CompactionFigures {
  readonly epoch: number;
  readonly stages: number;
  readonly entries: number;
  readonly removed: number;
}

export class DriverReplica {
  private compaction: Promise<void> = Promise.resolve();
  private compacting = false;
  private lastSnapshot = -1;
  /** The attempt whose marker this driver stored last: a compaction's listings must show it (planRestore). */
  private current: AttemptRef | undefined;
  /** The last compaction, for progress and tests. */
  lastCompaction: CompactionFigures | undefined;

  private constructor(readonly store: StateStore, private readonly settings: ReplicationSettings, private readonly log: (message: string) => void) {}

  static async open(transport: NatsTransport, queryId: string, settings: ReplicationSettings, log: (message: string) => void): Promise<DriverReplica> {
    return new DriverReplica(await StateStore.open(transport, queryId, { create: { replicas: settings.replicas } }), settings, log);
  }

  /** Before an attempt's actors are placed: its changes are the ones that count for the epochs after `afterEpoch`. */
  async begin(runId: string, attempt: number, afterEpoch: number): Promise<void> {
    await this.store.putMarker(runId, attempt, afterEpoch);
    this.current = { runId, attempt };
  }

  /** After a commit: every `snapshotEvery` epochs, a compaction (one at a time; a failed one is logged and retried later). */
  committed(epoch: number): void {
    if (this.compacting || epoch - this.lastSnapshot < this.settings.snapshotEvery) return;
    this.compacting = true;
    this.compaction = this.compact(epoch).then(
      (figures) => {
        this.lastSnapshot = epoch;
        this.lastCompaction = figures;
      },
      (error: unknown) => this.log(`rill: compacting the replicated state at epoch ${epoch} failed (tried again after the next commits): ${error instanceof Error ? error.message : String(error)}`),
    ).finally(() => {
      this.compacting = false;
    });
  }

  /** Writes each stage's state as of `epoch` as one snapshot, then removes what it covers. */
  async compact(epoch: number): Promise<CompactionFigures> {
    const current = this.current;
    const listing = await this.store.listing();
    const stages = [...new Set(listing.deltas.map((delta) => delta.name.stage))];
    // A listing behind the bucket would make a snapshot without the changes it lacks, and then remove them.
    const plan = planRestore(listing, epoch, stages, current);
    if (plan.kind === "behind") throw new CheckpointError(`The replicated state in bucket '${this.store.bucket}' cannot be compacted at epoch ${epoch} now: ${plan.reason}.`);
    if (plan.kind === "damaged") throw new CheckpointError(`The replicated state in bucket '${this.store.bucket}' cannot be compacted at epoch ${epoch}: ${plan.reasons.join("; ")}.`);
    let entries = 0;
    let written = 0;
    for (const stage of plan.stages) {
      if (stage.deltas.length === 0) continue;
      const state = await readCommittedState(this.store, epoch, [stage.stage], current);
      await this.store.putObject(snapshotKey(stage.stage, epoch), state.entries);
      entries += state.entries.length;
      written++;
    }
    const removal = planCompaction(await this.store.listing(), epoch);
    await this.store.remove(removal.manifests, removal.rest);
    return { epoch, stages: written, entries, removed: removal.manifests.length + removal.rest.length };
  }

  /** Resolves once no compaction runs (a failed one is logged, never thrown). */
  async settled(): Promise<void> {
    await this.compaction;
  }

  async close(): Promise<void> {
    await this.compaction;
  }
}
