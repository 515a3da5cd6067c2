// Test helper for replicated state: "machines" are worker processes (`rill worker`) with a state folder each, a
// windowed job's input and its plain-code oracle, and a driver child process to run the job on them.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { mulberry32 } from "../../../src/connectors/sources/activity.ts";

import type { WindowEvent } from "../../helpers/windowed-job.ts";
export { committedWindowRows as committedRows, windowOracle as oracle } from "../../helpers/windowed-job.ts";

const WORKER = join(import.meta.dirname, "..", "..", "..", "src", "cli", "worker.ts");
const JOB = join(import.meta.dirname, "..", "..", "workers", "job.ts");
export const DRIVER = join(import.meta.dirname, "driver-child.ts");

export type Event = WindowEvent;

export function events(files: number, rowsPerFile: number, seed: number): Event[] {
  const random = mulberry32(seed);
  const start = Date.UTC(2026, 0, 1);
  return Array.from({ length: files * rowsPerFile }, (_, id) => ({ id, user: `u${Math.floor(random() * 5)}`, time: start + id * 1000 + Math.floor(random() * 20_000), x: Math.floor(random() * 100) - 20 }));
}

export async function writeInput(folder: string, rows: readonly Event[], rowsPerFile: number): Promise<void> {
  await mkdir(folder, { recursive: true });
  for (let file = 0; file * rowsPerFile < rows.length; file++) {
    const lines = rows.slice(file * rowsPerFile, (file + 1) * rowsPerFile).map((row) => JSON.stringify({ ...row, time: new Date(row.time).toISOString() }));
    await writeFile(join(folder, `part-${String(file).padStart(3, "0")}.json`), `${lines.join("\n")}\n`);
  }
}

/** A run's set-up: the windowed job's input files under `base`, its output folder, the environment of the driver and the workers (on `nats`), and the machines. */
export async function prepareRun(base: string, nats: string, files: number, rowsPerFile: number, seed: number, environment: NodeJS.ProcessEnv = process.env): Promise<{ rows: Event[]; input: string; output: string; env: NodeJS.ProcessEnv; machines: Machines }> {
  const rows = events(files, rowsPerFile, seed);
  const input = join(base, "input");
  const output = join(base, "output");
  await writeInput(input, rows, rowsPerFile);
  await mkdir(output, { recursive: true });
  const env = { ...environment, RILL_WORKER_NATS: nats, RILL_JOB_INPUT: input, RILL_JOB_OUTPUT: output, RILL_JOB_CHECKPOINT: join(base, "driver-checkpoint") };
  return { rows, input, output, env, machines: new Machines(join(base, "machines"), env) };
}

/** Worker processes, each with its own state folder under `root` (a machine's disk). */
export class Machines {
  private readonly children = new Map<string, ChildProcess>();
  private readonly exits = new Map<string, Promise<void>>();
  /** Every line each worker wrote to stderr. */
  readonly logs = new Map<string, string>();

  constructor(private readonly root: string, private readonly env: NodeJS.ProcessEnv) {}

  folder(name: string): string {
    return join(this.root, name);
  }

  pid(name: string): number {
    return this.children.get(name)?.pid ?? -1;
  }

  /** Starts `rill worker` and resolves once it says it is up. */
  async start(name: string): Promise<void> {
    const child = spawn(process.execPath, ["--import", "tsx", WORKER, "--job", JOB, "--name", name, "--heartbeat", "300", "--state-dir", this.folder(name)], { stdio: ["pipe", "ignore", "pipe"], env: this.env });
    this.children.set(name, child);
    this.logs.set(name, "");
    this.exits.set(name, new Promise((resolve) => child.once("exit", () => resolve())));
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on("data", (chunk: Buffer) => {
        this.logs.set(name, (this.logs.get(name) ?? "") + chunk.toString());
        if ((this.logs.get(name) ?? "").includes("is up")) resolve();
      });
      child.once("exit", (code, signal) => reject(new Error(`worker ${name} exited (${signal ?? code}) before it was up: ${this.logs.get(name) ?? ""}`)));
    });
  }

  /** The machine is gone: SIGKILL, and its disk with it. */
  async destroy(name: string): Promise<void> {
    this.children.get(name)?.kill("SIGKILL");
    await this.exits.get(name);
    this.children.delete(name);
    await rm(this.folder(name), { recursive: true, force: true });
  }

  signal(name: string, signal: NodeJS.Signals): void {
    this.children.get(name)?.kill(signal);
  }

  async stopAll(): Promise<void> {
    for (const child of this.children.values()) child.kill("SIGKILL");
    await Promise.all(this.exits.values());
    this.children.clear();
  }
}
