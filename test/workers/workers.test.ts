// Workers: a plan that differs is refused naming the difference; a silent worker is lost within the heartbeat bound.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runJob, Session, startWorker, WorkerError, type Worker } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { committedWindowRows, expectedWindowFiles, writeWindowFiles } from "../helpers/windowed-job.ts";

const server = useNatsServer();
const JOB = join(import.meta.dirname, "job.ts");

describe("workers", () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-workers-"));
    await mkdir(join(folder, "input"));
    await writeWindowFiles(join(folder, "input"), 0, 8);
    process.env.RILL_JOB_INPUT = join(folder, "input");
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("refuses a worker whose job module builds another plan, naming the line that differs", { timeout: 120_000 }, async () => {
    process.env.RILL_JOB_OUTPUT = join(folder, "mismatch-output");
    process.env.RILL_JOB_CHECKPOINT = join(folder, "mismatch-checkpoint");
    const worker: Worker = await startWorker({ nats: server().options, name: "variant", job: join(import.meta.dirname, "job-variant.ts"), heartbeatIntervalMs: 200, log: () => undefined });
    const session = new Session("mismatch", new Map([["rill.workers", "cluster"], ["rill.workers.placementTimeout", "20 seconds"]]), server().options, () => undefined);
    try {
      await assert.rejects(runJob(session, JOB), (error: Error) => {
        assert.match(error.message, /worker variant built a different plan for query 'windows'/);
        assert.match(error.message, /the driver has 'window: window\(time, 60000 ms\)', the worker has 'window: window\(time, 120000 ms\)'/);
        assert.ok(error.cause instanceof WorkerError && error.cause.code === "PLAN_MISMATCH", `a WorkerError with code PLAN_MISMATCH: ${String(error.cause)}`);
        return true;
      });
    } finally {
      await session.stop();
      await worker.close();
    }
  });

  // Without handovers (rill.workers.rebalance = off, workers that do not ask to leave): the fallback path of
  // test/workers/handover-live.test.ts, which is what a failed handover comes down to.
  it("without handovers, a worker that joins is used from the next rollback; one that leaves (close) costs exactly one rollback and nothing else", { timeout: 180_000 }, async () => {
    process.env.RILL_JOB_OUTPUT = join(folder, "leave-output");
    process.env.RILL_JOB_CHECKPOINT = join(folder, "leave-checkpoint");
    await mkdir(process.env.RILL_JOB_OUTPUT, { recursive: true });
    const start = (name: string): Promise<Worker> => startWorker({ nats: server().options, name, job: JOB, heartbeatIntervalMs: 300, leaveTimeoutMs: 0, log: () => undefined });
    const workers = new Map<string, Worker>([["leave-a", await start("leave-a")], ["leave-b", await start("leave-b")]]);
    const session = new Session("leave", new Map([["rill.workers", "cluster"], ["rill.workers.heartbeatTimeout", "3 seconds"], ["rill.shuffle.partitions", "2"], ["rill.recovery.maxRetries", "5"], ["rill.workers.rebalance", "off"]]), server().options, () => undefined);
    try {
      const [query] = await runJob(session, JOB);
      assert.ok(query);
      const hosting = (): string[] => [...new Set(query.placements().values())].sort();
      assert.deepEqual(hosting(), ["leave-a", "leave-b"]);
      workers.set("leave-c", await start("leave-c"));
      assert.deepEqual(hosting(), ["leave-a", "leave-b"], "a worker that joins is not used by the running attempt");
      assert.equal(query.numRecoveries, 0);
      await workers.get("leave-a")?.close();
      workers.delete("leave-a");
      await query.processAllAvailable();
      assert.equal(query.numRecoveries, 1, "leaving cost one rollback");
      assert.deepEqual(hosting(), ["leave-b", "leave-c"], "the new attempt is placed on the worker that joined and the one that stayed");
      assert.deepEqual(await committedWindowRows(process.env.RILL_JOB_OUTPUT), expectedWindowFiles(8));
    } finally {
      await session.stop();
      for (const worker of workers.values()) await worker.close();
    }
  });

  it("gives a silent worker (SIGSTOP) up within the heartbeat timeout, kills it, and ends with the exact windows", { timeout: 300_000 }, async () => {
    process.env.RILL_JOB_OUTPUT = join(folder, "silent-output");
    process.env.RILL_JOB_CHECKPOINT = join(folder, "silent-checkpoint");
    await mkdir(process.env.RILL_JOB_OUTPUT, { recursive: true });
    const messages: Array<{ at: number; text: string }> = [];
    const session = new Session("silent", new Map([["rill.workers", "2"], ["rill.workers.job", JOB], ["rill.workers.heartbeatTimeout", "1 second"], ["rill.shuffle.partitions", "2"], ["rill.recovery.maxRetries", "10"]]), server().options, (text) => messages.push({ at: Date.now(), text }));
    try {
      const [query] = await runJob(session, JOB);
      assert.ok(query);
      const placed = [...query.placements()].filter(([, worker]) => worker !== "driver");
      assert.equal(placed.length, 4, `the source, two aggregate partitions and the sink on workers: ${JSON.stringify(placed)}`);
      const deployment = await session.workers();
      const victim = placed[0]?.[1] as string;
      const pid = deployment.local?.pids()[victim] as number;
      const stoppedAt = Date.now();
      process.kill(pid, "SIGSTOP");
      await query.processAllAvailable();
      const lost = messages.find((message) => message.text.includes(`worker ${victim} sent no heartbeat`));
      assert.ok(lost, `the driver noticed the silence: ${messages.map((message) => message.text).join("\n")}`);
      const noticedAfter = lost.at - stoppedAt;
      // Silence counts from the last heartbeat, up to one interval (333 ms) before the SIGSTOP; the bound is the timeout
      // (1 s) plus the check period (250 ms), with room for a loaded 2-core machine.
      assert.ok(noticedAfter >= 600 && noticedAfter < 3000, `lost after ${noticedAfter} ms`);
      process.stderr.write(`# a silent worker was given up ${noticedAfter} ms after SIGSTOP (heartbeat timeout 1000 ms)\n`);
      assert.ok(query.numRecoveries >= 1);
      assert.equal(deployment.local?.pids()[victim], undefined, "the silent worker was killed");
      assert.ok(!query.placements().has(victim) && ![...query.placements().values()].includes(victim), "nothing is placed on it any more");
      assert.deepEqual(await committedWindowRows(process.env.RILL_JOB_OUTPUT), expectedWindowFiles(8));
      assert.match(query.explain(), /== Placement \(attempt \d+\) ==\n {2}w\w+-\d+: [^\n]*s0-source-json\.p0/);
      assert.ok(![...query.placements().values()].includes("driver"), "the file source runs on a worker too");
    } finally {
      await session.stop();
    }
  });
});
