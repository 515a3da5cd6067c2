// The scaffolding of the kill tests: run a child query to its end, SIGKILLing the first runs after they report a given
// number of epochs (plus 0-30 ms, so the kill also lands inside an epoch), and read what a file sink committed.
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
  /** One killed run per entry, after that many `epoch N` lines on its stdout; then one run to the end (`done N`). */
  readonly killAfterEpochs: readonly number[];
  readonly random?: () => number;
}

/** Runs the child until a run ends by itself with exit code 0 and `done N`; a run that fails otherwise fails the test. */
export async function runWithKills(plan: KillPlan): Promise<KilledRuns> {
  const random = plan.random ?? Math.random;
  let kills = 0;
  let midRunKills = 0;
  for (const [run, epochs] of [...plan.killAfterEpochs, undefined].entries()) {
    const args = typeof plan.args === "function" ? plan.args(run) : plan.args;
    const child = spawn(process.execPath, ["--import", "tsx", plan.script, ...args], { stdio: ["ignore", "pipe", "pipe"], env: plan.env });
    let stdout = "";
    let stderr = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const reported = stdout.match(/epoch \d+/g)?.length ?? 0;
      if (epochs !== undefined && reported >= epochs && !timer) timer = setTimeout(() => child.kill("SIGKILL"), Math.floor(random() * 30));
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once("exit", (exitCode, exitSignal) => resolve([exitCode, exitSignal])));
    clearTimeout(timer);
    if (signal === "SIGKILL") {
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
