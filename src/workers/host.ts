// A worker process's host: announces itself, builds the plan from the job module, runs the actors placed on it.
import { rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsTransport } from "../actors/nats-transport.ts";
import { QueryRuntime, type ExecutionGraph } from "../actors/runtime.ts";
import { decodeControl, encodeControl } from "../actors/control.ts";
import { querySubjects, type QuerySubjects } from "../actors/subjects.ts";
import type { Subscription, Transport } from "../actors/transport.ts";
import { systemClock } from "../core/clock.ts";
import { RillError } from "../core/errors.ts";
import type { CheckpointStorage } from "../state/lmdb-storage.ts";
import { loadCheckpointStorage, type CheckpointStorageModule } from "../state/load-lmdb.ts";
import { token } from "../state/replication/keys.ts";
import { StateStore } from "../state/replication/kv-store.ts";
import { replicationOf } from "../state/replication/settings.ts";
import { prepareAttemptState } from "../state/replication/worker-replica.ts";
import { leaveOutcome, type LeaveReply } from "./handover.ts";
import { decodeMessage, decodeOffsets, driverHeartbeatSchema, encodeMessage, fingerprint, placeRequestSchema, planDifference, planLines, replySchema, runKey, stopRequestSchema, supersedes, workerSubjects, type Heartbeat, type LeaveRequest, type PlaceRequest, type Reply } from "./protocol.ts";
import { startWorkerService, type WorkerService } from "./service.ts";

/** Builds a query's execution graph on the worker, from the job module, with the driver's configuration and identity. */
export type JobPlanner = (request: PlaceRequest, transport: Transport) => Promise<ExecutionGraph>;

export interface WorkerHostOptions {
  readonly transport: NatsTransport;
  readonly name: string;
  /** Actors this worker hosts at most, over all queries. */
  readonly slots: number;
  readonly subjectPrefix: string;
  readonly heartbeatIntervalMs: number;
  readonly planner: JobPlanner;
  readonly log: (message: string) => void;
  /**
   * The folder of this worker's local working stores, used when the driver replicates state (rill.state.replication):
   * one LMDB environment per query attempt, filled from the replica. Default: `<tmp>/rill-worker-<name>`.
   */
  readonly stateDir?: string;
  /**
   * How long close() waits for the drivers hosting runs here to hand their actors over (no rollback) before it stops
   * them anyway, as a worker that leaves without asking does (one rollback per driver). Default 60 s; 0: do not ask.
   */
  readonly leaveTimeoutMs?: number;
}

interface HostedRun {
  readonly runtime: QueryRuntime;
  readonly subjects: QuerySubjects;
  readonly actors: readonly string[];
  readonly checkpoint: string | null;
  readonly queryId: string;
  readonly runId: string;
  readonly attempt: number;
  readonly driver: string;
  readonly driverTimeoutMs: number;
  /** When it was placed (this worker's clock): a driver's silence counts from its last heartbeat or from here. */
  readonly placedAt: number;
  /** With replicated state: the attempt's local folder (removed when the run is released) and its commit listener. */
  readonly local?: { readonly folder: string; readonly commits: LocalFolds };
}

export class WorkerHost {
  private readonly runs = new Map<string, HostedRun>();
  private readonly storages = new Map<string, { storage: CheckpointStorage; users: number }>();
  private readonly subjects;
  private service: WorkerService | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Driver -> this worker's clock when its last heartbeat arrived. */
  private readonly driversSeen = new Map<string, number>();
  private driverSubscription: Subscription | undefined;
  /** Placements and releases run one at a time: a placement that supersedes a run waits for its release. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Runs being released because their driver went silent. */
  private readonly dropping = new Set<string>();
  private closed = false;

  private constructor(private readonly options: WorkerHostOptions, private readonly storageModule: CheckpointStorageModule) {
    this.subjects = workerSubjects(options.subjectPrefix);
  }

  /** Registers the worker service and starts heartbeats; the worker is visible to drivers once this resolves. */
  static async start(options: WorkerHostOptions): Promise<WorkerHost> {
    // Loaded before the worker announces itself: a worker whose lmdb cannot load fails here, not at its first placement.
    const host = new WorkerHost(options, await loadCheckpointStorage());
    host.service = await startWorkerService(options.transport, {
      name: options.name,
      version: "0.1.0",
      metadata: { slots: String(options.slots), pid: String(process.pid), host: hostname() },
      endpoints: {
        place: { subject: host.subjects.place(options.name), handle: (payload) => host.place(payload) },
        stop: { subject: host.subjects.stop(options.name), handle: (payload) => host.stop(payload) },
      },
      stats: () => host.heartbeat(false),
    });
    host.driverSubscription = options.transport.subscribe(host.subjects.drivers, (payload) => {
      const heartbeat = decodeMessage(driverHeartbeatSchema, payload, "driver heartbeat");
      host.driversSeen.set(heartbeat.driver, Date.now());
    });
    host.beat();
    let lastTick = Date.now();
    host.timer = setInterval(() => {
      host.beat();
      // A tick far behind its time means this worker's event loop was stalled: the driver heartbeats that arrived
      // meanwhile are still queued, so a driver's silence is judged on the next tick, not now.
      const now = Date.now();
      if (now - lastTick < 2 * options.heartbeatIntervalMs) host.dropOrphans();
      lastTick = now;
    }, options.heartbeatIntervalMs);
    // Frames in flight during an interruption may be lost: each run hosted here fails at once (its driver rolls back)
    // rather than after the epoch timeout. A connection lost for good stops the actors.
    options.transport.onReconnect((disconnectedAt) => host.reportInterrupted(disconnectedAt));
    options.transport.onFailure((error) => {
      options.log(`rill worker ${options.name}: NATS is gone (${error.message}); stopping every hosted actor.`);
      host.close().catch((closeError: unknown) => options.log(`rill worker ${options.name}: stopping after NATS was lost: ${String(closeError)}`));
    });
    return host;
  }

  /** Runs placed after the connection dropped had nothing in flight on it: what they sent waited in the client. */
  private reportInterrupted(disconnectedAt: number): void {
    for (const run of this.runs.values()) {
      if (run.placedAt > disconnectedAt) continue;
      const actor = run.actors[0];
      if (actor) this.options.transport.publish(run.subjects.coordinator, encodeControl({ type: "failed", actor, error: `worker ${this.name}'s NATS connection was interrupted, so frames in flight may be lost`, code: "TRANSPORT" }));
    }
  }

  get name(): string {
    return this.options.name;
  }

  /** Actors hosted now, by query run. */
  hosted(): Record<string, string[]> {
    return Object.fromEntries([...this.runs].map(([key, run]) => [key, [...run.actors]]));
  }

  /**
   * Asks the drivers of the runs hosted here to hand them over (each re-places its query without this worker at an
   * epoch boundary, no rollback); then stops every actor still hosted (their epoch writes settle), says it is leaving,
   * and leaves the service. A driver that refuses or does not answer within leaveTimeoutMs gets today's leave: the
   * actors stop and it rolls back once.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.askToLeave();
    clearInterval(this.timer);
    this.driverSubscription?.unsubscribe();
    await this.serially(async () => {
      for (const key of [...this.runs.keys()]) await this.release(key);
    });
    this.options.transport.publish(this.subjects.heartbeat(this.name), encodeMessage(this.heartbeat(true)));
    await this.service?.stop();
    await this.options.transport.flush();
  }

  /** The leave request to each driver with runs here, at once; heartbeats go on meanwhile, so none gives this worker up. */
  private async askToLeave(): Promise<void> {
    const timeoutMs = this.options.leaveTimeoutMs ?? 60_000;
    const drivers = [...new Set([...this.runs.values()].map((run) => run.driver))];
    if (timeoutMs <= 0 || drivers.length === 0) return;
    const began = Date.now();
    this.options.log(`rill worker ${this.name}: leaving; asking ${drivers.length === 1 ? "driver" : "drivers"} ${drivers.join(", ")} to hand its actors over first.`);
    const request: LeaveRequest = { worker: this.name };
    const replies = new Map<string, LeaveReply | "timeout">();
    // A driver that dies after it took the request never answers: its silence (its heartbeat timeout) ends the wait.
    const timers: NodeJS.Timeout[] = [];
    const silence = (driver: string): Promise<undefined> => new Promise((resolve) => {
      const limit = Math.max(...[...this.runs.values()].filter((run) => run.driver === driver).map((run) => run.driverTimeoutMs));
      const timer = setInterval(() => {
        if (Date.now() - (this.driversSeen.get(driver) ?? began) <= limit) return;
        clearInterval(timer);
        resolve(undefined);
      }, this.options.heartbeatIntervalMs);
      timers.push(timer);
    });
    await Promise.all(drivers.map(async (driver) => {
      try {
        const answer = await Promise.race([this.options.transport.request(this.subjects.leave(driver), encodeMessage(request), timeoutMs), silence(driver)]);
        if (answer === undefined) throw new Error(`driver ${driver} went silent`);
        const reply = decodeMessage(replySchema, answer, "leave reply");
        replies.set(driver, reply.ok ? { ok: true } : { ok: false, error: reply.error });
      } catch (error) {
        this.options.log(`rill worker ${this.name}: driver ${driver} did not answer the leave request: ${error instanceof Error ? error.message : String(error)}`);
        replies.set(driver, "timeout");
      }
    })).finally(() => {
      for (const timer of timers) clearInterval(timer);
    });
    const outcome = leaveOutcome(replies);
    if (outcome.kind === "handed-over") this.options.log(`rill worker ${this.name}: every driver handed its actors over in ${Date.now() - began} ms; ${Object.values(this.hosted()).flat().length} actors left here.`);
    else this.options.log(`rill worker ${this.name}: leaving without a handover from some drivers (${outcome.reasons.join("; ")}): their queries roll back once.`);
  }

  private beat(): void {
    this.options.transport.publish(this.subjects.heartbeat(this.name), encodeMessage(this.heartbeat(false)));
  }

  private heartbeat(leaving: boolean): Heartbeat {
    const cpu = process.cpuUsage();
    return { name: this.name, pid: process.pid, host: hostname(), slots: this.options.slots, intervalMs: this.options.heartbeatIntervalMs, hosted: this.hosted(), cpuUserMicros: cpu.user, cpuSystemMicros: cpu.system, rssBytes: process.memoryUsage().rss, at: Date.now(), ...(leaving ? { leaving } : {}) };
  }

  /**
   * A driver whose heartbeat stopped (killed, cut off, stalled) will never send another barrier to its runs: their
   * actors are released (epoch writes settle) and the slots freed. A driver that was only slow hears of it (a failure
   * on its coordinator subject) and rolls back. A new driver on the same checkpoint supersedes them at once (place()).
   */
  private dropOrphans(): void {
    const now = Date.now();
    for (const [key, run] of this.runs) {
      if (this.dropping.has(key)) continue;
      const silent = now - Math.max(run.placedAt, this.driversSeen.get(run.driver) ?? 0);
      if (silent <= run.driverTimeoutMs) continue;
      this.options.log(`rill worker ${this.name}: driver ${run.driver} sent no heartbeat for ${silent} ms; releasing ${run.actors.join(", ")}.`);
      const actor = run.actors[0];
      if (actor) this.options.transport.publish(run.subjects.coordinator, encodeControl({ type: "failed", actor, error: `worker ${this.name} heard nothing from driver ${run.driver} for ${silent} ms and released its actors`, code: "DRIVER_LOST" }));
      this.dropping.add(key);
      void this.serially(() => this.release(key))
        .then(() => this.options.log(`rill worker ${this.name}: released ${run.actors.join(", ")}; their epoch writes have settled.`))
        .catch((error: unknown) => this.options.log(`rill worker ${this.name}: releasing ${key}: ${String(error)}`))
        .finally(() => this.dropping.delete(key));
    }
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** A placement: same plan as the driver's (else refused, naming the difference), then the actors start and listen. */
  private place(payload: Uint8Array): Promise<Uint8Array> {
    return this.serially(() => this.placeNow(payload));
  }

  private async placeNow(payload: Uint8Array): Promise<Uint8Array> {
    try {
      const request = decodeMessage(placeRequestSchema, payload, "placement request");
      const key = `${runKey(request.subjectName, request.runId, request.attempt)}/${request.group}`;
      // A driver that re-places a run it lost track of: the previous actors of that run go first. So do the actors of
      // the same query's earlier run (a restarted driver) or earlier attempt (a stop that never arrived).
      if (this.runs.has(key)) await this.release(key);
      for (const [hostedKey, run] of [...this.runs]) {
        if (!supersedes(request, run)) continue;
        this.options.log(`rill worker ${this.name}: run ${request.runId.slice(0, 8)} attempt ${request.attempt} of query ${request.query} supersedes run ${run.runId.slice(0, 8)} attempt ${run.attempt}; releasing ${run.actors.join(", ")}.`);
        await this.release(hostedKey);
      }
      const graph = await this.options.planner(request, this.options.transport);
      const lines = planLines(graph);
      if (fingerprint(lines) !== request.fingerprint) {
        return reply({ ok: false, code: "PLAN_MISMATCH", error: `worker ${this.name} built a different plan for query '${request.query}' from its job module (${planDifference(request.plan, lines)}). Start driver and workers with the same job module and configuration.` });
      }
      const used = [...this.runs.values()].reduce((sum, run) => sum + run.actors.length, 0);
      if (used + request.actors.length > this.options.slots) return reply({ ok: false, code: "WORKER_REFUSED", error: `worker ${this.name} has ${this.options.slots - used} free slots of ${this.options.slots}, not ${request.actors.length}` });
      const subjects = querySubjects(request.subjectPrefix, request.subjectName, request.runId, request.attempt);
      const replicated = request.checkpoint !== null && replicationOf(request.config) !== undefined;
      const local = replicated ? join(this.stateDir, token(request.queryId), `${request.runId.slice(0, 8)}-a${request.attempt}`) : undefined;
      const checkpoint = local ?? request.checkpoint;
      const storage = checkpoint === null ? undefined : this.openStorage(checkpoint);
      const hosted = new Set(request.actors);
      const runtime = new QueryRuntime(graph, this.options.transport, subjects, request.flow, { onEpoch: () => undefined, onFailure: () => undefined }, storage, request.epochTimeoutMs, request.idleTimeoutMs, request.lateDataSubject ?? undefined, systemClock, { hosts: (actor) => hosted.has(actor) });
      const commits = local && storage ? this.foldOnCommit(storage, subjects) : undefined;
      this.runs.set(key, { runtime, subjects, actors: request.actors, checkpoint, queryId: request.queryId, runId: request.runId, attempt: request.attempt, driver: request.driver, driverTimeoutMs: request.driverTimeoutMs, placedAt: Date.now(), ...(local && commits ? { local: { folder: local, commits } } : {}) });
      try {
        if (replicated && storage) {
          const installed = await prepareAttemptState(storage, await StateStore.open(this.options.transport, request.queryId), { runId: request.runId, attempt: request.attempt, actors: request.actors, lastCommittedEpoch: request.resume?.lastCommittedEpoch });
          if (request.resume) this.options.log(`rill worker ${this.name}: restored ${installed.entries} state entries of epoch ${request.resume.lastCommittedEpoch} from ${installed.objects} objects of the replica into ${checkpoint ?? ""}`);
        }
        await runtime.host(request.resume ? { lastCommittedEpoch: request.resume.lastCommittedEpoch, offsets: decodeOffsets(request.resume.offsets) } : undefined, request.params ?? undefined, request.attemptSequence);
      } catch (error) {
        await this.release(key);
        throw error;
      }
      this.options.log(`rill worker ${this.name}: hosting ${request.actors.join(", ")} of query ${request.query} (run ${request.runId.slice(0, 8)}${request.resume ? `, from epoch ${request.resume.lastCommittedEpoch + 1}` : ""})`);
      this.beat();
      return reply({ ok: true });
    } catch (error) {
      return reply({ ok: false, code: error instanceof RillError ? error.code : "WORKER_REFUSED", error: `worker ${this.name}: ${error instanceof Error ? error.message : String(error)}` });
    }
  }

  private stop(payload: Uint8Array): Promise<Uint8Array> {
    return this.serially(() => this.stopNow(payload));
  }

  private async stopNow(payload: Uint8Array): Promise<Uint8Array> {
    try {
      const request = decodeMessage(stopRequestSchema, payload, "stop request");
      const key = runKey(request.subjectName, request.runId, request.attempt);
      // Sources first: they stop reading before the actors they feed stop.
      await this.release(`${key}/sources`);
      await this.release(`${key}/actors`);
      return reply({ ok: true });
    } catch (error) {
      return reply({ ok: false, code: error instanceof RillError ? error.code : "WORKER_REFUSED", error: `worker ${this.name}: ${error instanceof Error ? error.message : String(error)}` });
    }
  }

  /** Stops a run's actors here and waits for their epoch writes, so a rollback on the driver reads a settled checkpoint. */
  private async release(key: string): Promise<void> {
    const run = this.runs.get(key);
    if (!run) return;
    this.runs.delete(key);
    run.local?.commits.subscription.unsubscribe();
    try {
      await run.runtime.release();
    } finally {
      await run.local?.commits.settled();
      if (run.checkpoint !== null) await this.closeStorage(run.checkpoint);
      // The attempt's local working store: its state is in the replica, and the next attempt installs its own.
      if (run.local) await rm(run.local.folder, { recursive: true, force: true });
      this.beat();
    }
  }

  private get stateDir(): string {
    return this.options.stateDir ?? join(tmpdir(), `rill-worker-${token(this.name)}`);
  }

  /**
   * With replicated state, no process shares this worker's LMDB, so the driver's commit does not fold its changes:
   * each commit the coordinator announces folds them here, and the local store stays one epoch's changes deep.
   */
  private foldOnCommit(storage: CheckpointStorage, subjects: QuerySubjects): LocalFolds {
    let folds = Promise.resolve();
    const subscription = this.options.transport.subscribe(subjects.control, (payload) => {
      const message = decodeControl(payload);
      if (message.type !== "commit") return;
      folds = folds.then(() => storage.commit({ epoch: message.epoch, offsets: {}, committedAt: new Date().toISOString() })).catch((error: unknown) => {
        this.options.log(`rill worker ${this.name}: folding epoch ${message.epoch} into the local store failed (its state is in the replica): ${String(error)}`);
      });
    });
    return { subscription, settled: () => folds };
  }

  /** One environment per checkpoint location in this process, shared by the runs that use it. */
  private openStorage(path: string): CheckpointStorage {
    const open = this.storages.get(path);
    if (open) {
      open.users++;
      return open.storage;
    }
    const storage = this.storageModule.CheckpointStorage.open(path);
    this.storages.set(path, { storage, users: 1 });
    return storage;
  }

  private async closeStorage(path: string): Promise<void> {
    const open = this.storages.get(path);
    if (!open || --open.users > 0) return;
    this.storages.delete(path);
    await open.storage.close();
  }
}

/** A local store's folds on commit: the subscription, and the folds under way (settled before the store closes). */
interface LocalFolds {
  readonly subscription: Subscription;
  settled(): Promise<void>;
}

function reply(message: Reply): Uint8Array {
  return encodeMessage(message);
}
