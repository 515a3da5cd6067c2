// From a restart on a checkpoint to the first new output: in this process (stop, then start() again) and in a new
// process (what a crash restart costs: Node, tsx and Rill's imports, a NATS connection, the checkpoint, the first row).
//
// The grouped count (update mode) runs on a totalRows-bounded activity source at 10k rows/s, checkpointed every 1 s.
// The first run stops once a fifth of the rows are counted and an epoch is committed; then the query is started again
// on the same location in this process (twice), and once in a child process that runs it to the end. The source's
// offsets keep its schedule, so the rows due while the query was down are ready at once: the first new output is the
// first row the restarted query emits. One tracker follows every run's rows (update mode: the latest count per gt
// wins), and the final counts must equal plain code's over every row: nothing lost, nothing counted twice.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { nowMs } from "../../src/core/clock.ts";
import type { Row } from "../../src/index.ts";
import { summarize } from "./expected.ts";
import type { RunContext } from "./point.ts";
import { restartSession, startRestartQuery, type RestartQueryOptions } from "./restart-query.ts";
import { scenarioById, type SinkTracker } from "./scenarios.ts";

export interface InProcessRestart {
  /** From the call to start() on the checkpoint to the first row in the sink (ms). */
  readonly startToFirstRowMs: number;
  /** Of which start() itself (open the checkpoint, restore state, subscribe, open the sources). */
  readonly startCallMs: number;
}

export interface NewProcessRestart {
  /** From spawn() to the first row in the child's sink (ms): the whole cost of a crash restart. */
  readonly spawnToFirstRowMs: number;
  /** From spawn() to the first line of the child's script (Node and the tsx loader). */
  readonly nodeStartMs: number;
  /** Importing Rill (src/index.ts through tsx). */
  readonly importMs: number;
  /** start() on the checkpoint, NATS connection included (the session connects at the first start()). */
  readonly startCallMs: number;
  /** From start() resolving to the first row in the sink. */
  readonly firstRowMs: number;
  /** From spawn() to the first epoch the new process committed (recovery complete and durable). */
  readonly spawnToFirstCommitMs: number;
  /** The engine's share of that: from Rill's imports done (start() called) to the first committed epoch. */
  readonly engineToFirstCommitMs: number;
}

export interface RestartResult {
  readonly scenario: string;
  readonly rowsPerSecond: number;
  readonly totalRows: number;
  /** Rows counted when the first run stopped. */
  readonly rowsBeforeStop: number;
  readonly inProcess: readonly InProcessRestart[];
  readonly newProcess: NewProcessRestart | undefined;
  /** Wrong final counts, a failed query or child; undefined when all is right. */
  readonly error: string | undefined;
  readonly wallMs: number;
}

const CHILD = join(import.meta.dirname, "restart-child.ts");
const IN_PROCESS_RESTARTS = 2;
const CHILD_TIMEOUT_MS = 20_000;

export async function measureRestarts(context: RunContext, rowsPerSecond: number, seconds: number): Promise<RestartResult> {
  const started = nowMs();
  const totalRows = Math.round(rowsPerSecond * seconds);
  const scenario = scenarioById("count");
  if ("run" in scenario) throw new Error("the restart measurement needs the activity source's grouped count");
  const tracker = scenario.tracker(summarize({ seed: context.seed, numPartitions: context.numPartitions, totalRows }));
  const folder = await mkdtemp(join(tmpdir(), "rill-bench-restart-"));
  const options: RestartQueryOptions = { nats: context.nats, checkpointLocation: join(folder, "checkpoint"), queryName: "bench_restart_count", rowsPerSecond, totalRows, seed: context.seed, numPartitions: context.numPartitions };
  const session = restartSession(options, (message) => context.log(`restart: ${message}`));
  const inProcess: InProcessRestart[] = [];
  let rowsBeforeStop = 0;
  let newProcess: NewProcessRestart | undefined;
  let error: string | undefined;
  try {
    const sink = new RowEvents(tracker);
    const first = await startRestartQuery(session, options, sink.onRow);
    await within(sink.until(() => tracker.inputEquivalent() >= totalRows / 5), seconds * 1000, "the first run to count a fifth of the rows");
    await first.processAllAvailable();
    await first.stop();
    rowsBeforeStop = tracker.inputEquivalent();
    for (let round = 0; round < IN_PROCESS_RESTARTS; round++) {
      const firstRow = sink.nextRow();
      const called = nowMs();
      const query = await startRestartQuery(session, options, sink.onRow);
      const resolved = nowMs();
      const arrived = await within(firstRow, 5000, "the restarted query's first row");
      inProcess.push({ startToFirstRowMs: round3(arrived - called), startCallMs: round3(resolved - called) });
      await query.processAllAvailable();
      await query.stop();
      const failure = query.exception();
      if (failure) throw failure;
    }
    newProcess = await restartInChild(options, tracker);
    error = tracker.verify({ rowsPerSecond, scheduleStart: undefined, droppedByWatermark: 0 });
  } catch (failure) {
    error = `restart measurement failed: ${failure instanceof Error ? failure.message : String(failure)}`;
  } finally {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  }
  return { scenario: scenario.id, rowsPerSecond, totalRows, rowsBeforeStop, inProcess, newProcess, error, wallMs: nowMs() - started };
}

/** Feeds the tracker and lets the measurement await rows: the next one, or a condition on all so far. */
class RowEvents {
  private waiters: Array<{ test: (now: number) => boolean; resolve: (now: number) => void }> = [];

  constructor(private readonly tracker: SinkTracker) {}

  readonly onRow = (row: Row): void => {
    const now = nowMs();
    this.tracker.onRow(row);
    if (this.waiters.length === 0) return;
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      if (waiter.test(now)) waiter.resolve(now);
      else this.waiters.push(waiter);
    }
  };

  /** Resolves with the arrival time of the next row. */
  nextRow(): Promise<number> {
    return new Promise((resolve) => this.waiters.push({ test: () => true, resolve }));
  }

  until(condition: () => boolean): Promise<number> {
    if (condition()) return Promise.resolve(nowMs());
    return new Promise((resolve) => this.waiters.push({ test: condition, resolve }));
  }
}

interface ChildTimings {
  readonly processStart: number;
  readonly scriptStart: number;
  readonly importsDone: number;
  readonly startCalled: number;
  readonly startResolved: number;
  readonly firstRow: number | undefined;
  readonly firstCommit: number | undefined;
}

/** Starts the query on the checkpoint in a new process, feeds its rows to the tracker, and stops it once the answer is complete. */
async function restartInChild(options: RestartQueryOptions, tracker: SinkTracker): Promise<NewProcessRestart> {
  const spawned = nowMs();
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(options)], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let timings: ChildTimings | undefined;
  let asked = false;
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => {
    const message = JSON.parse(line) as { event: string } & Record<string, unknown>;
    if (message.event === "row") tracker.onRow({ gt: message.gt, count: message.count });
    else if (message.event === "timings") timings = message as unknown as ChildTimings;
    if (!asked && tracker.complete()) {
      asked = true;
      child.stdin.end("stop\n");
    }
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
  const code = await exited;
  clearTimeout(timer);
  if (code !== 0 || !timings) throw new Error(`the child exited with ${code}${asked ? "" : " before the answer was complete"}: ${stderr.trim().slice(-500)}`);
  if (timings.firstRow === undefined) throw new Error("the child's query emitted no row");
  if (timings.firstCommit === undefined) throw new Error("the child's query committed no epoch");
  return {
    spawnToFirstRowMs: round3(timings.firstRow - spawned),
    nodeStartMs: round3(timings.scriptStart - spawned),
    importMs: round3(timings.importsDone - timings.scriptStart),
    startCallMs: round3(timings.startResolved - timings.startCalled),
    firstRowMs: round3(timings.firstRow - timings.startResolved),
    spawnToFirstCommitMs: round3(timings.firstCommit - spawned),
    engineToFirstCommitMs: round3(timings.firstCommit - timings.startCalled),
  };
}

/** Awaits an event, failing the measurement if it does not come in time (a query that failed emits nothing). */
async function within<T>(event: Promise<T>, milliseconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not come within ${milliseconds} ms`)), milliseconds)));
  try {
    return await Promise.race([event, late]);
  } finally {
    clearTimeout(timer);
  }
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
