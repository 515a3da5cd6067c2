// StreamingQuery: the handle of a running query (status, progress, awaitTermination, processAllAvailable, stop).
import type { FlowControl } from "../actors/channel.ts";
import type { EpochReport } from "../actors/coordinator.ts";
import { QueryRuntime, type ExecutionGraph, type Placement } from "../actors/runtime.ts";
import { querySubjects, type QuerySubjects } from "../actors/subjects.ts";
import type { Transport } from "../actors/transport.ts";
import { nowMs, type Clock } from "../core/clock.ts";
import { StreamingQueryError, WorkerError } from "../core/errors.ts";
import type { LatencyPercentiles } from "../core/latency.ts";
import type { AnalyzedPlan } from "../plan/analyzer.ts";
import { describeGraph } from "../plan/physical.ts";
import { buildProgress, formatProgress, type ParameterProgress, type StreamingQueryProgress } from "./progress.ts";
import type { QueryEventSink } from "./listener.ts";
import type { AttemptId } from "../state/fence.ts";
import { rollbackPoint, type OpenedCheckpoint, type ResumePoint } from "./checkpoint.ts";
import { attemptOfInterruption, decideFailure, type FailureKind } from "./failure-decision.ts";
import type { Logger } from "./session.ts";
import type { ResolvedTrigger } from "./trigger.ts";
import type { QueryParams } from "../params/query-params.ts";
import type { WorkerDeployment } from "../workers/deployment.ts";
import type { PlacementTemplate } from "../workers/placement.ts";
import type { WorkerPlacement } from "../workers/placement.ts";
import type { DeadLetterOutputStatus } from "../deadletters/output.ts";
import type { DriverReplica } from "../state/replication/driver-replica.ts";
import { workerProgress } from "../workers/progress.ts";
import { afterStep, joinWantsHandover, leaveDecision, startDecision, type StepOutcome } from "../workers/handover.ts";

/** A query spread over workers (`rill.workers`): where to place it and what each worker is told. */
export interface QueryWorkers {
  readonly deployment: WorkerDeployment;
  readonly graph: ExecutionGraph;
  readonly template: Omit<PlacementTemplate, "fingerprint" | "plan" | "attempt" | "driver" | "driverTimeoutMs">;
  /** With rill.state.replication: the query's replicated state (each attempt's marker, compaction). */
  readonly replica?: DriverReplica | undefined;
}

export interface StreamingQueryStatus {
  readonly message: string;
  readonly isDataAvailable: boolean;
  readonly isTriggerActive: boolean;
  /** Records that failed to parse or to match the schema, sent to the dead-letter output. */
  readonly numDeadLetters: number;
  readonly numInputRows: number;
  /** Where the letters go and what is still to publish: a letter the stream refuses (full) waits there, retried, never dropped. */
  readonly deadLetterOutput: DeadLetterOutputStatus;
}

export interface QuerySetup {
  readonly id: string;
  readonly runId: string;
  readonly name: string | undefined;
  readonly plan: AnalyzedPlan;
  readonly graph: ExecutionGraph;
  readonly trigger: ResolvedTrigger;
  readonly transport: Transport;
  /** The subjects of the first attempt of the run. */
  readonly subjects: QuerySubjects;
  /** The subjects of the attempt after the n-th rollback: a failed attempt's late frames reach no one. */
  readonly subjectsOf?: (attempt: number) => QuerySubjects;
  readonly flow: FlowControl;
  readonly log: Logger;
  /** Present with a checkpoint location: state and offsets are committed each epoch, failures roll back. */
  readonly checkpoint: OpenedCheckpoint | undefined;
  /** Rollbacks to the last committed epoch before the query fails for good. */
  readonly maxRetries: number;
  readonly epochTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly lateDataSubject: string | undefined;
  /** Processing time for triggers and timeouts (the system clock, or a test's ManualClock). */
  readonly clock: Clock;
  /** Where lifecycle events go (the session's listeners). */
  readonly events: QueryEventSink;
  /** Present with `rill.workers` other than local: every actor runs on a worker (a memory source stays here). */
  readonly workers?: QueryWorkers | undefined;
  /** Present when the query uses param(): the values of each epoch (src/params). */
  readonly params?: QueryParams | undefined;
}

const RECENT_PROGRESS = 100;

export class StreamingQuery {
  readonly id: string;
  readonly runId: string;
  readonly name: string | undefined;
  private runtime: QueryRuntime;
  /** The subjects of the current attempt: new ones after each rollback. */
  private subjects: QuerySubjects;
  /** Rollbacks since the last epoch that committed: the bound applies to consecutive failures. */
  private retries = 0;
  /** Rollbacks in a row caused by a failed checkpoint write (a full disk): retried until a write succeeds, with back-off. */
  private writeRetries = 0;
  private recoveries = 0;
  /** Planned re-placements (handovers) that completed: no rollback, nothing replayed (src/workers/handover.ts). */
  private replacements = 0;
  private handingOver = false;
  private handoverDone: Promise<void> = Promise.resolve();
  /** While a handover stops the old run on purpose: what its actors report then is no failure of the query. */
  private quiet = false;
  /** Resolves when stop() is called: a handover waiting for its final epoch gives up. */
  private stopping: Promise<void>;
  private markStopping: () => void = () => undefined;
  private unregister: () => void = () => undefined;
  /** Runtimes created so far (the first run and each rollback); the current attempt is `attempts - 1`. */
  private attempts = 0;
  /** The last attempt that took the checkpoint's fence (src/state/fence.ts): the next one must find it still there. */
  private lastBegun: AttemptId | undefined;
  /** When the current attempt's runtime was made (Date.now()). */
  private attemptMadeAt = 0;
  private placement: WorkerPlacement | undefined;
  /** The current attempt's first completed epoch, and its replacement by the next attempt (whichever comes first). */
  private attemptCommitted: Promise<boolean> = Promise.resolve(false);
  private attemptReplaced: () => void = () => undefined;
  private recovering = false;
  private recoveryDone: Promise<void> = Promise.resolve();
  private readonly progress: StreamingQueryProgress[] = [];
  private previousReport: EpochReport | undefined;
  private startedAt = nowMs();
  private active = false;
  private failure: StreamingQueryError | undefined;
  private message = "Initializing";
  private deadLetters = 0;
  /** Messages on the query's internal subjects that its actors rejected. */
  private rejectedMessages = 0;
  private inputRows = 0;
  private readonly terminated: Promise<void>;
  private markTerminated: () => void = () => undefined;
  private readonly terminationListeners: Array<(query: StreamingQuery) => void> = [];

  constructor(private readonly setup: QuerySetup) {
    this.id = setup.id;
    this.runId = setup.runId;
    this.name = setup.name;
    this.terminated = new Promise((resolve) => {
      this.markTerminated = resolve;
    });
    this.stopping = new Promise((resolve) => {
      this.markStopping = resolve;
    });
    this.subjects = setup.subjects;
    this.runtime = this.createRuntime();
    if (setup.workers) this.unregister = setup.workers.deployment.register({ workersJoined: () => this.workersJoined(), workerLeaving: (worker) => this.workerLeaving(worker) });
    setup.transport.onFailure((error) => void this.fail(new StreamingQueryError(`Query ${this.label} lost its transport: ${error.message}`, { cause: error })));
    // Bytes on this query's subjects that its actors rejected (garbage, forged or stray frames) change nothing; they
    // are counted and logged (the first, then at every power of two, so a flood cannot flood the log too).
    const prefix = setup.subjects.all.slice(0, -2); // every attempt's subjects: `<run>.` and `<run>_<n>.`
    setup.transport.onRejected((subject, error) => {
      if (!subject.startsWith(prefix)) return;
      this.rejectedMessages++;
      if ((this.rejectedMessages & (this.rejectedMessages - 1)) === 0) setup.log(`rill: query ${this.label} rejected a message on ${subject} (${this.rejectedMessages} so far): ${error instanceof Error ? error.message : String(error)}`);
    });
    // Frames in flight during an interruption may be gone; a checkpointed query goes back to its last commit at once,
    // unless the attempt running then is already rolled back (src/api/failure-decision.ts).
    setup.transport.onReconnect?.((disconnectedAt) => {
      if (!setup.checkpoint) return;
      const attempt = attemptOfInterruption(this.attempts - 1, this.attemptMadeAt, disconnectedAt);
      void this.fail(new StreamingQueryError(`Query ${this.label}: the NATS connection was interrupted, so frames in flight may be lost.`), attempt);
    });
  }

  /** `recoverFrom`: for a rollback, the workers of the failed attempt (src/workers/recovery.ts). */
  private createRuntime(recoverFrom?: ReadonlySet<string>): QueryRuntime {
    const { graph, transport, flow, checkpoint, workers } = this.setup;
    const attempt = this.attempts++;
    this.attemptMadeAt = Date.now();
    // On workers, each attempt has its own subjects, which the worker derives from the attempt it is given: actors of an
    // attempt given up for lost never hear the next one.
    if (workers) this.subjects = querySubjects(workers.template.subjectPrefix, workers.template.subjectName, workers.template.runId, attempt);
    const placement = workers?.deployment.placement({
      graph,
      template: { ...workers.template, attempt },
      onLost: (worker, reason) => void this.fail(new StreamingQueryError(`Query ${this.label} lost ${reason}`, { cause: { actor: worker, error: reason, code: "WORKER_LOST" } }), attempt),
      recoverFrom,
    });
    this.placement = placement;
    this.attemptReplaced(); // the previous attempt never commits now
    let committed: (value: boolean) => void = () => undefined;
    this.attemptCommitted = new Promise((resolve) => {
      committed = resolve;
      this.attemptReplaced = () => resolve(false);
    });
    return new QueryRuntime(graph, transport, this.subjects, flow, {
      onEpoch: (report) => {
        // The attempt's workers are at work: their heartbeats judge them again (src/workers/liveness.ts).
        placement?.epochCommitted();
        committed(true);
        this.onEpoch(report);
      },
      onFailure: (actor, error, code, cause) => void this.fail(new StreamingQueryError(`Query ${this.label} failed in actor ${actor}: ${error}`, { cause: cause ?? { actor, error, code } }), attempt),
      log: this.setup.log,
    }, checkpoint?.storage, this.setup.epochTimeoutMs, this.setup.idleTimeoutMs, this.setup.lateDataSubject, this.setup.clock, fenced(this.placement, workers, attempt), this.setup.params);
  }

  /** Actor -> the worker hosting it ("driver" for a memory source), with `rill.workers`; empty when every actor runs here. */
  placements(): ReadonlyMap<string, string> {
    return this.placement?.assignment() ?? new Map();
  }

  /** Where the query keeps its checkpoints, if anywhere. */
  get checkpointLocation(): string | undefined {
    return this.setup.checkpoint?.location;
  }

  /** Times the query rolled back to its last committed epoch after a failure (consecutive ones are bounded by rill.recovery.maxRetries). */
  get numRecoveries(): number {
    return this.recoveries;
  }

  /** Planned re-placements at an epoch boundary (rebalance(), a worker that joined or left gracefully): no rollback, nothing replayed. */
  get numReplacements(): number {
    return this.replacements;
  }

  get isActive(): boolean {
    return this.active;
  }

  get status(): StreamingQueryStatus {
    return { message: this.message, isDataAvailable: this.active, isTriggerActive: this.active, numDeadLetters: this.deadLetters, numInputRows: this.inputRows, deadLetterOutput: this.runtime.deadLetters.status() };
  }

  get lastProgress(): StreamingQueryProgress | undefined {
    return this.progress[this.progress.length - 1];
  }

  get recentProgress(): StreamingQueryProgress[] {
    return [...this.progress];
  }

  /** Ingest-to-sink latency of every row since the query started. */
  latency(): LatencyPercentiles {
    return this.runtime.coordinator.totalLatency.percentiles();
  }

  exception(): StreamingQueryError | undefined {
    return this.failure;
  }

  /** The logical and physical plan: stages, partitions, actors and their subjects, guarantees. */
  explain(): string {
    const inputs = (this.setup.plan.branches ?? []).flatMap((branch, index) => [`  union input ${index + 1}: ${branch.source.description}`, ...branch.steps.map((step) => `    ${step.name}: ${step.detail}`)]);
    const steps = [...inputs, ...this.setup.plan.steps.map((step) => `  ${step.name}: ${step.detail}`)].join("\n");
    const text = [
      `== Query ${this.label} (trigger ${this.setup.trigger.kind}${this.setup.trigger.intervalMs ? ` ${this.setup.trigger.intervalMs} ms` : ""}) ==`,
      "== Logical plan ==",
      `  source: ${(this.setup.plan.branches?.map((branch) => branch.source) ?? [this.setup.plan.source]).map((source) => source.description).join(" union ")}`,
      steps,
      `  schema: ${this.setup.plan.schema.fields.map((field) => `${field.name}: ${field.type}`).join(", ")}`,
      `== Physical plan (transport ${this.setup.transport.kind} at ${this.setup.transport.address}${this.connectedNode()}) ==`,
      describeGraph(this.setup.plan, this.setup.graph, (actor) => this.subjects.input(actor)),
      ...this.describePlacement(),
      `== Guarantee ==`,
      `  ${this.guarantee()}`,
    ].join("\n");
    return text;
  }

  /** With workers: which worker hosts which actor, and each worker's heartbeat, CPU and memory. */
  private describePlacement(): string[] {
    const workers = this.setup.workers;
    if (!workers) return [];
    const byWorker = new Map<string, string[]>();
    for (const [actor, worker] of this.placements()) byWorker.set(worker, [...(byWorker.get(worker) ?? []), actor]);
    return ["== Placement (attempt " + String(this.attempts - 1) + ") ==", ...[...byWorker].map(([worker, actors]) => `  ${worker}: ${actors.join(", ")}`), "== Workers ==", ...workers.deployment.describeWorkers().map((line) => `  ${line}`)];
  }

  /** The NATS node the connection is on now, for explain(): a cluster's client moves when its node is lost. */
  private connectedNode(): string {
    const server = this.setup.transport.connectedServer?.();
    return server ? `, connected to ${server.name} at ${server.url}` : "";
  }

  /** Resolves true when the query ended (rejects with its exception if it failed), false on timeout. */
  async awaitTermination(timeoutMs?: number): Promise<boolean> {
    if (timeoutMs === undefined) {
      await this.terminated;
    } else {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([this.terminated.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)))]);
      clearTimeout(timer);
      if (timedOut) return false;
    }
    if (this.failure) throw this.failure;
    return true;
  }

  /** Waits until every row available in the sources now has been processed and reached the sink. */
  async processAllAvailable(): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (!this.active) return;
      const runtime = this.runtime;
      if (this.recovering || this.handingOver) {
        await (this.recovering ? this.recoveryDone : this.handoverDone);
        continue;
      }
      const { done } = runtime.coordinator.requestEpoch(false);
      const outcome = await Promise.race([done, this.terminated.then(() => undefined)]);
      // A rollback or a handover replaced the runtime while we waited: its epoch may have been cut short (a handover's
      // final epoch makes the sources read nothing more in this runtime), so ask again.
      if (this.runtime !== runtime || this.recovering || this.handingOver) continue;
      // A read limit (maxFilesPerTrigger, maxOffsetsPerTrigger) held back data that was there: it is available too.
      if (outcome?.dataLeft !== true) break;
    }
    if (this.failure) throw this.failure;
  }

  /**
   * Stops the query. At once by default, as Spark's stop(): what was read after the last committed epoch is read again
   * by the next run on the same checkpoint. With `graceful`, the sources first end the run with one more epoch after
   * every row they have read, and the query stops once it commits: no row reaches a sink outside a committed epoch.
   */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    if (!this.active) return;
    if (options.graceful) await this.commitLastEpoch();
    if (!this.active) return;
    this.active = false;
    this.message = "Stopped";
    this.markStopping();
    // A rollback or handover under way ends first (stopped, it starts nothing more): stopping the runtime it is
    // starting would leave that run's actors behind.
    await this.recoveryDone;
    await this.handoverDone;
    await this.runtime.stop();
    await this.finish();
  }

  /** A final epoch (the sources read nothing after its barrier), again after a rollback; ends early if the query ends. */
  private async commitLastEpoch(): Promise<void> {
    while (this.active && !this.failure) {
      if (this.recovering || this.handingOver) {
        await (this.recovering ? this.recoveryDone : this.handoverDone);
        continue;
      }
      const runtime = this.runtime;
      const { done } = runtime.coordinator.requestEpoch(true);
      await Promise.race([done.catch(() => undefined), this.terminated]);
      if (this.runtime === runtime && !this.recovering && !this.handingOver) return;
    }
  }

  /** @internal */
  onTerminated(listener: (query: StreamingQuery) => void): void {
    this.terminationListeners.push(listener);
  }

  /** @internal Starts the actors and the epochs; a once/availableNow query stops after its final epoch. */
  async begin(): Promise<void> {
    this.startedAt = nowMs();
    this.active = true;
    this.setup.events.post({ type: "started", event: { id: this.id, runId: this.runId, name: this.name ?? null, timestamp: new Date().toISOString() } });
    this.message = "Waiting for data";
    this.warnGuarantee();
    try {
      await this.run(this.setup.checkpoint?.resume);
    } catch (error) {
      // A worker lost while the query is first placed (a driver restarted while a worker died) is a failure like one
      // lost later: with a checkpoint, the query rolls back and is placed on the workers alive then.
      if (this.setup.checkpoint && error instanceof WorkerError && error.code === "WORKER_LOST" && this.active) {
        await this.fail(new StreamingQueryError(`Query ${this.label} lost a worker while it started: ${error.message}`, { cause: error }));
        if (!this.failure) return;
        throw this.failure;
      }
      this.retries = this.setup.maxRetries;
      this.writeRetries = Number.POSITIVE_INFINITY;
      await this.fail(new StreamingQueryError(`Query ${this.label} could not start: ${String(error)}`, { cause: error }));
      throw this.failure;
    }
  }

  private async run(resume: ResumePoint | undefined): Promise<void> {
    const runtime = this.runtime;
    try {
      await runtime.start(this.setup.trigger.intervalMs, resume, this.lastBegun);
    } finally {
      if (runtime.began) this.lastBegun = runtime.subjects.attempt;
    }
    if (this.setup.trigger.intervalMs === undefined) void this.processAvailableThenStop(runtime);
  }

  /**
   * Trigger once: one epoch with everything available, read limits ignored (Spark's ReadLimit.allAvailable).
   * Trigger availableNow: epochs within the read limits until no source holds data back. Then the query stops.
   */
  private async processAvailableThenStop(runtime: QueryRuntime): Promise<void> {
    const once = this.setup.trigger.kind === "once";
    for (;;) {
      const { done } = runtime.coordinator.requestEpoch(once, once ? "all" : "limited");
      const { dataLeft } = await done;
      if (this.runtime !== runtime || !this.active) return;
      if (once || !dataLeft) break;
    }
    if (!once) {
      // The last epoch is a final one (as Spark ends with a no-data batch): a source partition that never had rows
      // then no longer holds the watermark back, so the windows the input's watermark closed are emitted.
      await runtime.coordinator.requestEpoch(true, "limited").done;
      if (this.runtime !== runtime || !this.active) return;
    }
    await this.stop();
  }

  /** Stops the failed actors and starts new ones from the last committed epoch: state, offsets and sinks go back together. */
  private async rollback(error: StreamingQueryError): Promise<void> {
    const storage = (this.setup.checkpoint as OpenedCheckpoint).storage;
    let recovered = (): void => undefined;
    this.recoveryDone = new Promise((resolve) => (recovered = resolve));
    this.recovering = true;
    const writeFailed = isWriteFailure(error);
    if (writeFailed) this.writeRetries++;
    else this.retries++;
    this.recoveries++;
    this.message = `Recovering from: ${error.message}`;
    const attempt = writeFailed ? `retry ${this.writeRetries}; a failed checkpoint write is retried until one succeeds` : `attempt ${this.retries} of ${this.setup.maxRetries}`;
    this.setup.log(`rill: query ${this.label} failed (${error.message}); rolling back to the last committed epoch (${attempt}).`);
    try {
      // The failed run is thrown away whatever its stop says (a sink whose publishes timed out): failing here would
      // spend every retry at once on the same run, with no pause between them.
      await this.runtime.stop().catch((stopError: unknown) => this.setup.log(`rill: stopping the failed run of query ${this.label}: ${String(stopError)}; its uncommitted epochs are replayed.`));
      const backOff = writeFailed ? Math.min(30_000, 100 * 2 ** (this.writeRetries - 1)) : Math.min(2000, 100 * 2 ** (this.retries - 1));
      await new Promise((resolve) => setTimeout(resolve, backOff));
      const resume = await rollbackPoint(storage);
      this.subjects = this.setup.subjectsOf?.(this.recoveries) ?? this.setup.subjects;
      // On workers: the next attempt goes to the failed one's workers still alive (warm), not to those that joined,
      // which a handover puts to use after (with rill.workers.rebalance = off none would: every live worker, then).
      const rebalances = this.setup.workers?.deployment.rebalances ?? false;
      this.runtime = this.createRuntime(rebalances ? this.placement?.workers() : undefined);
      this.recovering = false;
      if (!this.active) return;
      await this.run(resume);
      this.message = "Recovered";
      // Workers that joined while this attempt was placed on the warm ones take actors by a handover.
      if (rebalances) void this.workersJoined().catch((handoverError: unknown) => this.setup.log(`rill: query ${this.label}: handover after the rollback: ${String(handoverError)}`));
    } catch (rollbackError) {
      this.recovering = false;
      await this.fail(new StreamingQueryError(`Query ${this.label} could not recover: ${String(rollbackError)}`, { cause: rollbackError }));
    } finally {
      recovered();
    }
  }

  /**
   * Moves the query's actors onto the workers alive now (none that is leaving) at an epoch boundary, without a rollback:
   * a final epoch (the sources read nothing after its barrier), its commit, the run's actors stopped everywhere, and the
   * next attempt placed with that commit as its resume point. Nothing is read twice, and it is no recovery
   * (numReplacements counts it). Resolves true once the next attempt runs; false when there is nothing to move (the
   * query is not on workers, has no checkpoint, runs trigger once/availableNow, or ended) or when a failure during the
   * handover fell back to a rollback (exactly-once holds as after any failure). Workers that join a `cluster` query,
   * and those that close gracefully, ask for this themselves (README "Workers").
   */
  async rebalance(): Promise<boolean> {
    return (await this.handOver("asked by rebalance()")).kind === "done";
  }

  /**
   * Workers joined (the deployment waited rill.workers.rebalanceDelay for more), or a rollback placed its attempt on the
   * warm workers only: hand over if idle workers would take actors. A rollback or handover under way ends first (it may
   * have used them already); the attempt then running commits an epoch first, so the handover's final epoch is not
   * the one that restores state and replays.
   */
  private async workersJoined(): Promise<void> {
    for (;;) {
      if (!this.active || this.failure) return;
      if (this.recovering || this.handingOver) {
        await (this.recovering ? this.recoveryDone : this.handoverDone);
        continue;
      }
      const runtime = this.runtime;
      if (await this.firstCommit()) break;
      // Not replaced by a rollback or handover: the query stops.
      if (this.runtime === runtime && !this.recovering && !this.handingOver) return;
    }
    const placement = this.placement;
    if (!placement || this.recovering || this.handingOver || !this.active) return;
    const hosted = placement.hostedCounts();
    const candidates = placement.candidates();
    if (!joinWantsHandover(hosted, candidates)) return;
    const idle = candidates.filter((candidate) => candidate.free > 0 && !hosted.has(candidate.name)).map((candidate) => candidate.name);
    await this.handOver(`worker${idle.length > 1 ? "s" : ""} ${idle.join(", ")} joined and would take actors off ${[...hosted].map(([worker, count]) => `${worker} (${count})`).join(", ")}`);
  }

  /** Whether the current attempt completes an epoch before it is replaced or the query stops. */
  private async firstCommit(): Promise<boolean> {
    return await Promise.race([this.attemptCommitted, this.terminated.then(() => false), this.stopping.then(() => false)]);
  }

  /** A worker asks to leave: resolves once the query hosts nothing on it, or with why it could not hand over. */
  private async workerLeaving(worker: string): Promise<string | undefined> {
    for (let tries = 0; tries < 3; tries++) {
      if (!this.active || this.failure) return undefined;
      if (this.recovering || this.handingOver) {
        await (this.recovering ? this.recoveryDone : this.handoverDone);
        continue;
      }
      const placement = this.placement;
      if (!placement) return undefined;
      const decision = leaveDecision(worker, placement.hostedCounts(), placement.candidates(), placement.remoteCount);
      if (decision.kind === "not-hosting") return undefined;
      if (decision.kind === "no-room") return `query ${this.label}: ${decision.reason}`;
      const outcome = await this.handOver(`worker ${worker} leaves`);
      if (outcome.kind === "skipped") return `query ${this.label}: ${outcome.reason}`;
    }
    return this.placement?.hostedCounts().has(worker) ? `query ${this.label} still has actors on worker ${worker} after three handovers` : undefined;
  }

  /** The handover's steps (src/workers/handover.ts decides what follows each, and what a failure leads to). */
  private async handOver(reason: string): Promise<{ kind: "done" | "rolled-back" | "skipped"; reason?: string }> {
    const start = startDecision({ active: this.active, failed: this.failure !== undefined, checkpointed: this.setup.checkpoint !== undefined, onWorkers: this.setup.workers !== undefined, triggered: this.setup.trigger.intervalMs !== undefined, recovering: this.recovering, handingOver: this.handingOver });
    if (start.kind === "skip") return { kind: "skipped", reason: start.reason };
    if (start.kind === "join-running") {
      await (this.recovering ? this.recoveryDone : this.handoverDone);
      return await this.handOver(reason);
    }
    const storage = (this.setup.checkpoint as OpenedCheckpoint).storage;
    const runtime = this.runtime;
    let finished = (): void => undefined;
    this.handoverDone = new Promise((resolve) => (finished = resolve));
    this.handingOver = true;
    const began = nowMs();
    const message = this.message;
    this.message = `Handing over: ${reason}`;
    this.setup.log(`rill: query ${this.label} hands over at the next epoch boundary (${reason}): a final epoch, its commit, then attempt ${this.attempts} on the workers alive.`);
    const fallBack = async (next: { kind: "rollback"; reason: string }, cause?: unknown): Promise<{ kind: "rolled-back"; reason: string }> => {
      this.setup.log(`rill: query ${this.label}: ${next.reason}; falling back to a rollback to the last committed epoch.`);
      this.handingOver = false;
      this.quiet = false;
      await this.fail(new StreamingQueryError(`Query ${this.label}: ${next.reason}`, cause === undefined ? {} : { cause }));
      return { kind: "rolled-back", reason: next.reason };
    };
    try {
      const { epoch, done } = runtime.coordinator.requestEpoch(true);
      await Promise.race([done, this.terminated, this.stopping]);
      if (!this.active || this.failure) return { kind: "skipped", reason: "the query stopped during the handover" };
      const finalEpoch: StepOutcome = this.runtime !== runtime || this.recovering ? { kind: "superseded" } : runtime.coordinator.lastCompletedEpoch >= epoch ? { kind: "ok" } : { kind: "failed", error: `epoch ${epoch} ended without a commit` };
      const afterFinal = afterStep("final-epoch", finalEpoch);
      if (afterFinal.kind === "rollback") {
        if (finalEpoch.kind === "superseded") {
          this.setup.log(`rill: query ${this.label}: ${afterFinal.reason}; it places the next attempt.`);
          return { kind: "rolled-back", reason: afterFinal.reason };
        }
        return await fallBack(afterFinal);
      }
      this.quiet = true;
      await runtime.stop().catch((error: unknown) => this.setup.log(`rill: query ${this.label}: stopping the run before the handover: ${String(error)}; its last epoch is committed and its sources read nothing after it, so nothing is lost.`));
      if (!this.active) return { kind: "skipped", reason: "the query stopped during the handover" };
      const resume = await rollbackPoint(storage);
      // The proof that nothing is read twice: no epoch was asked for after the final one, which committed.
      const committed = resume?.lastCommittedEpoch ?? -1;
      const abandoned = runtime.coordinator.lastRequestedEpoch - committed;
      const replay = abandoned === 0 ? "nothing replayed" : `${abandoned} epoch(s) after epoch ${committed} abandoned, their rows read again`;
      this.runtime = this.createRuntime();
      this.quiet = false;
      try {
        await this.run(resume);
      } catch (error) {
        const next = afterStep("place", { kind: "failed", error: String(error) });
        if (next.kind === "rollback") return await fallBack(next, error);
      }
      this.replacements++;
      this.message = message;
      this.setup.log(`rill: query ${this.label} handed over in ${Math.round(nowMs() - began)} ms without a rollback (${reason}), ${replay}; attempt ${this.attempts - 1} resumes after epoch ${committed}: ${describeAssignment(this.placements())}.`);
      return { kind: "done" };
    } finally {
      this.handingOver = false;
      this.quiet = false;
      finished();
    }
  }

  private get label(): string {
    return this.name ? `'${this.name}' [id = ${this.id}]` : `[id = ${this.id}]`;
  }

  /** The source whose guarantee is the weakest (a union reads several). */
  private get weakestSource(): AnalyzedPlan["source"] {
    const sources = this.setup.plan.branches?.map((branch) => branch.source) ?? [this.setup.plan.source];
    return sources.find((source) => source.guarantee !== "exactly-once") ?? this.setup.plan.source;
  }

  private guarantee(): string {
    const source = this.weakestSource;
    const sink = this.setup.graph.stages[this.setup.graph.stages.length - 1]?.sink;
    const replay = source.guarantee === "exactly-once" ? "replayable" : `cannot replay (${source.guarantee})`;
    const parts = `source ${source.description}: ${replay}; sink ${sink?.description ?? "?"}: ${sink?.guarantee ?? "?"}`;
    const location = this.setup.checkpoint?.location;
    if (!location) return `${parts}; no checkpoint location, so a crash loses the state and the rows in flight (at-most-once).`;
    if (source.guarantee !== "exactly-once") return `${parts}; checkpointed at ${location}, but ${source.guarantee} after a crash because the source cannot replay.`;
    const exactly = sink?.guarantee === "transactional" || sink?.guarantee === "idempotent";
    return `${parts}; checkpointed at ${location}: ${exactly ? "exactly-once after a crash" : "at-least-once after a crash (the sink can repeat an epoch)"}.`;
  }

  private warnGuarantee(): void {
    const source = this.weakestSource;
    if (source.guarantee !== "exactly-once") this.setup.log(`rill: query ${this.label} reads ${source.description}, which cannot replay: results are ${source.guarantee}.`);
  }

  private onEpoch(report: EpochReport): void {
    const built = buildProgress({ id: this.id, runId: this.runId, name: this.name, graph: this.setup.graph, numRecoveries: this.recoveries, staticTables: this.setup.plan.staticTables }, report, this.previousReport, this.startedAt);
    const workers = this.setup.workers;
    const withWorkers = workers ? { ...built, numReplacements: this.replacements, workers: workerProgress(workers.deployment.pool.alive(), this.placements(), Date.now(), this.lastProgress?.workers) } : built;
    const progress = this.setup.params ? { ...withWorkers, parameters: parameterProgress(this.setup.params, report.epoch) } : withWorkers;
    this.previousReport = report;
    workers?.replica?.committed(report.epoch);
    this.deadLetters += progress.numDeadLetters;
    this.inputRows += progress.numInputRows;
    this.message = progress.numInputRows > 0 ? "Processing new data" : "Waiting for data";
    this.retries = 0;
    this.writeRetries = 0;
    const wasActive = (this.lastProgress?.numInputRows ?? 0) > 0;
    this.progress.push(progress);
    if (this.progress.length > RECENT_PROGRESS) this.progress.shift();
    this.setup.events.post({ type: "progress", event: { progress } });
    if (wasActive && progress.numInputRows === 0) this.setup.events.post({ type: "idle", event: { id: this.id, runId: this.runId, name: this.name ?? null, timestamp: progress.timestamp } });
  }

  /** A failure of `attempt` (the current one unless said): rolled back, ignored as covered, or the query's end. */
  private async fail(error: StreamingQueryError, attempt = this.attempts - 1): Promise<void> {
    // A handover stops the old run on purpose: what its actors report then is no failure of the query.
    if (this.quiet && !this.failure) return;
    const kind: FailureKind = isOffsetRegression(error) ? "offset-regression" : isWriteFailure(error) ? "write" : "other";
    const decision = decideFailure({ active: this.active && !this.failure, checkpointed: this.setup.checkpoint !== undefined, current: this.attempts - 1, rollingBack: this.recovering, retries: this.retries, maxRetries: this.setup.maxRetries, writeRetriesBounded: Number.isFinite(this.writeRetries) }, { attempt, kind });
    if (decision.action === "ignore") {
      if (decision.why !== "inactive") this.setup.log(`rill: query ${this.label}: ${decision.why === "stale" ? `attempt ${attempt} was rolled back already` : `the rollback of attempt ${attempt} under way covers it`}, so this changes nothing: ${error.message}`);
      return;
    }
    if (decision.action === "rollback") return await this.rollback(error);
    this.failure = error;
    this.active = false;
    this.message = `Terminated with exception: ${error.message}`;
    await this.runtime.stop().catch((stopError: unknown) => this.setup.log(`rill: stopping failed query ${this.label}: ${String(stopError)}`));
    await this.finish();
  }

  private async finish(): Promise<void> {
    this.unregister();
    await this.setup.workers?.replica?.close();
    await this.setup.checkpoint?.storage.close();
    const failure = this.failure;
    this.setup.events.post({ type: "terminated", event: { id: this.id, runId: this.runId, name: this.name ?? null, exception: failure?.message ?? null, errorClassOnException: failure ? codeOf(failure.cause) : null } });
    this.markTerminated();
    for (const listener of this.terminationListeners) listener(this);
  }

  toString(): string {
    const last = this.lastProgress;
    return last ? formatProgress(last) : `query ${this.label}: ${this.message}`;
  }
}

/** Worker -> its actors, for the log. */
function describeAssignment(placements: ReadonlyMap<string, string>): string {
  const byWorker = new Map<string, string[]>();
  for (const [actor, worker] of placements) byWorker.set(worker, [...(byWorker.get(worker) ?? []), actor]);
  return [...byWorker].map(([worker, actors]) => `${worker} hosts ${actors.join(", ")}`).join("; ");
}

/** A checkpoint write failed (a full disk): not the query's fault, and gone once there is room again. */
function isWriteFailure(error: StreamingQueryError): boolean {
  return codeOf(error.cause) === "CHECKPOINT_WRITE";
}

function isOffsetRegression(error: StreamingQueryError): boolean {
  return codeOf(error.cause) === "SOURCE_OFFSET_BACKWARD";
}

function codeOf(cause: unknown): string {
  if (cause && typeof cause === "object" && "code" in cause && typeof cause.code === "string") return cause.code;
  return "QUERY_FAILED";
}

/**
 * With replicated state, each attempt's marker is written before its actors are placed: from then on only its changes
 * count for the epochs it runs, and a stalled worker of an earlier attempt changes nothing (src/state/replication).
 */
function fenced(placement: WorkerPlacement | undefined, workers: QueryWorkers | undefined, attempt: number): Placement | undefined {
  const replica = workers?.replica;
  if (!placement || !replica) return placement;
  return {
    hosts: (actor) => placement.hosts(actor),
    remote: {
      start: async (resume, params) => {
        // A compaction started by the last commit (a handover places right after one) removes objects and markers
        // while the workers would list the store to restore: it ends first. None starts meanwhile (no epoch commits
        // between a run's stop and the next one's placement).
        await replica.settled();
        await replica.begin(workers.template.runId, attempt, resume?.lastCommittedEpoch ?? -1);
        await placement.start(resume, params);
      },
      stop: () => placement.stop(),
    },
  };
}

/** The values an epoch ran with, and whether the bucket could be reached (the last values known stay in force when not). */
function parameterProgress(params: QueryParams, epoch: number): ParameterProgress {
  const status = params.status();
  const ran = params.valuesOf(epoch) ?? { revision: status.revision, values: status.values };
  return { revision: ran.revision, values: ran.values, connected: status.connected, ...(status.message === undefined ? {} : { message: status.message }) };
}
