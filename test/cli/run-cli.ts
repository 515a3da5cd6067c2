// Test helper: the `rill` command from the source tree, as a child process, and what a process leaves behind.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export const RILL = ["--import", "tsx", "src/cli/rill.ts"];

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts `rill args`; `output()` has what it printed so far, `finished` resolves when it exits. */
export interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly errors: () => string;
  readonly finished: Promise<Finished>;
}

export function startRill(args: string[], options: { env?: Record<string, string>; detached?: boolean } = {}): Started {
  const child = spawn(process.execPath, [...RILL, ...args], { env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"], detached: options.detached ?? false });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const finished = new Promise<Finished>((resolve) => child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, output: () => stdout, errors: () => stderr, finished };
}

export async function rill(args: string[], env: Record<string, string> = {}): Promise<Finished> {
  return await startRill(args, { env }).finished;
}

/** Resolves once the child's stdout (or stderr) matches `pattern` (rejects if it exits first). */
export async function waitFor(started: Started, pattern: RegExp, stream: "stdout" | "stderr" = "stdout"): Promise<RegExpExecArray> {
  for (;;) {
    const match = pattern.exec(stream === "stdout" ? started.output() : started.errors());
    if (match) return match;
    if (started.child.exitCode !== null || started.child.signalCode !== null) throw new Error(`exited before printing ${pattern}: ${started.output()} ${started.errors()}`);
    await new Promise<void>((resolve) => started.child[stream]?.once("data", () => resolve()));
  }
}

/** Processes whose command line contains `text` (from /proc). */
export function processesWith(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) found.push(Number(entry));
    } catch {
      // The process ended between the listing and the read: it is not there.
      continue;
    }
  }
  return found;
}

/** The private nats-server on `port`: its processes (the server and its watchdog) and its store folder. */
export function privateServer(port: number): { pids: number[]; storeDir: string | undefined } {
  const pids = processesWith(`127.0.0.1\0-p\0${port}\0`);
  let storeDir: string | undefined;
  for (const pid of pids) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      const index = args.indexOf("-sd");
      if (index >= 0) storeDir = args[index + 1];
    } catch {
      // Gone meanwhile: the other entries still name the folder.
      continue;
    }
  }
  return { pids, storeDir };
}

/** Polls `check` every 50 ms until it holds or `ms` pass; returns whether it held. */
export async function eventually(check: () => boolean, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}
