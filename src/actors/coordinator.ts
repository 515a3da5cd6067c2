// The coordinator: starts epochs, collects every actor's ack, and turns them into progress.
import { nowMs } from "../core/clock.ts";
import type { ReadLimit } from "../connectors/sources/source.ts";
import { RillError, SourceOffsetError, TransportError } from "../core/errors.ts";
import { describeOffset, findOffsetRegression, type OffsetOrder } from "../core/offsets.ts";
import { faultPoint } from "../core/fault-points.ts";
import { LatencyRecorder } from "../core/latency.ts";
import type { EpochParams } from "../core/param-values.ts";
import type { CheckpointStorage } from "../state/lmdb-storage.ts";
import { decodeControl, emptyStats, encodeControl, type ActorEpochStats } from "./control.ts";
import type { QuerySubjects } from "./subjects.ts";
import type { Subscription, Transport } from "./transport.ts";

export interface EpochReport {
  readonly epoch: number;
  readonly final: boolean;
  readonly requestedAt: number;
  readonly completedAt: number;
  /** Stats summed per stage (the part of an actor name before the partition). */
  readonly stages: ReadonlyMap<string, ActorEpochStats>;
  readonly sinkLatency: LatencyRecorder;
}

export interface CoordinatorEvents {
  onEpoch(report: EpochReport): void;
  /** `cause`: the typed error, when the coordinator has one (a source offset behind the committed one). */
  onFailure(actor: string, error: string, code: string, cause?: RillError): void;
}

/** How an epoch ended: `dataLeft` when a source's read limit held back data that existed when it was requested. */
export interface EpochOutcome {
  readonly dataLeft: boolean;
}

/** Where the coordinator gets the parameter values of the epoch after the one whose barrier it asks for (src/params). */
export interface EpochParamSource {
  next(endingEpoch: number): EpochParams;
}

interface OpenEpoch {
  readonly final: boolean;
  /** The parameter values of the epoch after this one: they travel with its barrier and are kept in its commit record. */
  readonly params: EpochParams | undefined;
  dataLeft: boolean;
  /** Source actor -> offset after the epoch's last row. */
  readonly offsets: Record<string, unknown>;
  /** Sinks yet to confirm their commit (checkpointed queries). */
  readonly uncommitted: Set<string>;
  readonly requestedAt: number;
  readonly waiting: Set<string>;
  readonly stages: Map<string, ActorEpochStats>;
  readonly latency: LatencyRecorder;
  readonly done: Promise<EpochOutcome>;
  resolve(outcome: EpochOutcome): void;
}

export class Coordinator {
  private nextEpoch = 0;
  /** Set once the final epoch is requested: the trigger starts none after it (the sources read nothing more). */
  private finalRequested = false;
  private completedEpoch = -1;
  /**
   * The oldest epoch not yet handed to the commit chain. Acks arrive in any order (an actor with nothing to write acks
   * epoch N+1 while its write for N is still running), but epochs are committed strictly in epoch order: a commit
   * record for N+1 may only exist if one for N does, or a crash between them would lose N behind N+1's offsets.
   */
  private nextToCommit = 0;
  private readonly open = new Map<number, OpenEpoch>();
  /** Each source's offset as of the last epoch handed to the commit chain (or restored): the next must not be behind. */
  private lastOffsets: Record<string, unknown> = {};
  private stopped = false;
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  /** Every sink row's latency since the query started. */
  readonly totalLatency = new LatencyRecorder();

  /** Commits run one after another, in epoch order. */
  private commitChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly transport: Transport,
    private readonly subjects: QuerySubjects,
    private readonly actors: readonly string[],
    private readonly sinks: readonly string[],
    private readonly events: CoordinatorEvents,
    private readonly storage: CheckpointStorage | undefined,
    private readonly epochTimeoutMs: number,
    /** How each source actor's offsets compare: an epoch whose acked offset is behind the one before never commits. */
    private readonly offsetOrders: ReadonlyMap<string, OffsetOrder> = new Map(),
    private readonly params?: EpochParamSource,
  ) {}

  /** On a restart from a checkpoint: the next epoch follows the last committed one, and its offsets follow `offsets`. */
  resumeAfter(epoch: number, offsets: Readonly<Record<string, unknown>> = {}): void {
    this.lastOffsets = { ...offsets };
    this.nextEpoch = epoch + 1;
    this.nextToCommit = epoch + 1;
    this.completedEpoch = epoch;
  }

  /** Subscribes to acks and failures; call before any actor can report. */
  listen(): void {
    this.subscription = this.transport.subscribe(this.subjects.coordinator, (payload) => this.receive(payload));
  }

  /** Starts an epoch every interval (none for once and availableNow). */
  startEpochs(intervalMs: number | undefined): void {
    if (intervalMs !== undefined) this.timer = setInterval(() => this.requestTriggeredEpoch(), intervalMs);
    this.watchdog = setInterval(() => this.checkStuckEpochs(), Math.min(1000, this.epochTimeoutMs / 4));
  }

  /**
   * A lost credit or barrier frame shows no gap to anyone: the epoch just never completes. An epoch open longer
   * than the timeout is a failure, so the query rolls back instead of waiting forever.
   */
  private checkStuckEpochs(): void {
    const now = nowMs();
    for (const [epoch, open] of this.open) {
      if (now - open.requestedAt < this.epochTimeoutMs) continue;
      const waiting = open.waiting.size > 0 ? [...open.waiting] : [...open.uncommitted];
      this.events.onFailure("coordinator", `epoch ${epoch} did not complete within ${this.epochTimeoutMs} ms; still waiting for ${waiting.join(", ")}`, "EPOCH_TIMEOUT");
      return;
    }
  }

  /** Stops starting epochs and waits for a commit already under way, so a rollback reads a settled checkpoint. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.subscription?.unsubscribe();
    this.stopped = true;
    for (const epoch of this.open.values()) epoch.resolve({ dataLeft: false });
    this.open.clear();
    await this.commitChain;
  }

  /** Settles when the commits handed to the chain so far have been written (or skipped after a stop or failure). */
  commitsUnderWay(): Promise<void> {
    return this.commitChain;
  }

  /** The last epoch asked for (-1 before the first): a handover checks that none was asked for after its final one. */
  get lastRequestedEpoch(): number {
    return this.nextEpoch - 1;
  }

  get lastCompletedEpoch(): number {
    return this.completedEpoch;
  }

  /** The trigger's next epoch, unless the final one was requested: no empty epoch follows a graceful stop's last one. */
  requestTriggeredEpoch(): void {
    if (!this.finalRequested) this.requestEpoch(false);
  }

  /**
   * Starts the next epoch now; resolves when it is complete. Sources read within their read limit per trigger,
   * or everything with readLimit "all" (trigger once).
   */
  requestEpoch(final: boolean, readLimit: ReadLimit = "limited"): { epoch: number; done: Promise<EpochOutcome> } {
    if (final) this.finalRequested = true;
    const epoch = this.nextEpoch++;
    let resolve = (_outcome: EpochOutcome): void => undefined;
    const done = new Promise<EpochOutcome>((settle) => {
      resolve = settle;
    });
    const params = this.params?.next(epoch);
    this.open.set(epoch, { final, params, dataLeft: false, offsets: {}, uncommitted: new Set(this.sinks), requestedAt: nowMs(), waiting: new Set(this.actors), stages: new Map(), latency: new LatencyRecorder(), done, resolve });
    this.transport.publish(this.subjects.control, encodeControl({ type: "barrier", epoch, final, readLimit, ...(params ? { params } : {}) }));
    return { epoch, done };
  }

  /**
   * Handles one message on the coordinator subject. A message the protocol's state does not allow (a failure or ack
   * from no actor of this query, an ack for an epoch that is not open or a second one) is thrown as a TransportError:
   * the transport counts and logs it as rejected, and it changes nothing. See "Control messages are checked against
   * the protocol's state" in ARCHITECTURE.md.
   */
  private receive(payload: Uint8Array): void {
    const message = decodeControl(payload);
    if (message.type === "failed") {
      // The coordinator's own failures never travel on the subject, so only the query's actors may report one.
      if (!this.actors.includes(message.actor)) throw new TransportError(`The coordinator rejected a 'failed' message from '${message.actor}', which is no actor of this query.`);
      this.events.onFailure(message.actor, message.error, message.code);
      return;
    }
    if (message.type === "committed") {
      if (!this.sinks.includes(message.actor)) throw new TransportError(`The coordinator rejected a 'committed' message from '${message.actor}', which is no sink of this query.`);
      const open = this.open.get(message.epoch);
      if (open?.uncommitted.delete(message.actor) && open.uncommitted.size === 0) this.complete(message.epoch, open);
      return;
    }
    if (message.type !== "ack") return;
    if (!this.actors.includes(message.actor)) throw new TransportError(`The coordinator rejected an ack from '${message.actor}', which is no actor of this query.`);
    const open = this.open.get(message.epoch);
    if (!open) {
      if (this.stopped) return;
      throw new TransportError(`The coordinator rejected an ack from ${message.actor} for epoch ${message.epoch}, which is not open.`);
    }
    if (!open.waiting.delete(message.actor)) throw new TransportError(`The coordinator rejected a second ack from ${message.actor} for epoch ${message.epoch}.`);
    if (message.sourceOffset !== undefined) open.offsets[message.actor] = message.sourceOffset;
    if (message.dataLeft === true) open.dataLeft = true;
    const stage = stageOf(message.actor);
    open.stages.set(stage, addStats(open.stages.get(stage) ?? emptyStats(), message.stats));
    if (message.stats.latencyHistogram) {
      open.latency.merge(message.stats.latencyHistogram);
      this.totalLatency.merge(message.stats.latencyHistogram);
    }
    if (open.waiting.size === 0) this.commitInOrder();
  }

  /** Hands every fully acked epoch to the commit chain, oldest first, stopping at the first one still waiting for acks. */
  private commitInOrder(): void {
    for (let open = this.open.get(this.nextToCommit); open && open.waiting.size === 0 && !this.stopped; open = this.open.get(this.nextToCommit)) {
      const epoch = this.nextToCommit++;
      if (!this.offsetsMoveForward(epoch, open)) return;
      if (this.storage) this.commit(this.storage, epoch, open);
      else this.complete(epoch, open);
    }
  }

  /**
   * Offsets only move forward (src/core/offsets.ts). An ack behind the previous epoch's offset is a forged ack or a bug:
   * nothing more commits, and the query fails with a SourceOffsetError naming the source and both offsets.
   */
  private offsetsMoveForward(epoch: number, open: OpenEpoch): boolean {
    const regression = findOffsetRegression(this.lastOffsets, open.offsets, this.offsetOrders);
    if (!regression) {
      this.lastOffsets = { ...this.lastOffsets, ...open.offsets };
      return true;
    }
    this.stopped = true;
    const { source, previous, acked } = regression;
    const error = new SourceOffsetError(
      `Source actor ${source} acked offset ${describeOffset(acked)} for epoch ${epoch}, behind offset ${describeOffset(previous)} of the epoch before: a source's offsets only move forward. ` +
        `This is a forged ack on the query's coordinator subject or a bug; nothing of epoch ${epoch} is committed and the query stops. Check who may publish on the query's subjects (README "Security").`,
      source,
    );
    this.events.onFailure("coordinator", error.message, error.code, error);
    return false;
  }

  /** Makes the epoch durable (one LMDB transaction), then tells the sinks to commit. Runs after every earlier commit. */
  private commit(storage: CheckpointStorage, epoch: number, open: OpenEpoch): void {
    this.commitChain = this.commitChain.then(async () => {
      if (this.stopped) return;
      faultPoint("before-commit");
      try {
        await storage.commit({ epoch, offsets: open.offsets, committedAt: new Date().toISOString(), ...(open.params ? { params: open.params } : {}) }, undefined, this.subjects.attempt);
      } catch (error) {
        this.stopped = true;
        this.events.onFailure("coordinator", `cannot commit epoch ${epoch} to ${storage.path}: ${String(error)}`, error instanceof RillError ? error.code : "CHECKPOINT");
        return;
      }
      faultPoint("after-commit");
      if (this.open.has(epoch)) this.transport.publish(this.subjects.control, encodeControl({ type: "commit", epoch }));
    });
  }

  private complete(epoch: number, open: OpenEpoch): void {
    this.open.delete(epoch);
    this.completedEpoch = Math.max(this.completedEpoch, epoch);
    open.resolve({ dataLeft: open.dataLeft });
    this.events.onEpoch({ epoch, final: open.final, requestedAt: open.requestedAt, completedAt: nowMs(), stages: open.stages, sinkLatency: open.latency });
  }
}

export function stageOf(actor: string): string {
  const dot = actor.lastIndexOf(".p");
  return dot < 0 ? actor : actor.slice(0, dot);
}

/** The smaller (or larger) of an optional figure in two acks, left out when neither has it. */
function extreme(field: "eventTimeMin" | "eventTimeMax", pick: (a: number, b: number) => number, total: ActorEpochStats, more: ActorEpochStats): Partial<ActorEpochStats> {
  const a = total[field];
  const b = more[field];
  if (a === undefined && b === undefined) return {};
  return { [field]: a === undefined ? b : b === undefined ? a : pick(a, b) };
}

function addStats(total: ActorEpochStats, more: ActorEpochStats): ActorEpochStats {
  return {
    rowsIn: total.rowsIn + more.rowsIn,
    rowsOut: total.rowsOut + more.rowsOut,
    framesIn: total.framesIn + more.framesIn,
    framesOut: total.framesOut + more.framesOut,
    creditWaits: total.creditWaits + more.creditWaits,
    deadLetters: total.deadLetters + more.deadLetters,
    stateRows: total.stateRows + more.stateRows,
    droppedByWatermark: total.droppedByWatermark + more.droppedByWatermark,
    rowsUpdated: total.rowsUpdated + more.rowsUpdated,
    rowsRemoved: total.rowsRemoved + more.rowsRemoved,
    droppedDuplicates: total.droppedDuplicates + more.droppedDuplicates,
    eventTimeCount: total.eventTimeCount + more.eventTimeCount,
    eventTimeSum: total.eventTimeSum + more.eventTimeSum,
    ...extreme("eventTimeMin", Math.min, total, more),
    ...extreme("eventTimeMax", Math.max, total, more),
    ...(more.watermark !== undefined || total.watermark !== undefined ? { watermark: Math.min(total.watermark ?? Number.POSITIVE_INFINITY, more.watermark ?? Number.POSITIVE_INFINITY) } : {}),
  };
}
