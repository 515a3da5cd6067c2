// The scaffolding of the kill tests: run a child query to its end, SIGKILLing the first runs after they report a given
// number of epochs (plus 0-30 ms, so the kill also lands inside an epoch) or when they reach a named fault point
// (src/core/fault-points.ts), and read what a file sink committed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { committedFiles } from "../../src/connectors/sinks/files.ts";

export interface KilledRuns {
  /** Runs ended by SIGKILL. */
  readonly kills: number;
  /** Kills that came after the child had reported at least one epoch: mid-run, with state and output to lose. */
  readonly midRunKills: number;
  /** What the last run (the one that ran to the end) printed. */
  readonly lastStdout: string;
}

export interface KillPlan {
  /** The child script, run with `node --import tsx`. */
  readonly script: string;
  /** The child's arguments, or a function of the run's index (0 for the first run) giving them. */
  readonly args: readonly string[] | ((run: number) => readonly string[]);
  readonly env: NodeJS.ProcessEnv;
  /**
   * One killed run per entry: after that many `epoch N` lines on its stdout, or, for `{ faultPoint: "<point>:<hit>" }`,
   * frozen at that fault point (RILL_CHAOS_PAUSE_AT) and killed there; then one run to the end (`done N`).
   */
  readonly killAfterEpochs: ReadonlyArray<number | { readonly faultPoint: string }>;
  readonly random?: () => number;
  /** Awaited before the last run (the one not killed) starts: e.g. the end of a publisher that writes during the kills. */
  readonly beforeLastRun?: () => Promise<void>;
}

/** Runs the child until a run ends by itself with exit code 0 and `done N`; a run that fails otherwise fails the test. */
export async function runWithKills(plan: KillPlan): Promise<KilledRuns> {
  const random = plan.random ?? Math.random;
  let kills = 0;
  let midRunKills = 0;
  for (const [run, kill] of [...plan.killAfterEpochs, undefined].entries()) {
    const args = typeof plan.args === "function" ? plan.args(run) : plan.args;
    if (kill === undefined) await plan.beforeLastRun?.();
    const epochs = typeof kill === "number" ? kill : undefined;
    const point = typeof kill === "object" ? kill.faultPoint : undefined;
    const env = point === undefined ? plan.env : { ...plan.env, RILL_CHAOS_PAUSE_AT: point, RILL_CHAOS_PAUSE_MS: "120000" };
    const child = spawn(process.execPath, ["--import", "tsx", plan.script, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
    let stdout = "";
    let stderr = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const reported = stdout.match(/epoch \d+/g)?.length ?? 0;
      if (epochs !== undefined && reported >= epochs && !timer) timer = setTimeout(() => child.kill("SIGKILL"), Math.floor(random() * 30));
      // The process is frozen right after the marker (synchronously), so the kill lands at the point.
      if (point !== undefined && stdout.includes("RILL_FAULT_POINT ")) child.kill("SIGKILL");
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once("exit", (exitCode, exitSignal) => resolve([exitCode, exitSignal])));
    clearTimeout(timer);
    if (signal === "SIGKILL") {
      if (point !== undefined) assert.match(stdout, /RILL_FAULT_POINT /, `the kill at ${point} came from the fault point`);
      kills++;
      if (/epoch \d+/.test(stdout)) midRunKills++;
      continue;
    }
    assert.equal(code, 0, `child failed: ${stderr}`);
    assert.match(stdout, /done \d+/);
    return { kills, midRunKills, lastStdout: stdout };
  }
  throw new Error("unreachable: the last run has no kill");
}

/** The lines the file sink committed in `output` (what a reader of its log sees), in file order. */
export async function committedLines(output: string): Promise<string[]> {
  const lines: string[] = [];
  for (const file of await committedFiles(output)) {
    for (const line of (await readFile(file, "utf8")).split("\n")) if (line.trim()) lines.push(line);
  }
  return lines;
}

/** `RILL_KILL_SEED` when set (to replay a failure), else a fresh seed the assertion messages print. */
export function killSeed(): number {
  return Number(process.env.RILL_KILL_SEED ?? Date.now() % 100_000);
}
