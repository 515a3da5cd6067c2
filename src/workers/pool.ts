// The driver's view of the workers: who is alive (heartbeats), who was lost, and waiting for enough of them.
import type { NatsTransport } from "../actors/nats-transport.ts";
import type { Subscription } from "../actors/transport.ts";
import { WorkerError } from "../core/errors.ts";
import { answered, ended, expire, fresh, heard, judge, mayJudge, requested, type Liveness } from "./liveness.ts";
import { decodeMessage, heartbeatSchema, workerSubjects, type Heartbeat } from "./protocol.ts";

export interface WorkerState {
  readonly name: string;
  readonly heartbeat: Heartbeat;
  /** Driver's clock when the last heartbeat arrived. */
  readonly lastSeen: number;
}

export type LostListener = (worker: string, reason: string) => void;

export interface WorkerPoolOptions {
  readonly transport: NatsTransport;
  readonly subjectPrefix: string;
  /** A worker silent this long is lost (unless a placement excuses it: liveness.ts). */
  readonly heartbeatTimeoutMs: number;
  /** Only these workers count (a session's own local workers); every worker when absent. */
  readonly accepts?: (worker: string) => boolean;
  /** Makes sure a lost worker can do nothing more (a local worker is killed), before a rollback reads the checkpoint. */
  readonly fence?: (worker: string) => Promise<void>;
}

export class WorkerPool {
  private readonly workers = new Map<string, WorkerState>();
  /** What judges each live worker: heartbeats, or a placement request out to it (liveness.ts). */
  private readonly liveness = new Map<string, Liveness>();
  /** Workers given up for lost, kept out until they announce themselves as new. */
  private readonly lost = new Set<string>();
  private readonly listeners = new Set<LostListener>();
  /** Workers that asked to leave (a graceful close): alive until they go, but no new attempt is placed on them. */
  private readonly leaving = new Set<string>();
  private readonly joinListeners = new Set<(worker: string) => void>();
  private readonly waiters = new Set<() => void>();
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastCheck = Date.now();
  private skippedCheck = false;

  constructor(private readonly options: WorkerPoolOptions) {}

  start(): void {
    const subjects = workerSubjects(this.options.subjectPrefix);
    this.subscription = this.options.transport.subscribe(subjects.heartbeats, (payload) => this.receive(decodeMessage(heartbeatSchema, payload, "worker heartbeat")));
    this.lastCheck = Date.now();
    this.timer = setInterval(() => this.checkSilence(), this.checkPeriodMs);
  }

  close(): void {
    this.subscription?.unsubscribe();
    clearInterval(this.timer);
    for (const wake of this.waiters) wake();
  }

  alive(): WorkerState[] {
    return [...this.workers.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The live workers a new attempt may be placed on: every one but those leaving. */
  candidates(): WorkerState[] {
    return this.alive().filter((state) => !this.leaving.has(state.name));
  }

  /** A worker asked to leave: it keeps its actors until they are handed over, but takes no new ones. */
  markLeaving(worker: string): void {
    this.leaving.add(worker);
  }

  isLeaving(worker: string): boolean {
    return this.leaving.has(worker);
  }

  /** Hears of each worker's first heartbeat: a worker that joined (one given up for lost stays out). */
  onJoined(listener: (worker: string) => void): () => void {
    this.joinListeners.add(listener);
    return () => this.joinListeners.delete(listener);
  }

  isAlive(worker: string): boolean {
    return this.workers.has(worker);
  }

  onLost(listener: LostListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once `count` workers are alive; rejects with a WorkerError naming what it saw after `timeoutMs`. */
  async waitForWorkers(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.workers.size < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new WorkerError("WORKER_UNAVAILABLE", `${this.workers.size} of ${count} workers alive after ${timeoutMs} ms (rill.workers.placementTimeout)${this.workers.size ? `: ${[...this.workers.keys()].join(", ")}` : ""}. Start workers with 'rill worker --nats <url> --job <module>', or check that they reach the same NATS server.`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 250));
        this.waiters.add(wake);
      });
    }
  }

  /** A placement request (attempt `key`) goes out to `worker`: until it is answered, its timeout judges the worker. */
  placing(worker: string, key: string): void {
    this.updateLiveness(worker, (state, now) => requested(state, key, now));
  }

  /** `worker` answered the placement request of attempt `key`: its silence is excused as long again as it took. */
  placed(worker: string, key: string): void {
    this.updateLiveness(worker, (state, now) => answered(state, key, now));
  }

  /** Attempt `key` committed an epoch (its workers are at work: heartbeats judge them again) or ended. */
  attemptEnded(key: string, how: "committed" | "dropped"): void {
    for (const worker of this.liveness.keys()) this.updateLiveness(worker, (state, now) => ended(state, key, now, how));
  }

  private updateLiveness(worker: string, change: (state: Liveness, now: number) => Liveness): void {
    const state = this.liveness.get(worker);
    if (state) this.liveness.set(worker, change(state, Date.now()));
  }

  /** Gives a worker up: it leaves the pool, listeners hear why, and the fence (a kill for a local one) runs. */
  async markLost(worker: string, reason: string): Promise<void> {
    const known = this.workers.delete(worker);
    this.liveness.delete(worker);
    this.lost.add(worker);
    if (known) for (const listener of [...this.listeners]) listener(worker, reason);
    await this.fence(worker);
  }

  /** Waits until a lost worker can write nothing more (a local process has exited). */
  async fence(worker: string): Promise<void> {
    await this.options.fence?.(worker);
  }

  private receive(heartbeat: Heartbeat): void {
    if (this.options.accepts && !this.options.accepts(heartbeat.name)) return;
    if (heartbeat.leaving) {
      void this.markLost(heartbeat.name, `worker ${heartbeat.name} left`);
      return;
    }
    // A worker given up for lost stays out: its actors may be of a run the driver already rolled back.
    if (this.lost.has(heartbeat.name)) return;
    const joined = !this.workers.has(heartbeat.name);
    const now = Date.now();
    this.workers.set(heartbeat.name, { name: heartbeat.name, heartbeat, lastSeen: now });
    const state = this.liveness.get(heartbeat.name);
    this.liveness.set(heartbeat.name, state ? heard(state, now) : fresh(now));
    for (const wake of [...this.waiters]) wake();
    if (joined) for (const listener of [...this.joinListeners]) listener(heartbeat.name);
  }

  private get checkPeriodMs(): number {
    return Math.max(50, this.options.heartbeatTimeoutMs / 4);
  }

  private checkSilence(): void {
    const now = Date.now();
    const judging = mayJudge(this.lastCheck, now, this.checkPeriodMs, this.skippedCheck);
    this.lastCheck = now;
    this.skippedCheck = !judging;
    if (!judging) return;
    for (const [worker, before] of [...this.liveness]) {
      const state = expire(before, now);
      this.liveness.set(worker, state);
      const judgement = judge(state, now, this.options.heartbeatTimeoutMs);
      if (judgement.lost) void this.markLost(worker, `worker ${worker} sent no heartbeat for ${judgement.silentMs} ms (rill.workers.heartbeatTimeout ${this.options.heartbeatTimeoutMs} ms${judgement.excusedMs > 0 ? `, after ${judgement.excusedMs} ms excused by a placement` : ""})`);
    }
  }
}
