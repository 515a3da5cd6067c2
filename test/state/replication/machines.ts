// Test helper for replicated state: "machines" are worker processes (`rill worker`) with a state folder each, a
// windowed job's input and its plain-code oracle, and a driver child process to run the job on them.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { committedFiles } from "../../../src/connectors/sinks/files.ts";
import { mulberry32 } from "../../../src/connectors/sources/activity.ts";

const WORKER = join(import.meta.dirname, "..", "..", "..", "src", "cli", "worker.ts");
const JOB = join(import.meta.dirname, "..", "..", "workers", "job.ts");
export const DRIVER = join(import.meta.dirname, "driver-child.ts");

export interface Event {
  readonly id: number;
  readonly user: string;
  readonly time: number;
  readonly x: number;
}

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

/** Plain code: 1-minute windows per user, emitted once the watermark (latest time minus 30 s) passed their end. */
export function oracle(rows: readonly Event[]): string[] {
  const watermark = Math.max(...rows.map((row) => row.time)) - 30_000;
  const windows = new Map<string, { user: string; start: number; end: number; n: number; total: number }>();
  for (const row of rows) {
    const start = row.time - (row.time % 60_000);
    const window = windows.get(`${row.user}/${start}`) ?? { user: row.user, start, end: start + 60_000, n: 0, total: 0 };
    window.n++;
    window.total += row.x;
    windows.set(`${row.user}/${start}`, window);
  }
  return [...windows.values()].filter((window) => window.end <= watermark).map((window) => JSON.stringify(window)).sort();
}

export async function committedRows(output: string): Promise<string[]> {
  const rows: string[] = [];
  for (const file of await committedFiles(output)) {
    for (const line of (await readFile(file, "utf8")).split("\n")) if (line.trim()) rows.push(JSON.stringify(JSON.parse(line)));
  }
  return rows.sort();
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
