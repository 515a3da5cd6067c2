// Worker processes on this machine, started and stopped by the session (`rill.workers` = a number); a lost one is replaced.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { NatsOptions } from "../actors/nats-transport.ts";
import { QUERY_NODE_FLAGS } from "../core/node-flags.ts";

/** The variable a local worker reads its NATS connection options from (credentials stay off the command line). */
export const WORKER_NATS_VARIABLE = "RILL_WORKER_NATS";

export interface LocalWorkersOptions {
  readonly count: number;
  /** The job module every worker loads (the driver's). */
  readonly job: string;
  readonly nats: NatsOptions;
  readonly subjectPrefix: string;
  readonly heartbeatIntervalMs: number;
  readonly slots: number;
  readonly log: (message: string) => void;
  /** A worker process ended (killed, crashed): the session knows at once, before any heartbeat is missed. */
  readonly onExit: (worker: string, how: string) => void;
}

export class LocalWorkers {
  private readonly children = new Map<string, ChildProcess>();
  private readonly exited = new Map<string, Promise<void>>();
  private readonly session = randomBytes(3).toString("hex");
  private started = 0;
  private closing = false;

  constructor(private readonly options: LocalWorkersOptions) {}

  start(): void {
    for (let index = 0; index < this.options.count; index++) this.spawnOne();
  }

  /** Names of the processes running now. */
  get names(): string[] {
    return [...this.children.keys()];
  }

  owns(worker: string): boolean {
    return worker.startsWith(`w${this.session}-`);
  }

  /** Process ids by worker name (for tests and `rill` tooling). */
  pids(): Record<string, number> {
    return Object.fromEntries([...this.children].map(([name, child]) => [name, child.pid ?? -1]));
  }

  /** Kills a worker given up for lost (it may only be stalled) and waits for its exit: it writes nothing more after. */
  async fence(worker: string): Promise<void> {
    this.children.get(worker)?.kill("SIGKILL");
    await this.exited.get(worker);
  }

  /** Stops every worker (SIGTERM: they stop their actors and leave), then kills what is left after 10 s. */
  async close(): Promise<void> {
    this.closing = true;
    for (const child of this.children.values()) child.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const child of this.children.values()) child.kill("SIGKILL");
    }, 10_000);
    await Promise.all(this.exited.values());
    clearTimeout(timer);
  }

  private spawnOne(): void {
    const name = `w${this.session}-${++this.started}`;
    const args = workerArguments(this.options, name, import.meta.url.endsWith(".js"));
    // stdin stays open: a worker exits when its driver is gone (the pipe closes), so no local worker outlives it.
    const child = spawn(process.execPath, args, { stdio: ["pipe", "ignore", "pipe"], env: { ...process.env, [WORKER_NATS_VARIABLE]: JSON.stringify(this.options.nats) } });
    this.children.set(name, child);
    let tail = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-4000);
      const lines = tail.split("\n");
      tail = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) this.options.log(`[${name}] ${line}`);
    });
    this.exited.set(name, new Promise((resolve) => child.once("exit", (code, signal) => {
      this.children.delete(name);
      if (!this.closing) this.options.onExit(name, `worker ${name} (pid ${child.pid}) exited (${signal ?? `code ${code}`})`);
      if (!this.closing) {
        this.options.log(`rill: local worker ${name} (pid ${child.pid}) exited (${signal ?? `code ${code}`}); starting a replacement.`);
        this.spawnOne();
      }
      resolve();
    })));
  }
}

/**
 * The node command line of a local worker: Rill's V8 flags (src/core/node-flags.ts), then, from the sources
 * (development, tests), the tsx loader; from the built package (dist/) plain JavaScript, with tsx only when the job
 * module is TypeScript.
 */
export function workerArguments(options: Pick<LocalWorkersOptions, "job" | "slots" | "subjectPrefix" | "heartbeatIntervalMs">, name: string, built: boolean): string[] {
  const entry = fileURLToPath(new URL(built ? "../cli/worker.js" : "../cli/worker.ts", import.meta.url));
  const loader = !built || /\.[cm]?ts$/.test(options.job) ? ["--import", import.meta.resolve("tsx")] : [];
  return [...QUERY_NODE_FLAGS, ...loader, entry, "--name", name, "--slots", String(options.slots), "--job", options.job, "--prefix", options.subjectPrefix, "--heartbeat", String(options.heartbeatIntervalMs)];
}
