// Which rows make the per-row p99 of an aggregation scenario, counted by cause: preload it into one measurement point,
// `RILL_TAIL_CAUSES=tmp/tail.json node --no-parallel-scavenge --no-concurrent-array-buffer-sweeping --max-semi-space-size=8 --import tsx --import ./bench/tail-causes.ts bench/point.ts --scenario b --mode continuous-nats-checkpoints --rate 10000 --seconds 20`
// While the point runs it records, on the nowMs clock: every GC pause of the main thread (perf_hooks, scavenge or
// mark-compact), the main thread's synchronous part of each checkpoint step (an actor's state write, the
// coordinator's commit, each LMDB transaction callback, an actor's aligned barrier), the time each checkpoint write
// or commit was in flight (LMDB's writer thread busy), and every event-loop gap over 3 ms split by /proc schedstat
// into the main thread's time on a CPU and its time runnable but waiting for one (another process had the core).
// After the run, each reconstructed row (bench/e2e/scenarios.ts, `rowTimes`) whose latency is over the threshold
// (`RILL_TAIL_MS`, default the run's p99) is charged to what overlapped its [due, arrival]: the milliseconds of each
// cause inside that interval, and its primary cause the largest of them; when all of them together cover under a fifth
// of its latency, "backlog after" the last stall that ended in the 20 ms before the row was due, else "none". The ticker that finds the gaps is a 1 ms timer: it adds a thousand turns a second, so read
// the figures as shares. Linux only (schedstat). Wraps prototypes in this process; never part of a measured bench run.
import { readFileSync, writeFileSync } from "node:fs";
import { constants, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import { Actor } from "../src/actors/actor.ts";
import { Coordinator } from "../src/actors/coordinator.ts";
import { nowMs } from "../src/core/clock.ts";
import { CheckpointStorage } from "../src/state/lmdb-storage.ts";
import { rowTimes } from "./e2e/scenarios.ts";

type Method = (...args: unknown[]) => unknown;
type Cause = "gcMajor" | "gcMinor" | "checkpointMainThread" | "descheduled" | "longTask";
interface Span {
  readonly start: number;
  readonly end: number;
}

const spans: Record<Cause | "checkpointInFlight", Span[]> = { gcMajor: [], gcMinor: [], checkpointMainThread: [], descheduled: [], longTask: [], checkpointInFlight: [] };
const origin = nowMs() - performance.now();

new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) recordGc(entry);
}).observe({ entryTypes: ["gc"] });

function recordGc(entry: PerformanceEntry): void {
  const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
  const span = { start: origin + entry.startTime, end: origin + entry.startTime + entry.duration };
  if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) spans.gcMajor.push(span);
  else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) spans.gcMinor.push(span);
}

/** Records each call's synchronous part on the main thread and, for a promise, the time until it settled. */
function timeCalls(prototype: object, name: string): void {
  const methods = prototype as Record<string, Method>;
  const original = methods[name] as Method;
  methods[name] = function (this: unknown, ...args: unknown[]): unknown {
    const began = nowMs();
    const result = original.apply(this, args);
    spans.checkpointMainThread.push({ start: began, end: nowMs() });
    if (result instanceof Promise) {
      return result.then((value: unknown) => {
        spans.checkpointInFlight.push({ start: began, end: nowMs() });
        return value;
      });
    }
    return result;
  };
}

timeCalls(CheckpointStorage.prototype, "writeChanges");
timeCalls(CheckpointStorage.prototype, "commit");
timeCalls(Coordinator.prototype, "requestEpoch");
// When each epoch was requested: a tail row's due time is placed after the latest request before it.
const epochRequests: number[] = [];
const coordinatorMethods = Coordinator.prototype as unknown as Record<string, Method>;
const requestEpoch = coordinatorMethods["requestEpoch"] as Method;
coordinatorMethods["requestEpoch"] = function (this: unknown, ...args: unknown[]): unknown {
  epochRequests.push(nowMs());
  return requestEpoch.apply(this, args);
};
timeCalls(Actor.prototype, "alignedBarrier");
// The transaction callbacks run on the main thread while LMDB's writer thread holds the write transaction.
const storageMethods = CheckpointStorage.prototype as unknown as Record<string, Method>;
const write = storageMethods["write"] as Method;
storageMethods["write"] = function (this: { db: { transaction: (callback: () => unknown) => unknown; tailTraced?: boolean } }, ...args: unknown[]): unknown {
  const db = this.db;
  if (db.tailTraced !== true) {
    db.tailTraced = true;
    const transaction = db.transaction.bind(db);
    db.transaction = (callback) => transaction(() => {
      const began = nowMs();
      const result = callback();
      spans.checkpointMainThread.push({ start: began, end: nowMs() });
      return result;
    });
  }
  return write.apply(this, args);
};

/** [ns on a CPU, ns runnable but waiting for one] of the main thread. */
function schedstat(): [number, number] {
  const fields = readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").trim().split(" ").map(Number);
  return [fields[0] ?? 0, fields[1] ?? 0];
}

let lastTick = nowMs();
let lastSched = schedstat();
const tick = (): void => {
  const now = nowMs();
  const sched = schedstat();
  const gap = now - lastTick;
  if (gap > 3) {
    // The gap's time runnable but off the CPU is spread over the gap in proportion; so is its time on a CPU.
    const waiting = (sched[1] - lastSched[1]) / 1e6;
    const waitingShare = Math.min(1, waiting / gap);
    if (waitingShare > 0) spans.descheduled.push({ start: lastTick, end: lastTick + gap * waitingShare });
    if (waitingShare < 1) spans.longTask.push({ start: lastTick + gap * waitingShare, end: now });
  }
  lastTick = now;
  lastSched = sched;
  setTimeout(tick, 1).unref();
};
setTimeout(tick, 1).unref();

const dues: number[] = [];
const arrivals: number[] = [];
rowTimes.onRow = (due, arrived) => {
  dues.push(due);
  arrivals.push(arrived);
};

/** Milliseconds of `list` (sorted by start) inside [from, to]. */
function overlap(list: readonly Span[], from: number, to: number): number {
  let total = 0;
  for (const span of list) {
    if (span.start >= to) break;
    if (span.end > from) total += Math.min(span.end, to) - Math.max(span.start, from);
  }
  return total;
}

/** Bucket upper bounds (ms after the latest epoch request) for where rows' due times fall. */
const SINCE_EPOCH_BUCKETS = [5, 10, 20, 50, 100, 200, 500, Number.POSITIVE_INFINITY];

function sinceEpochBucket(due: number): number {
  let low = 0;
  let high = epochRequests.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((epochRequests[middle] as number) <= due) low = middle + 1;
    else high = middle;
  }
  if (low === 0) return -1;
  const since = due - (epochRequests[low - 1] as number);
  return SINCE_EPOCH_BUCKETS.findIndex((bound) => since < bound);
}

/** How long a row is charged to the stall before it: it was due while that stall's backlog drained. */
const BACKLOG_MS = 20;

/** A tail row that nothing overlapped enough: behind the backlog of a stall that ended just before it was due, or none. */
function unexplained(due: number, arrived: number): string {
  let latest: string | undefined;
  let latestEnd = due - BACKLOG_MS;
  for (const cause of ["gcMajor", "gcMinor", "checkpointMainThread", "descheduled", "longTask"] as const) {
    for (const span of spans[cause]) {
      if (span.start > due) break;
      if (span.end > latestEnd && span.end <= due) {
        latest = cause;
        latestEnd = span.end;
      }
    }
  }
  if (latest !== undefined) return `backlog after ${latest}`;
  return overlap(spans.checkpointInFlight, due, arrived) > 0 ? "none (checkpoint write in flight)" : "none";
}

process.on("exit", () => {
  for (const list of Object.values(spans)) list.sort((a, b) => a.start - b.start);
  // GC pauses and checkpoint calls inside a gap are charged to them, not to the gap's long task.
  const latencies = dues.map((due, index) => (arrivals[index] as number) - due);
  const sorted = [...latencies].sort((a, b) => a - b);
  const p99 = sorted[Math.floor(sorted.length * 0.99)] ?? 0;
  const threshold = process.env["RILL_TAIL_MS"] === undefined ? p99 : Number(process.env["RILL_TAIL_MS"]);
  const causes: readonly Cause[] = ["gcMajor", "gcMinor", "checkpointMainThread", "descheduled", "longTask"];
  const primary = new Map<string, number>();
  const touched = new Map<string, number>();
  let tailRows = 0;
  const allSinceEpoch = SINCE_EPOCH_BUCKETS.map(() => 0);
  const tailSinceEpoch = SINCE_EPOCH_BUCKETS.map(() => 0);
  for (let index = 0; index < dues.length; index++) {
    const latency = latencies[index] as number;
    const bucket = sinceEpochBucket(dues[index] as number);
    if (bucket >= 0) allSinceEpoch[bucket] = (allSinceEpoch[bucket] as number) + 1;
    if (latency <= threshold) continue;
    if (bucket >= 0) tailSinceEpoch[bucket] = (tailSinceEpoch[bucket] as number) + 1;
    tailRows++;
    const due = dues[index] as number;
    const arrived = arrivals[index] as number;
    const shares = causes.map((cause) => overlap(spans[cause], due, arrived));
    const checkpointCalls = shares[2] as number;
    const gc = (shares[0] as number) + (shares[1] as number);
    // A gap's long task holds the GC pauses and checkpoint calls that ran inside it: charge those to themselves.
    shares[4] = Math.max(0, (shares[4] as number) - gc - checkpointCalls);
    let best = -1;
    for (let cause = 0; cause < causes.length; cause++) {
      if ((shares[cause] as number) > 0) touched.set(causes[cause] as string, (touched.get(causes[cause] as string) ?? 0) + 1);
      if (best < 0 || (shares[cause] as number) > (shares[best] as number)) best = cause;
    }
    const explained = shares.reduce((sum, share) => sum + share, 0);
    const name = explained >= latency / 5 ? (causes[best] as string) : unexplained(due, arrived);
    primary.set(name, (primary.get(name) ?? 0) + 1);
  }
  const spanCounts = Object.fromEntries(Object.entries(spans).map(([name, list]) => [name, list.length]));
  const result = { rows: dues.length, p99Ms: Math.round(p99 * 1000) / 1000, thresholdMs: threshold, tailRows, primary: Object.fromEntries(primary),
    dueAfterEpochRequest: Object.fromEntries(SINCE_EPOCH_BUCKETS.map((bound, index) => [`<${bound}ms`, { all: allSinceEpoch[index], tail: tailSinceEpoch[index] }])), touched: Object.fromEntries(touched), spans: spanCounts };
  const text = JSON.stringify(result);
  console.error(`tail causes: ${text}`);
  writeFileSync(process.env["RILL_TAIL_CAUSES"] ?? "tmp/tail-causes.json", `${text}\n`);
});
