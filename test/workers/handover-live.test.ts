// Planned re-placement (handover) on a live cluster of workers (rill.workers = cluster), without a rollback: a worker
// that joins a running query hosts actors from the next epoch boundary; one that closes gracefully hands its actors
// over first; query.rebalance() does it on request. Each ends with plain code's windows, no recovery, and the log's
// proof that no epoch was asked for after the handover's final one (nothing read twice).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runJob, Session, startWorker, type StreamingQuery, type Worker } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { SessionLog } from "../helpers/session-log.ts";
import { committedWindowRows, expectedWindowFiles, ROWS_PER_FILE, writeWindowFiles } from "../helpers/windowed-job.ts";

const server = useNatsServer();
const JOB = join(import.meta.dirname, "job.ts");

const hosting = (query: StreamingQuery): string[] => [...new Set(query.placements().values())].sort();

describe("handover: re-placement at an epoch boundary without a rollback", () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-handover-"));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  /** A test's paths and workers; the session is `cluster` with 2 shuffle partitions (4 actors: source, 2 aggregates, sink). */
  async function setUp(name: string, workerNames: readonly string[], files: number, config: Record<string, string> = {}): Promise<{ input: string; output: string; log: SessionLog; session: Session; workers: Map<string, Worker>; start: (worker: string) => Promise<void> }> {
    const base = join(folder, name);
    const input = join(base, "input");
    const output = join(base, "output");
    await mkdir(input, { recursive: true });
    await mkdir(output, { recursive: true });
    await writeWindowFiles(input, 0, files);
    process.env.RILL_JOB_INPUT = input;
    process.env.RILL_JOB_OUTPUT = output;
    process.env.RILL_JOB_CHECKPOINT = join(base, "checkpoint");
    const workers = new Map<string, Worker>();
    const log = new SessionLog(90_000);
    const start = async (worker: string): Promise<void> => {
      workers.set(worker, await startWorker({ nats: server().options, name: worker, job: JOB, heartbeatIntervalMs: 200, leaveTimeoutMs: 60_000, log: (line) => log.add(`[${worker}] ${line}`) }));
    };
    for (const worker of workerNames) await start(worker);
    const session = new Session(name, new Map(Object.entries({ "rill.workers": "cluster", "rill.workers.heartbeatTimeout": "3 seconds", "rill.shuffle.partitions": "2", "rill.recovery.maxRetries": "5", "rill.workers.rebalanceDelay": "300 milliseconds", ...config })), server().options, log.add);
    return { input, output, log, session, workers, start };
  }

  it("a worker that joins a running query hosts actors from the next epoch boundary: no rollback, plain code's windows", { timeout: 180_000 }, async () => {
    const { input, output, log, session, workers, start } = await setUp("join", ["j-a", "j-b"], 6);
    try {
      const [query] = await runJob(session, JOB);
      assert.ok(query);
      await query.processAllAvailable();
      assert.deepEqual(hosting(query), ["j-a", "j-b"]);
      await start("j-c");
      const done = await log.waitFor(/handed over in \d+ ms without a rollback/);
      assert.match(done, /workers? j-c joined/);
      assert.match(done, /nothing replayed/, "no epoch was asked for after the final one: nothing is read twice");
      assert.deepEqual(hosting(query), ["j-a", "j-b", "j-c"], "the next attempt is placed on the worker that joined too");
      await writeWindowFiles(input, 6, 12);
      await query.processAllAvailable();
      assert.equal(query.numRecoveries, 0, "a handover is no recovery");
      assert.equal(query.numReplacements, 1);
      assert.equal(query.lastProgress?.numReplacements, 1);
      assert.ok(query.lastProgress?.workers?.some((worker) => worker.name === "j-c" && worker.actors.length > 0), "progress shows j-c hosting actors");
      assert.match(query.explain(), /== Placement \(attempt 1\) ==[^]*j-c: /);
      const rows = await committedWindowRows(output);
      assert.equal(new Set(rows).size, rows.length, "no window committed twice");
      assert.deepEqual(rows, expectedWindowFiles(12));
    } finally {
      await session.stop();
      for (const worker of workers.values()) await worker.close();
    }
  });

  it("a worker that closes gracefully hands its actors over first: no rollback, plain code's windows", { timeout: 180_000 }, async () => {
    const { input, output, log, session, workers } = await setUp("leave", ["l-a", "l-b", "l-c"], 6);
    try {
      const [query] = await runJob(session, JOB);
      assert.ok(query);
      await query.processAllAvailable();
      const before = hosting(query);
      assert.equal(before.length, 3, `4 actors on 3 workers: ${before.join(", ")}`);
      const leaving = before[0] as string;
      await workers.get(leaving)?.close();
      workers.delete(leaving);
      // close() resolved after the driver answered: the handover was done by then.
      assert.ok(!hosting(query).includes(leaving), `nothing is placed on ${leaving} any more: ${hosting(query).join(", ")}`);
      assert.match(await log.waitFor(/handed over in \d+ ms without a rollback/), new RegExp(`worker ${leaving} leaves\\), nothing replayed`));
      assert.ok(log.lines.some((line) => line.includes(`[${leaving}] rill worker ${leaving}: every driver handed its actors over`)), "the worker heard the driver was done");
      await writeWindowFiles(input, 6, 12);
      await query.processAllAvailable();
      assert.equal(query.numRecoveries, 0, "leaving gracefully cost no rollback");
      assert.equal(query.numReplacements, 1);
      const rows = await committedWindowRows(output);
      assert.equal(new Set(rows).size, rows.length, "no window committed twice");
      assert.deepEqual(rows, expectedWindowFiles(12));
    } finally {
      await session.stop();
      for (const worker of workers.values()) await worker.close();
    }
  });

  it("query.rebalance() hands over while files wait to be read; the pause is measured; the windows are plain code's", { timeout: 180_000 }, async () => {
    const { output, log, session, workers } = await setUp("rebalance", ["r-a", "r-b"], 40);
    try {
      const epochs: Array<{ at: number; batchId: number; rows: number }> = [];
      session.streams.addListener({ onQueryProgress: ({ progress }) => void epochs.push({ at: Date.now(), batchId: progress.batchId, rows: progress.numInputRows }) });
      const [query] = await runJob(session, JOB);
      assert.ok(query);
      // Wait until a few files are in, so the handover lands mid-stream.
      while (epochs.filter((epoch) => epoch.rows > 0).length < 5) await new Promise<void>((resolve) => session.streams.addListener({ onQueryProgress: () => resolve() }));
      const asked = Date.now();
      assert.equal(await query.rebalance(), true);
      const resumed = Date.now();
      const done = await log.waitFor(/handed over in \d+ ms without a rollback/);
      assert.match(done, /asked by rebalance\(\)\), nothing replayed/);
      await query.processAllAvailable();
      // Listeners get progress events off the query's path: the last epoch's may still be queued.
      await session.streams.bus.drained();
      const first = epochs.find((epoch) => epoch.at >= resumed && epoch.rows > 0);
      assert.ok(first, "the next attempt read the files still waiting");
      const before = epochs.filter((epoch) => epoch.at < asked && epoch.rows > 0);
      const gaps = before.slice(1).map((epoch, index) => epoch.at - (before[index] as { at: number }).at).sort((a, b) => a - b);
      process.stderr.write(`# handover pause: ${first.at - asked} ms from rebalance() to the first epoch with rows after it (rebalance() itself ${resumed - asked} ms; median gap between epochs with rows before it ${gaps[Math.floor(gaps.length / 2)] ?? "?"} ms)\n`);
      const batchIds = epochs.map((epoch) => epoch.batchId);
      assert.deepEqual(batchIds, [...batchIds].sort((a, b) => a - b), "epochs go on in order");
      assert.equal(new Set(batchIds).size, batchIds.length, "no epoch reported twice");
      assert.equal(query.numRecoveries, 0);
      assert.equal(query.numReplacements, 1);
      assert.equal(epochs.reduce((sum, epoch) => sum + epoch.rows, 0), 40 * ROWS_PER_FILE, "each row read once in a committed epoch");
      const rows = await committedWindowRows(output);
      assert.equal(new Set(rows).size, rows.length, "no window committed twice");
      assert.deepEqual(rows, expectedWindowFiles(40));
    } finally {
      await session.stop();
      for (const worker of workers.values()) await worker.close();
    }
  });
});
