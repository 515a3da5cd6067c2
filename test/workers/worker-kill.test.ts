// Exactly-once with workers: a windowed aggregation on three worker processes of a cluster (rill.workers = cluster), a
// random worker hosting actors SIGKILLed again and again while it runs (a supervisor, the test, starts a new one), and
// the driver SIGKILLed a few times and started again on the same checkpoint (it finds the running workers, which drop
// the dead driver's actors), ends with exactly the committed rows of a run on one process, and of plain code.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { committedWindowRows, type WindowEvent, windowOracle } from "../helpers/windowed-job.ts";
import { childEnvironment, useNatsServer } from "../helpers/nats.ts";

const server = useNatsServer();
const DRIVER = join(import.meta.dirname, "driver-child.ts");
const WORKER = join(import.meta.dirname, "..", "..", "src", "cli", "worker.ts");
const JOB = join(import.meta.dirname, "job.ts");
const FILES = 60;
const ROWS_PER_FILE = 100;
const USERS = 5;
const START = Date.UTC(2026, 0, 1);
const WORKER_KILLS = 10;
const DRIVER_KILLS = 3;
const WORKERS = 3;

type Event = WindowEvent;

function events(): Event[] {
  const random = mulberry32(12);
  return Array.from({ length: FILES * ROWS_PER_FILE }, (_, id) => ({ id, user: `u${Math.floor(random() * USERS)}`, time: START + id * 1000 + Math.floor(random() * 20_000), x: Math.floor(random() * 100) - 20 }));
}

async function writeInput(folder: string, rows: readonly Event[]): Promise<void> {
  for (let file = 0; file < FILES; file++) {
    const lines = rows.slice(file * ROWS_PER_FILE, (file + 1) * ROWS_PER_FILE).map((row) => JSON.stringify({ ...row, time: new Date(row.time).toISOString() }));
    await writeFile(join(folder, `part-${String(file).padStart(3, "0")}.json`), `${lines.join("\n")}\n`);
  }
}

interface Run {
  readonly output: string;
  readonly workerKills: number;
  readonly driverKills: number;
  readonly recoveries: number;
  readonly stderr: string;
}

/** One driver process: `rill.workers` = `workers`, on the job's paths under `base`. */
function spawnDriver(workers: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", DRIVER, workers], { stdio: ["ignore", "pipe", "pipe"], env });
}

/** The reference: every actor in one process, never killed. */
async function runLocal(input: string, base: string): Promise<Run> {
  const output = join(base, "output");
  await mkdir(output, { recursive: true });
  const child = spawnDriver("local", { ...childEnvironment(server()), RILL_JOB_INPUT: input, RILL_JOB_OUTPUT: output, RILL_JOB_CHECKPOINT: join(base, "checkpoint") });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  assert.equal(code, 0, `the driver failed:\n${stderr.slice(-4000)}`);
  assert.match(stdout, /^done \d+$/m);
  return { output, workerKills: 0, driverKills: 0, recoveries: Number(/^recoveries (\d+)$/m.exec(stdout)?.[1] ?? -1), stderr };
}

/**
 * The killed run: WORKERS `rill worker` processes, started here as a supervisor would (a killed one is replaced by a
 * new one under a new name), and a driver with `rill.workers = cluster`. Each time the current driver reports an epoch
 * after the last kill, the next kill of a shuffled plan lands 0-40 ms later: a random worker hosting actors, or the
 * driver, which is then started again on the same checkpoint.
 */
async function runKilled(input: string, base: string, random: () => number): Promise<Run> {
  const output = join(base, "output");
  await mkdir(output, { recursive: true });
  const env = { ...childEnvironment(server()), RILL_JOB_INPUT: input, RILL_JOB_OUTPUT: output, RILL_JOB_CHECKPOINT: join(base, "checkpoint"), RILL_TEST_HEARTBEAT_TIMEOUT: "1500 milliseconds" };
  const workerEnv = { ...env, RILL_WORKER_NATS: JSON.stringify(server().options) };
  const workers = new Map<string, ChildProcess>();
  let started = 0;
  let stderr = "";
  /** Resolves once the worker says it is up (registered and beating). */
  const startWorker = (): Promise<void> => {
    const name = `k${++started}`;
    // stdin stays open: the worker exits if this test process dies.
    const child = spawn(process.execPath, ["--import", "tsx", WORKER, "--job", JOB, "--name", name, "--heartbeat", "300"], { stdio: ["pipe", "ignore", "pipe"], env: workerEnv });
    child.once("exit", () => workers.delete(name));
    workers.set(name, child);
    return new Promise((resolve) => {
      child.stderr?.on("data", (chunk: Buffer) => {
        const text = chunk.toString();
        stderr += `[${name}] ${text}`;
        if (text.includes(" is up")) resolve();
      });
      child.once("exit", () => resolve());
    });
  };
  await Promise.all(Array.from({ length: WORKERS }, () => startWorker()));
  // The order of the kills: WORKER_KILLS workers and DRIVER_KILLS drivers, shuffled, never the driver first.
  const plan: Array<"worker" | "driver"> = [...Array<"worker">(WORKER_KILLS).fill("worker"), ...Array<"driver">(DRIVER_KILLS).fill("driver")];
  for (let index = plan.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [plan[index], plan[other]] = [plan[other] as "worker" | "driver", plan[index] as "worker" | "driver"];
  }
  if (plan[0] === "driver") plan.push(plan.shift() as "driver");
  let workerKills = 0;
  let driverKills = 0;
  let recoveries = 0;
  try {
    for (;;) {
      const driver = spawnDriver("cluster", env);
      let stdout = "";
      let epochsAtLastKill = 0;
      let pending: NodeJS.Timeout | undefined;
      let killedDriver = false;
      driver.stdout?.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const next = plan[workerKills + driverKills];
        if (!next || pending || killedDriver) return;
        const epochs = stdout.match(/^epoch \d+$/gm)?.length ?? 0;
        const hostingLines = stdout.match(/^hosting .*$/gm) ?? [];
        const hosting = (hostingLines[hostingLines.length - 1] ?? "").split(" ").slice(1).filter((name) => workers.has(name));
        if (epochs <= epochsAtLastKill || hosting.length === 0) return;
        pending = setTimeout(() => {
          pending = undefined;
          epochsAtLastKill = stdout.match(/^epoch \d+$/gm)?.length ?? 0;
          if (next === "driver") {
            killedDriver = true;
            driver.kill("SIGKILL");
            driverKills++;
            return;
          }
          const victim = workers.get(hosting[Math.floor(random() * hosting.length)] as string);
          if (!victim || victim.exitCode !== null) return;
          victim.kill("SIGKILL");
          workerKills++;
          void startWorker();
        }, Math.floor(random() * 40));
      });
      let driverErr = "";
      driver.stderr?.on("data", (chunk: Buffer) => (driverErr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => driver.once("exit", resolve));
      clearTimeout(pending);
      stderr += driverErr;
      recoveries += Number(/^recoveries (\d+)$/m.exec(stdout)?.[1] ?? 0);
      if (killedDriver) continue;
      assert.equal(code, 0, `the driver failed:\n${driverErr.slice(-4000)}`);
      assert.match(stdout, /^done \d+$/m);
      break;
    }
  } finally {
    for (const worker of workers.values()) worker.kill("SIGTERM");
    await Promise.all([...workers.values()].map((worker) => (worker.exitCode === null ? new Promise((resolve) => worker.once("exit", resolve)) : undefined)));
    if (process.env.RILL_WORKERS_LOG) await writeFile(`${process.env.RILL_WORKERS_LOG}-killed.log`, stderr);
  }
  return { output, workerKills, driverKills, recoveries, stderr };
}

describe("workers and driver under SIGKILL", () => {
  let folder: string;
  let input: string;
  const rows = events();
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-workers-kill-"));
    input = join(folder, "input");
    await mkdir(input);
    await writeInput(input, rows);
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it(`a windowed aggregation on ${WORKERS} worker processes of a cluster, a random worker SIGKILLed ${WORKER_KILLS} times and the driver ${DRIVER_KILLS} times, commits the rows of a run on one process, once each`, { timeout: 600_000 }, async () => {
    const expected = windowOracle(rows);
    assert.ok(expected.length > 100, `the oracle has windows to compare: ${expected.length}`);
    const reference = await runLocal(input, join(folder, "reference"));
    const referenceRows = await committedWindowRows(reference.output);
    assert.deepEqual(referenceRows, expected, "the run on one process gives the oracle's windows");
    const seed = Number(process.env.RILL_KILL_SEED ?? Date.now() % 100_000);
    const killed = await runKilled(input, join(folder, "killed"), mulberry32(seed));
    const killedRows = await committedWindowRows(killed.output);
    assert.equal(new Set(killedRows).size, killedRows.length, `no row committed twice (RILL_KILL_SEED=${seed})`);
    assert.deepEqual(killedRows, referenceRows, `killed ${killed.workerKills} workers and ${killed.driverKills} drivers (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.workerKills, WORKER_KILLS, `workers hosting actors killed mid-run (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.driverKills, DRIVER_KILLS, `drivers killed mid-run (RILL_KILL_SEED=${seed})`);
    // The drivers after a kill found the running workers again: the killed drivers' actors were dropped for theirs.
    assert.match(killed.stderr, /supersedes run \w+ attempt \d+; releasing|driver \S+ sent no heartbeat for \d+ ms; releasing/, "a worker dropped a dead driver's actors");
    process.stderr.write(`# ${killed.workerKills} worker kills, ${killed.driverKills} driver kills, ${killed.recoveries} rollbacks seen by the drivers that finished or were killed after printing them\n`);
  });
});
