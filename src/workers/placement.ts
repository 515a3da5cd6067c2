// One run of a query placed on workers: which worker hosts which actor, placing them, stopping them, hearing of a loss.
import type { NatsTransport } from "../actors/nats-transport.ts";
import type { HostedResume, Placement, RemoteActors } from "../actors/runtime.ts";
import { TransportError, WorkerError } from "../core/errors.ts";
import type { EpochParams } from "../core/param-values.ts";
import type { Candidate } from "./handover.ts";
import type { WorkerPool } from "./pool.ts";
import { decodeMessage, encodeMessage, encodeOffsets, replySchema, runKey, workerSubjects, type PlaceRequest } from "./protocol.ts";
import { recoveryWorkers } from "./recovery.ts";

/** What every worker of the run is told, besides its own actors, their group and the resume point. */
export type PlacementTemplate = Omit<PlaceRequest, "actors" | "group" | "resume" | "params">;

export interface WorkerPlacementOptions {
  readonly pool: WorkerPool;
  readonly transport: NatsTransport;
  readonly template: PlacementTemplate;
  /** Actors the driver hosts itself (a memory source, whose rows are in the driver's process); every other goes to a worker. */
  readonly onDriver: (actor: string) => boolean;
  readonly everyActor: readonly string[];
  /** Source actors: placed after every other actor listens (an open source sends rows at once). */
  readonly isSource: (actor: string) => boolean;
  readonly placementTimeoutMs: number;
  /** A worker of this run was lost: the query rolls back. */
  readonly onLost: (worker: string, reason: string) => void;
  /**
   * A rollback's attempt: the workers of the failed attempt. It is placed on those still alive if they have room
   * (recovery.ts), not on workers that joined meanwhile; a handover puts those to use afterwards.
   */
  readonly recoverFrom?: ReadonlySet<string> | undefined;
  readonly log: (message: string) => void;
}

const STOP_TIMEOUT_MS = 15_000;

export class WorkerPlacement implements Placement, RemoteActors {
  /** Worker -> the actors placed on it in this run. */
  private readonly assigned = new Map<string, string[]>();
  private unlisten: () => void = () => undefined;
  /** While placing: a lost worker rejects its placement at once (a request it took before dying is never answered). */
  private readonly placing = new Map<string, (reason: string) => void>();
  private placed = false;
  private committed = false;
  readonly remote: RemoteActors = this;

  constructor(private readonly options: WorkerPlacementOptions) {}

  hosts(actor: string): boolean {
    return this.options.onDriver(actor);
  }

  /** Actor -> where it runs ("driver" or a worker's name), for explain() and progress. */
  assignment(): Map<string, string> {
    const where = new Map<string, string>();
    for (const actor of this.options.everyActor) if (this.options.onDriver(actor)) where.set(actor, "driver");
    for (const [worker, actors] of this.assigned) for (const actor of actors) where.set(actor, worker);
    return where;
  }

  /** The attempt's key, as the pool files its placement requests under (liveness.ts). */
  private get key(): string {
    const { template } = this.options;
    return runKey(template.subjectName, template.runId, template.attempt);
  }

  /** The attempt committed an epoch: its workers' heartbeats judge them again (the first call counts). */
  epochCommitted(): void {
    if (this.committed || !this.placed) return;
    this.committed = true;
    this.options.pool.attemptEnded(this.key, "committed");
  }

  /** The workers hosting this attempt's actors. */
  workers(): Set<string> {
    return new Set(this.assigned.keys());
  }

  /** Worker -> how many of this run's actors it hosts. */
  hostedCounts(): Map<string, number> {
    return new Map([...this.assigned].map(([worker, actors]) => [worker, actors.length]));
  }

  /** How many actors of the run go to workers. */
  get remoteCount(): number {
    return this.options.everyActor.filter((actor) => !this.options.onDriver(actor)).length;
  }

  /** The workers a next attempt could use now and their free slots for it (this query's own actors count as free). */
  candidates(): Candidate[] {
    const ours = `${this.options.template.subjectName}/`;
    const used = (hosted: Record<string, string[]>): number => Object.entries(hosted).reduce((sum, [key, actors]) => sum + (key.startsWith(ours) ? 0 : actors.length), 0);
    return this.options.pool.candidates().map((state) => ({ name: state.name, free: state.heartbeat.slots - used(state.heartbeat.hosted) }));
  }

  async start(resume: HostedResume | undefined, params?: EpochParams, attemptSequence?: number): Promise<void> {
    const { pool } = this.options;
    await pool.waitForWorkers(1, this.options.placementTimeoutMs);
    this.assign();
    this.unlisten = pool.onLost((worker, reason) => {
      if (!this.assigned.has(worker)) return;
      if (this.placed) this.options.onLost(worker, reason);
      else this.placing.get(worker)?.(reason);
    });
    for (const worker of this.assigned.keys()) if (!pool.isAlive(worker)) throw new WorkerError("WORKER_LOST", `worker ${worker} was lost while the query was being placed`);
    for (const worker of this.assigned.keys()) this.lostWhilePlacing(worker);
    // Operators and sinks first, so they listen; then the sources, which read as soon as they open.
    for (const group of ["actors", "sources"] as const) {
      const requests = [...this.assigned].flatMap(([worker, actors]) => {
        const ofGroup = actors.filter((actor) => this.options.isSource(actor) === (group === "sources"));
        return ofGroup.length > 0 ? [[worker, ofGroup] as const] : [];
      });
      await Promise.all(requests.map(([worker, actors]) => Promise.race([this.place(worker, actors, group, resume, params, attemptSequence), this.lost.get(worker) as Promise<never>])));
    }
    for (const worker of this.assigned.keys()) if (!pool.isAlive(worker)) throw new WorkerError("WORKER_LOST", `worker ${worker} was lost while the query was being placed`);
    this.placing.clear();
    this.placed = true;
    this.options.log(`rill: query ${this.options.template.query} placed: ${[...this.assigned].map(([worker, actors]) => `${worker} hosts ${actors.join(", ")}`).join("; ")}`);
  }

  /**
   * Stops the run's actors on every worker and waits for their epoch writes. A worker that does not answer is given up
   * for lost and fenced (a local one is killed), so nothing of this run writes after the rollback reads the checkpoint.
   */
  async stop(): Promise<void> {
    this.unlisten();
    this.options.pool.attemptEnded(this.key, "dropped");
    for (const reject of this.placing.values()) reject("the run was stopped");
    this.placing.clear();
    const { pool, transport, template } = this.options;
    const subjects = workerSubjects(template.subjectPrefix);
    await Promise.all([...this.assigned.keys()].map(async (worker) => {
      if (!pool.isAlive(worker)) return await pool.fence(worker);
      try {
        const reply = decodeMessage(replySchema, await transport.request(subjects.stop(worker), encodeMessage({ subjectName: template.subjectName, runId: template.runId, attempt: template.attempt }), STOP_TIMEOUT_MS), "stop reply");
        if (!reply.ok) this.options.log(`rill: worker ${worker} could not stop its actors cleanly: ${reply.error}`);
      } catch (error) {
        await pool.markLost(worker, `worker ${worker} did not confirm the stop of query ${template.query}: ${String(error)}`);
      }
    }));
  }

  /** While placing: a promise per worker that rejects once it is lost (a request it took before dying is never answered). */
  private readonly lost = new Map<string, Promise<never>>();

  private lostWhilePlacing(worker: string): void {
    const lost = new Promise<never>((_resolve, reject) => {
      this.placing.set(worker, (reason) => reject(new WorkerError("WORKER_LOST", `${reason} while the query was being placed on it`)));
    });
    // Only raced while its worker has a request out; a loss between the two groups is caught by the second race.
    lost.catch(() => undefined);
    this.lost.set(worker, lost);
  }

  /** Actors round-robin over the live workers, emptiest first, within each one's free slots. */
  private assign(): void {
    // Actors of this query's earlier runs or attempts do not count: the placement supersedes them (protocol.ts). A
    // worker that is leaving takes none (handover.ts).
    let workers = this.candidates().map((candidate) => ({ ...candidate }));
    const remote = this.options.everyActor.filter((actor) => !this.options.onDriver(actor));
    if (this.options.recoverFrom) {
      const choice = recoveryWorkers(this.options.recoverFrom, workers, remote.length);
      if (choice.kind === "warm") {
        const warm = new Set(choice.workers);
        const cold = workers.filter((worker) => !warm.has(worker.name)).map((worker) => worker.name);
        if (cold.length > 0) this.options.log(`rill: query ${this.options.template.query} rolls back onto the workers of the failed attempt alive now (${choice.workers.join(", ")}); ${cold.join(", ")} joined meanwhile and take actors by a handover.`);
        workers = workers.filter((worker) => warm.has(worker.name));
      } else {
        this.options.log(`rill: query ${this.options.template.query} rolls back onto every worker alive: ${choice.reason}.`);
      }
    }
    // The emptiest workers first, so successive queries spread out.
    workers.sort((a, b) => b.free - a.free || a.name.localeCompare(b.name));
    let next = 0;
    for (const actor of remote) {
      let tried = 0;
      while (tried < workers.length && (workers[next % workers.length]?.free ?? 0) <= 0) {
        next++;
        tried++;
      }
      const worker = workers[next % workers.length];
      if (!worker || worker.free <= 0) throw new WorkerError("WORKER_UNAVAILABLE", `no free slot for actor ${actor}: ${workers.map((state) => `${state.name} has ${state.free}`).join(", ")}. Start more workers or give them more slots (--slots).`);
      worker.free--;
      this.assigned.set(worker.name, [...(this.assigned.get(worker.name) ?? []), actor]);
      next++;
    }
  }

  private async place(worker: string, actors: readonly string[], group: PlaceRequest["group"], resume: HostedResume | undefined, params: EpochParams | undefined, attemptSequence: number | undefined): Promise<void> {
    const { transport, template, pool } = this.options;
    const request: PlaceRequest = { ...template, actors: [...actors], group, resume: resume ? { lastCommittedEpoch: resume.lastCommittedEpoch, offsets: encodeOffsets(resume.offsets) } : null, ...(params ? { params: { revision: params.revision, values: params.values as Record<string, number | string | boolean> } } : {}), ...(attemptSequence === undefined ? {} : { attemptSequence }) };
    let payload: Uint8Array;
    // While the request is out, its timeout judges the worker, not its heartbeats (liveness.ts): building a plan may
    // block a worker's event loop for longer than the heartbeat timeout.
    pool.placing(worker, this.key);
    try {
      payload = await transport.request(workerSubjects(template.subjectPrefix).place(worker), encodeMessage(request), this.options.placementTimeoutMs);
    } catch (error) {
      // No answer (no responders: the worker is gone, or a timeout): it is lost, and the run is placed again without it.
      if (error instanceof TransportError) await pool.markLost(worker, `worker ${worker} did not answer the placement: ${error.message}`);
      throw new WorkerError(error instanceof TransportError ? "WORKER_LOST" : "WORKER_UNAVAILABLE", `worker ${worker} did not take actors ${actors.join(", ")}: ${String(error)}`, { cause: error });
    } finally {
      pool.placed(worker, this.key);
    }
    const reply = decodeMessage(replySchema, payload, "placement reply");
    if (reply.ok) return;
    const code = reply.code === "PLAN_MISMATCH" ? "PLAN_MISMATCH" : "WORKER_REFUSED";
    throw new WorkerError(code, `Query ${template.query}: ${reply.error}`);
  }
}
