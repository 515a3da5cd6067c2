// A zombie writer on a shared checkpoint: `rill worker` processes with `rill.workers = cluster` and no replicated state
// share the driver's LMDB environment. One of them stops itself (SIGSTOP, fault point `delta-write`) after an actor
// took its epoch changes and before their write is queued, as a paused machine or a long GC would. The driver gives it
// up after the heartbeat timeout, rolls back and runs on without it, committing the frozen epoch and several more. Then
// it gets SIGCONT and finishes the write it was in: a change of an epoch another attempt has committed since. The
// checkpoint must not take it, and the query, stopped and restarted on that checkpoint with more input, must give plain
// code's windows, each once.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodeControl } from "../../src/actors/control.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { CheckpointStorage } from "../../src/state/lmdb-storage.ts";
import { childEnvironment, useNatsServer } from "../helpers/nats.ts";
import { committedWindowRows, expectedWindowFiles, writeWindowFiles } from "../helpers/windowed-job.ts";

const server = useNatsServer();
const DRIVER = join(import.meta.dirname, "driver-child.ts");
const WORKER = join(import.meta.dirname, "..", "..", "src", "cli", "worker.ts");
const JOB = join(import.meta.dirname, "job.ts");
const FIRST_FILES = 40;
const LATER_FILES = 10;
/** Generous bound on each awaited event, for a loaded 2-core machine: only a hang reaches it. */
const EVENT_TIMEOUT_MS = 120_000;

/** A process's output as it arrives, with a wait for the first match of a pattern after a given point. */
class Output {
  text = "";
  private readonly waiters: Array<() => void> = [];

  constructor(readonly label: string) {}

  add(chunk: Buffer): void {
    this.text += chunk.toString();
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** The first match of `pattern` in the output from `from` on, once there is one. */
  async next(pattern: RegExp, from = 0): Promise<RegExpExecArray> {
    return await this.until(String(pattern), () => pattern.exec(this.text.slice(from)) ?? undefined);
  }

  /** What `found` gives for the output, once it gives something. */
  async until<T>(what: string, found: () => T | undefined): Promise<T> {
    const deadline = Date.now() + EVENT_TIMEOUT_MS;
    for (;;) {
      const result = found();
      if (result !== undefined) return result;
      if (Date.now() > deadline) throw new Error(`${this.label} never printed ${what}; it printed:\n${this.text.slice(-4000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

function spawnWorker(name: string, env: NodeJS.ProcessEnv, out: Output, err: Output): ChildProcess {
  // stdin stays open: the worker exits if this test process dies.
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, "--job", JOB, "--name", name, "--heartbeat", "300"], { stdio: ["pipe", "pipe", "pipe"], env });
  child.stdout?.on("data", (chunk: Buffer) => out.add(chunk));
  child.stderr?.on("data", (chunk: Buffer) => err.add(chunk));
  return child;
}

function spawnDriver(workers: string, env: NodeJS.ProcessEnv, out: Output, err: Output): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", DRIVER, workers], { stdio: ["ignore", "pipe", "pipe"], env });
  child.stdout?.on("data", (chunk: Buffer) => out.add(chunk));
  child.stderr?.on("data", (chunk: Buffer) => err.add(chunk));
  return child;
}

const exited = (child: ChildProcess): Promise<number | null> => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once("exit", resolve)));

describe("a worker paused past its heartbeat timeout resumes while its replacement runs (shared checkpoint)", () => {
  let base = "";
  before(async () => {
    base = await mkdtemp(join(tmpdir(), "rill-zombie-"));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("lands none of its epoch's changes in the checkpoint; a restart on it gives plain code's windows once each", { timeout: 300_000 }, async () => {
    const input = join(base, "input");
    const output = join(base, "output");
    const checkpoint = join(base, "checkpoint");
    const go = join(base, "go");
    await mkdir(input);
    await mkdir(output);
    await writeWindowFiles(input, 0, FIRST_FILES);
    const env = { ...childEnvironment(server()), RILL_JOB_INPUT: input, RILL_JOB_OUTPUT: output, RILL_JOB_CHECKPOINT: checkpoint, RILL_TEST_HEARTBEAT_TIMEOUT: "1500 milliseconds", RILL_TEST_WAIT_FOR: go };
    const workerEnv = { ...env, RILL_WORKER_NATS: JSON.stringify(server().options) };
    const zombieOut = new Output("worker z1 (stdout)");
    const zombieErr = new Output("worker z1");
    const otherErr = new Output("worker w2");
    // z1 stops itself at its 6th epoch write (its actors' changes of an early epoch, taken at the barrier, not yet written).
    const zombie = spawnWorker("z1", { ...workerEnv, RILL_CHAOS_PAUSE_AT: "delta-write:6", RILL_CHAOS_PAUSE_MS: "stop" }, zombieOut, zombieErr);
    const other = spawnWorker("w2", workerEnv, new Output("worker w2 (stdout)"), otherErr);
    // What the zombie's actors report to their (rolled-back) attempt's coordinator, which no one hears but this test.
    const listener = await NatsTransport.connect(server().options);
    const refusals: string[] = [];
    listener.subscribe("rill.windows.*._coordinator", (payload) => {
      const message = decodeControl(payload);
      if (message.type === "failed" && message.error.includes("refused a write")) refusals.push(`${message.actor}: ${message.error}`);
    });
    try {
      await Promise.all([zombieErr.next(/ is up/), otherErr.next(/ is up/)]);
      const driverOut = new Output("driver");
      const driverErr = new Output("driver (stderr)");
      const driver = spawnDriver("cluster", env, driverOut, driverErr);
      await zombieOut.next(/^RILL_FAULT_POINT delta-write 6$/m);
      const frozenAt = { driver: driverErr.text.length, other: otherErr.text.length };
      // The driver gives z1 up and places the next attempt on w2, from the last commit.
      await driverErr.next(/lost worker z1 sent no heartbeat/, frozenAt.driver);
      const resumed = Number((await otherErr.next(/hosting .* \(run \w+, from epoch (\d+)\)/, frozenAt.other))[1]);
      // z1's frozen epoch is after the last commit, and its epoch before at most: let the next attempt commit well past both.
      const past = resumed + 6;
      await driverOut.until(`a commit of epoch ${past} or later`, () => ([...driverOut.text.matchAll(/^committed (\d+)$/gm)].some((match) => Number(match[1]) >= past) ? true : undefined));
      const continuedAt = zombieErr.text.length;
      assert.ok(zombie.kill("SIGCONT"), "z1 took SIGCONT");
      // z1 goes on with the write it was in. The driver keeps it out (a worker given up stays out), so z1 keeps its
      // actors of the rolled-back attempt until the driver is gone: it then releases them once their writes settled.
      await writeFile(go, "");
      const code = await exited(driver);
      assert.equal(code, 0, `the driver failed:\n${driverErr.text.slice(-4000)}`);
      assert.match(driverOut.text, /^done \d+$/m);
      await zombieErr.next(/released .*; their epoch writes have settled/, continuedAt);
      zombie.kill("SIGKILL");
      await exited(zombie);

      // The checkpoint's invariant: no change of a committed epoch outside the state.
      const storage = CheckpointStorage.open(checkpoint);
      const lastCommitted = storage.lastCommit()?.epoch ?? -1;
      const stale = storage.pendingEpochs().filter((epoch) => epoch <= lastCommitted);
      await storage.close();

      // More input, and the query restarted on the checkpoint in one process.
      await writeWindowFiles(input, FIRST_FILES, FIRST_FILES + LATER_FILES);
      const restartOut = new Output("restarted driver");
      const restartErr = new Output("restarted driver (stderr)");
      const restartCode = await exited(spawnDriver("local", env, restartOut, restartErr));
      process.stdout.write(`# z1 froze at its 6th epoch write; the next attempt resumed from epoch ${resumed} and committed past ${past} before SIGCONT; last commit ${lastCommitted}; changes of committed epochs left outside the state: ${stale.length === 0 ? "none" : stale.join(", ")}\n`);
      assert.deepEqual(stale, [], `the resumed zombie wrote changes of committed epochs ${stale.join(", ")} (last commit ${lastCommitted}) into the checkpoint; the restart on it then exited with ${String(restartCode)}: ${/The checkpoint at '\/[^']*' is damaged: [^\n]*/.exec(restartErr.text)?.[0] ?? restartErr.text.slice(-400)}`);
      assert.ok(refusals.length > 0, "the zombie wrote nothing after it resumed, so the fence was not put to the test");
      process.stdout.write(`# refused: ${refusals.map((refusal) => refusal.slice(0, 260)).join(" | ")}\n`);
      assert.equal(restartCode, 0, `the restart on the checkpoint failed:\n${restartErr.text.slice(-3000)}`);
      const rows = await committedWindowRows(output);
      assert.equal(new Set(rows).size, rows.length, "no window committed twice");
      assert.deepEqual(rows, expectedWindowFiles(FIRST_FILES + LATER_FILES));
    } finally {
      zombie.kill("SIGCONT");
      for (const worker of [zombie, other]) worker.kill("SIGKILL");
      await Promise.all([exited(zombie), exited(other)]);
      await listener.close();
    }
  });
});
