// Handovers with real processes: `rill worker` processes and a driver process (rill.workers = cluster) on a windowed
// aggregation. A worker that joins, and one that leaves on SIGTERM, cost no rollback; SIGKILL of the leaving worker, of
// another worker, or of the driver in the middle of a handover falls back to a rollback (or a restart on the
// checkpoint). Every run commits exactly plain code's windows, once each.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
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
const FILES = 200;
const ROWS_PER_FILE = 30;
/** Files written only once the scenario is done, so the query still has input to read after it. */
const HELD = 10;
/** The input arrives as a producer writes it: one file per interval while the scenario runs. */
const FILE_INTERVAL_MS = 200;
const START = Date.UTC(2026, 0, 1);

function events(): WindowEvent[] {
  const random = mulberry32(23);
  return Array.from({ length: FILES * ROWS_PER_FILE }, (_, id) => ({ id, user: `u${Math.floor(random() * 5)}`, time: START + id * 1000 + Math.floor(random() * 20_000), x: Math.floor(random() * 100) - 20 }));
}

/** Writes file `file` whole (a rename), so the source never sees half of one. */
async function writeInputFile(folder: string, staging: string, rows: readonly WindowEvent[], file: number): Promise<void> {
  const lines = rows.slice(file * ROWS_PER_FILE, (file + 1) * ROWS_PER_FILE).map((row) => JSON.stringify({ ...row, time: new Date(row.time).toISOString() }));
  const name = `part-${String(file).padStart(3, "0")}.json`;
  await writeFile(join(staging, name), `${lines.join("\n")}\n`);
  await rename(join(staging, name), join(folder, name));
}

/** What a scenario can do while the driver runs: start and signal workers, kill the driver, wait for log lines. */
interface Cluster {
  readonly workers: Map<string, ChildProcess>;
  startWorker(name: string): Promise<void>;
  /** Resolves when the log (every process's stderr and the driver's stdout), counted from `after` characters, matches. */
  waitFor(pattern: RegExp, after?: number): Promise<string>;
  readonly logLength: number;
  killDriver(): void;
}

interface Outcome {
  readonly rows: string[];
  readonly recoveries: number;
  readonly replacements: number;
  readonly log: string;
  readonly exits: Map<string, number | null>;
}

async function runScenario(base: string, rows: readonly WindowEvent[], initialWorkers: readonly string[], script: (cluster: Cluster) => Promise<void>): Promise<Outcome> {
  const output = join(base, "output");
  const input = join(base, "input");
  const staging = join(base, "staging");
  const go = join(base, "all-written");
  for (const folder of [output, input, staging]) await mkdir(folder, { recursive: true });
  const env = { ...childEnvironment(server()), RILL_JOB_INPUT: input, RILL_JOB_OUTPUT: output, RILL_JOB_CHECKPOINT: join(base, "checkpoint"), RILL_TEST_HEARTBEAT_TIMEOUT: "2 seconds", RILL_TEST_WAIT_FOR: go };
  const workerEnv = { ...env, RILL_WORKER_NATS: JSON.stringify(server().options) };
  const workers = new Map<string, ChildProcess>();
  const exits = new Map<string, number | null>();
  let log = "";
  const waiters = new Set<() => void>();
  const live = process.env.RILL_WORKERS_LOG ? `${process.env.RILL_WORKERS_LOG}-${base.split("/").pop() ?? "run"}.live.log` : undefined;
  const append = (text: string): void => {
    log += text;
    if (live) appendFileSync(live, text);
    for (const wake of [...waiters]) wake();
  };
  const waitFor = (pattern: RegExp, from = 0): Promise<string> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`no ${String(pattern)} in the log within 120 s:\n${log.slice(-4000)}`));
    }, 120_000);
    const check = (): void => {
      const found = pattern.exec(log.slice(from));
      if (!found) return;
      clearTimeout(timer);
      waiters.delete(check);
      resolve(found[0]);
    };
    waiters.add(check);
    check();
  });
  const startWorker = (name: string): Promise<void> => {
    // stdin stays open: the worker exits if this test process dies.
    const child = spawn(process.execPath, ["--import", "tsx", WORKER, "--job", JOB, "--name", name, "--heartbeat", "300", "--leave-timeout", "60000"], { stdio: ["pipe", "ignore", "pipe"], env: workerEnv });
    workers.set(name, child);
    child.once("exit", (code) => {
      exits.set(name, code);
      workers.delete(name);
    });
    child.stderr?.on("data", (chunk: Buffer) => append(chunk.toString().split("\n").filter(Boolean).map((line) => `[${name}] ${line}\n`).join("")));
    return waitFor(new RegExp(`rill worker ${name} \\(pid \\d+\\) is up`)).then(() => undefined);
  };
  await Promise.all(initialWorkers.map((name) => startWorker(name)));
  let recoveries = 0;
  let replacements = 0;
  let driver: ChildProcess | undefined;
  const cluster: Cluster = { workers, startWorker, waitFor, get logLength() { return log.length; }, killDriver: () => driver?.kill("SIGKILL") };
  let scripted: Promise<void> | undefined;
  let scriptDone = false;
  let written = 0;
  const producer = setInterval(() => {
    if (written >= FILES - HELD) return;
    void writeInputFile(input, staging, rows, written++);
  }, FILE_INTERVAL_MS);
  /** After the scenario: the rest of the input, then the mark that it is all there (the driver then reads to the end). */
  const finishInput = async (): Promise<void> => {
    clearInterval(producer);
    while (written < FILES) await writeInputFile(input, staging, rows, written++);
    await writeFile(go, "");
  };
  try {
    for (;;) {
      driver = spawn(process.execPath, ["--import", "tsx", DRIVER, "cluster"], { stdio: ["ignore", "pipe", "pipe"], env });
      let stdout = "";
      driver.stdout?.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        append(chunk.toString());
      });
      driver.stderr?.on("data", (chunk: Buffer) => append(chunk.toString().split("\n").filter(Boolean).map((line) => `[driver] ${line}\n`).join("")));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => driver?.once("exit", (code, signal) => resolve({ code, signal })));
      // A scenario that fails still lets the driver finish (so every process ends), then fails the test.
      scripted ??= script(cluster).then(() => {
        scriptDone = true;
      }).then(finishInput, async (error: unknown) => {
        await finishInput();
        throw error;
      });
      const { code, signal } = await exited;
      recoveries += Number(/^recoveries (\d+)$/m.exec(stdout)?.[1] ?? 0);
      replacements += Number(/^replacements (\d+)$/m.exec(stdout)?.[1] ?? 0);
      if (signal === "SIGKILL") continue;
      assert.equal(code, 0, `the driver failed:\n${log.slice(-6000)}`);
      assert.match(stdout, /^done \d+$/m);
      break;
    }
    await scripted;
    assert.ok(scriptDone);
  } finally {
    clearInterval(producer);
    for (const worker of workers.values()) worker.kill("SIGTERM");
    await Promise.all([...workers.values()].map((worker) => (worker.exitCode === null ? new Promise((resolve) => worker.once("exit", resolve)) : undefined)));
    if (process.env.RILL_WORKERS_LOG) await writeFile(`${process.env.RILL_WORKERS_LOG}-${base.split("/").pop() ?? "run"}.log`, log);
  }
  return { rows: await committedWindowRows(output), recoveries, replacements, log, exits };
}

/** The n-th `epoch N` line of the driver (an epoch with input committed), counted from `after`. */
const epochs = (count: number): RegExp => new RegExp(`(?:^epoch \\d+$[^]*?){${count}}`, "m");

describe("handover with worker and driver processes", () => {
  let folder: string;
  const rows = events();
  const expected = windowOracle(rows);
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-handover-kill-"));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  const exact = (outcome: Outcome, what: string): void => {
    assert.equal(new Set(outcome.rows).size, outcome.rows.length, `${what}: no window committed twice`);
    assert.deepEqual(outcome.rows, expected, `${what}: plain code's windows`);
  };

  it("a worker joins (handover 1), then one hosting actors gets SIGTERM and leaves (handover 2): no rollback, exact windows", { timeout: 300_000 }, async () => {
    assert.ok(expected.length > 100, `windows to compare: ${expected.length}`);
    const outcome = await runScenario(join(folder, "join-leave"), rows, ["g-a", "g-b"], async (cluster) => {
      await cluster.waitFor(epochs(3));
      await cluster.startWorker("g-c");
      await cluster.waitFor(/handed over in \d+ ms without a rollback \(worker g-c joined[^\n]*nothing replayed/);
      const mark = cluster.logLength;
      await cluster.waitFor(epochs(1), mark);
      cluster.workers.get("g-a")?.kill("SIGTERM");
      await cluster.waitFor(/handed over in \d+ ms without a rollback \(worker g-a leaves\), nothing replayed/, mark);
    });
    exact(outcome, "join then leave");
    assert.equal(outcome.recoveries, 0, "neither the join nor the leave cost a rollback");
    assert.equal(outcome.replacements, 2);
    assert.equal(outcome.exits.get("g-a"), 0, "the leaving worker exited cleanly after the handover");
    assert.match(outcome.log, /\[g-a\] rill worker g-a: every driver handed its actors over in \d+ ms; 0 actors left here/);
  });

  it("SIGKILL of the leaving worker while the driver hands its actors over: one rollback at most, exact windows", { timeout: 300_000 }, async () => {
    const outcome = await runScenario(join(folder, "kill-leaving"), rows, ["v-a", "v-b", "v-c"], async (cluster) => {
      await cluster.waitFor(epochs(3));
      const victim = "v-a";
      cluster.workers.get(victim)?.kill("SIGTERM");
      await cluster.waitFor(/\[driver\] rill: query '\w+' \[id = [^\]]+\] hands over at the next epoch boundary \(worker v-a leaves\)/);
      cluster.workers.get(victim)?.kill("SIGKILL");
    });
    exact(outcome, "leaving worker killed mid-handover");
    assert.ok(outcome.recoveries <= 1, `one rollback allowed, saw ${outcome.recoveries}`);
    assert.equal(outcome.exits.get("v-a"), null, "the leaving worker was killed, not exited");
  });

  it("SIGKILL of another worker while a joined worker's handover runs: one rollback at most, exact windows", { timeout: 300_000 }, async () => {
    const outcome = await runScenario(join(folder, "kill-other"), rows, ["o-a", "o-b"], async (cluster) => {
      await cluster.waitFor(epochs(3));
      await cluster.startWorker("o-c");
      await cluster.waitFor(/\[driver\] rill: query '\w+' \[id = [^\]]+\] hands over at the next epoch boundary \(worker o-c joined/);
      cluster.workers.get("o-a")?.kill("SIGKILL");
    });
    exact(outcome, "another worker killed mid-handover");
    assert.ok(outcome.recoveries <= 1, `one rollback allowed, saw ${outcome.recoveries}`);
  });

  it("SIGKILL of the driver while it hands over for a leaving worker: the restarted driver ends with the exact windows", { timeout: 300_000 }, async () => {
    const outcome = await runScenario(join(folder, "kill-driver"), rows, ["d-a", "d-b", "d-c"], async (cluster) => {
      await cluster.waitFor(epochs(3));
      cluster.workers.get("d-a")?.kill("SIGTERM");
      await cluster.waitFor(/\[driver\] rill: query '\w+' \[id = [^\]]+\] hands over at the next epoch boundary \(worker d-a leaves\)/);
      cluster.killDriver();
    });
    exact(outcome, "driver killed mid-handover");
    // The leaving worker's request died with the driver: it left the old way once the request failed.
    assert.match(outcome.log, /\[d-a\] rill worker d-a: (leaving without a handover|every driver handed)/);
  });
});
