// The driver's workers: local processes it starts (`rill.workers` = N) or those already on the cluster (`cluster`).
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { NatsOptions, NatsTransport } from "../actors/nats-transport.ts";
import type { Subscription } from "../actors/transport.ts";
import type { ExecutionGraph } from "../actors/runtime.ts";
import { ConfigError } from "../core/errors.ts";
import { LocalWorkers } from "./local-workers.ts";
import { WorkerPlacement, type PlacementTemplate } from "./placement.ts";
import { WorkerPool } from "./pool.ts";
import { decodeMessage, encodeMessage, fingerprint, leaveRequestSchema, planLines, workerSubjects, type DriverHeartbeat, type Reply } from "./protocol.ts";
import { discoverWorkers } from "./service.ts";

export interface DeploymentOptions {
  readonly transport: NatsTransport;
  readonly mode: number | "cluster";
  /** The job module local workers load. */
  readonly job: string | undefined;
  /** How local workers reach NATS (the driver's own options: a configured server or the private one). */
  readonly nats: NatsOptions | undefined;
  readonly subjectPrefix: string;
  readonly heartbeatTimeoutMs: number;
  readonly placementTimeoutMs: number;
  readonly slots: number;
  /**
   * Workers that join a running query (a new one on the cluster, the replacement of a lost local worker) are put to use
   * by a handover (handover.ts) once no other worker joined for this long (so several joining at once cost one);
   * undefined: only at the next rollback or restart.
   */
  readonly rebalanceDelayMs?: number | undefined;
  readonly log: (message: string) => void;
}

/** A query on these workers, as the deployment asks it to move (StreamingQuery). */
export interface HandoverTarget {
  /** Workers joined: hand over if they would take actors off busier ones (handover.ts joinWantsHandover). */
  workersJoined(): Promise<void>;
  /** A worker asks to leave: resolves once the query hosts nothing on it, or with why it could not hand over. */
  workerLeaving(worker: string): Promise<string | undefined>;
}

export interface RunPlacementOptions {
  readonly graph: ExecutionGraph;
  readonly template: Omit<PlacementTemplate, "fingerprint" | "plan" | "driver" | "driverTimeoutMs">;
  readonly onLost: (worker: string, reason: string) => void;
  /** A rollback's attempt: the workers of the failed one (placement.ts recoverFrom). */
  readonly recoverFrom?: ReadonlySet<string> | undefined;
}

/** Sources whose rows exist only in the driver's process: they stay there. */
const DRIVER_SOURCES = new Set(["memory"]);

export class WorkerDeployment {
  /** This driver on the workers' side: they drop its runs once its heartbeat stops (a driver killed or cut off). */
  readonly driverId = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  private readonly driverTimer: NodeJS.Timeout;
  private readonly targets = new Set<HandoverTarget>();
  private readonly leaveSubscription: Subscription;
  private unlistenJoined: () => void = () => undefined;
  private joinTimer: NodeJS.Timeout | undefined;

  private constructor(readonly pool: WorkerPool, readonly local: LocalWorkers | undefined, private readonly options: DeploymentOptions) {
    const subject = workerSubjects(options.subjectPrefix).driver(this.driverId);
    const beat = (): void => {
      const heartbeat: DriverHeartbeat = { driver: this.driverId, pid: process.pid, host: hostname(), at: Date.now() };
      options.transport.publish(subject, encodeMessage(heartbeat));
    };
    beat();
    this.driverTimer = setInterval(beat, this.heartbeatIntervalMs);
    this.leaveSubscription = options.transport.serve(workerSubjects(options.subjectPrefix).leave(this.driverId), (payload) => this.leave(payload));
  }

  /** Whether workers that join are put to use by a handover (rill.workers.rebalance = on). */
  get rebalances(): boolean {
    return this.options.rebalanceDelayMs !== undefined;
  }

  /** A query that may be asked to hand over (a worker joined or leaves); the returned function unregisters it. */
  register(target: HandoverTarget): () => void {
    this.targets.add(target);
    return () => this.targets.delete(target);
  }

  /**
   * From now on, workers that join (rebalanceDelayMs set) are put to use by a handover: on a cluster, new workers; with
   * local workers, the replacement of a lost one, after the rollback placed its actors on the survivors.
   */
  private watchJoins(): void {
    const delay = this.options.rebalanceDelayMs;
    if (delay === undefined) return;
    this.unlistenJoined = this.pool.onJoined((worker) => {
      this.options.log(`rill: worker ${worker} joined; the queries on these workers consider a handover in ${delay} ms unless another joins first.`);
      clearTimeout(this.joinTimer);
      this.joinTimer = setTimeout(() => {
        this.joinTimer = undefined;
        for (const target of [...this.targets]) target.workersJoined().catch((error: unknown) => this.options.log(`rill: handover after workers joined: ${String(error)}`));
      }, delay);
    });
  }

  /** A worker closing gracefully: no new actors go to it, and every query hosting some hands them over first. */
  private async leave(payload: Uint8Array): Promise<Uint8Array> {
    let answer: Reply;
    try {
      const { worker } = decodeMessage(leaveRequestSchema, payload, "leave request");
      this.pool.markLeaving(worker);
      this.options.log(`rill: worker ${worker} asks to leave; its actors are handed over at the next epoch boundary.`);
      const refusals = (await Promise.all([...this.targets].map((target) => target.workerLeaving(worker)))).filter((reason): reason is string => reason !== undefined);
      answer = refusals.length === 0 ? { ok: true } : { ok: false, code: "HANDOVER_FAILED", error: refusals.join("; ") };
    } catch (error) {
      answer = { ok: false, code: "HANDOVER_FAILED", error: error instanceof Error ? error.message : String(error) };
    }
    return encodeMessage(answer);
  }

  /** Workers beat, and so does the driver, three times per heartbeat timeout. */
  private get heartbeatIntervalMs(): number {
    return Math.max(50, Math.floor(this.options.heartbeatTimeoutMs / 3));
  }

  /** Starts the pool and, for a number, that many local worker processes; resolves once they all send heartbeats. */
  static async start(options: DeploymentOptions): Promise<WorkerDeployment> {
    let local: LocalWorkers | undefined;
    // A session's local workers are its own: workers of other sessions on the same server do not count.
    const pool: WorkerPool = new WorkerPool({
      transport: options.transport,
      subjectPrefix: options.subjectPrefix,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      ...(options.mode === "cluster" ? {} : { accepts: (worker: string) => local?.owns(worker) ?? false, fence: async (worker: string) => await local?.fence(worker) }),
    });
    if (options.mode !== "cluster") {
      if (!options.job) throw new ConfigError(`rill.workers = ${options.mode} starts local worker processes, which build the query from a job module: set rill.workers.job to its path (a module whose default export defines the queries given a session).`);
      if (!options.nats) throw new ConfigError("rill.workers needs NATS: local workers connect to the driver's server.");
      local = new LocalWorkers({ count: options.mode, job: options.job, nats: options.nats, subjectPrefix: options.subjectPrefix, heartbeatIntervalMs: Math.max(50, Math.floor(options.heartbeatTimeoutMs / 3)), slots: options.slots, log: options.log, onExit: (worker, how) => void pool.markLost(worker, how) });
    }
    pool.start();
    const deployment = new WorkerDeployment(pool, local, options);
    try {
      await options.transport.flush();
      if (local) {
        local.start();
        await pool.waitForWorkers(options.mode as number, options.placementTimeoutMs);
      } else {
        const found = await discoverWorkers(options.transport, Math.min(2000, options.heartbeatTimeoutMs));
        options.log(`rill: ${found.length} workers answer on the cluster${found.length ? `: ${found.map((worker) => worker.name).join(", ")}` : ""}.`);
        // A driver restarted on a running cluster places its query over every worker that answered, not over the
        // first one whose heartbeat happens to arrive: wait (a heartbeat timeout at most) until each has beaten.
        await pool.waitForWorkers(found.length, options.heartbeatTimeoutMs).catch(() => undefined);
      }
    } catch (error) {
      await deployment.close();
      throw error;
    }
    deployment.watchJoins();
    return deployment;
  }

  /** The placement of one attempt of one run: every actor on a worker, but a memory source's, which stays here. */
  placement(run: RunPlacementOptions): WorkerPlacement {
    const lines = planLines(run.graph);
    const stageOf = (actor: string): string => actor.slice(0, actor.lastIndexOf(".p"));
    const sources = new Set(run.graph.stages.filter((stage) => stage.role === "source").map((stage) => stage.id));
    const onDriver = new Set(run.graph.stages.filter((stage) => stage.role === "source" && DRIVER_SOURCES.has(stage.source?.format ?? "")).map((stage) => stage.id));
    const everyActor = run.graph.stages.flatMap((stage) => Array.from({ length: stage.parallelism }, (_, partition) => `${stage.id}.p${partition}`));
    return new WorkerPlacement({
      pool: this.pool,
      transport: this.options.transport,
      template: { ...run.template, fingerprint: fingerprint(lines), plan: lines, driver: this.driverId, driverTimeoutMs: this.options.heartbeatTimeoutMs },
      onDriver: (actor) => onDriver.has(stageOf(actor)),
      isSource: (actor) => sources.has(stageOf(actor)),
      everyActor,
      placementTimeoutMs: this.options.placementTimeoutMs,
      onLost: run.onLost,
      recoverFrom: run.recoverFrom,
      log: this.options.log,
    });
  }

  /** One line per live worker: name, pid, host, slots, heartbeat age, CPU time and memory. */
  describeWorkers(): string[] {
    const now = Date.now();
    return this.pool.alive().map(({ name, heartbeat, lastSeen }) => `${name}  pid ${heartbeat.pid} on ${heartbeat.host}, ${Object.values(heartbeat.hosted).reduce((sum, actors) => sum + actors.length, 0)} of ${heartbeat.slots} slots, heartbeat ${now - lastSeen} ms ago, cpu ${((heartbeat.cpuUserMicros + heartbeat.cpuSystemMicros) / 1e6).toFixed(1)} s, rss ${(heartbeat.rssBytes / 2 ** 20).toFixed(0)} MiB`);
  }

  async close(): Promise<void> {
    clearInterval(this.driverTimer);
    clearTimeout(this.joinTimer);
    this.unlistenJoined();
    this.leaveSubscription.unsubscribe();
    this.pool.close();
    await this.local?.close();
  }
}
