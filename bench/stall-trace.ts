// Where a row stall comes from, as a timeline: preload it into one measurement point, e.g.
// `RILL_STALL_TRACE=tmp/timeline.txt node --no-parallel-scavenge --import tsx --import ./bench/stall-trace.ts bench/point.ts --scenario b --mode continuous-nats-checkpoints --rate 10000 --seconds 5`
// (add RILL_TRACE_HOPS=1 for the frames that reached a point more than 8 ms after they were due). The file gets, in ms
// since the preload: each epoch's request, every actor's aligned barrier and state write, the coordinator's commit
// (with the part that ran synchronously), how long each LMDB transaction callback ran on the main thread, and every
// event-loop gap over 6 ms split by /proc schedstat into the main thread's time on a CPU and time runnable but waiting
// for one (another process or thread had the core). At exit it appends each thread's CPU time over the run.
// Linux only (schedstat). Wraps prototypes in this process; never part of a measured bench run.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hopTrace } from "../src/actors/hop-trace.ts";
import { Actor } from "../src/actors/actor.ts";
import { Coordinator } from "../src/actors/coordinator.ts";
import { nowMs } from "../src/core/clock.ts";
import { CheckpointStorage } from "../src/state/lmdb-storage.ts";

type Method = (...args: unknown[]) => unknown;
type Prototype = Record<string, Method>;

const start = nowMs();
const lines: string[] = [];
const at = (time: number): string => (time - start).toFixed(1).padStart(8);
const log = (text: string): void => {
  lines.push(`${at(nowMs())} ${text}`);
};

/** Logs each call of `name`: when it settled, how long it took in all and how long it ran synchronously. */
function timeCalls(prototype: object, name: string, label: (self: Record<string, unknown>, args: unknown[]) => string): void {
  const methods = prototype as Prototype;
  const original = methods[name] as Method;
  methods[name] = function (this: Record<string, unknown>, ...args: unknown[]): unknown {
    const began = nowMs();
    const text = label(this, args);
    const result = original.apply(this, args);
    const syncMs = (nowMs() - began).toFixed(1);
    if (!(result instanceof Promise)) {
      log(`${text} sync ${syncMs}`);
      return result;
    }
    return result.then((value: unknown) => {
      log(`${text} settled after ${(nowMs() - began).toFixed(1)} (sync ${syncMs}, began ${at(began).trim()})`);
      return value;
    });
  };
}

timeCalls(Coordinator.prototype, "requestEpoch", (_self, args) => `requestEpoch final=${String(args[0])}`);
timeCalls(CheckpointStorage.prototype, "writeChanges", (_self, args) => `writeChanges epoch ${String(args[0])} changes ${(args[1] as unknown[]).length} by ${String(args[2] ?? "dead letters")}`);
timeCalls(CheckpointStorage.prototype, "commit", (_self, args) => `commit epoch ${String((args[0] as { epoch: number }).epoch)}`);
timeCalls(Actor.prototype, "alignedBarrier", (self, args) => `aligned barrier ${String(self["name"])} epoch ${String(args[0])}`);

// The transaction callbacks run on the main thread while LMDB's writer thread holds the write transaction.
const storageMethods = CheckpointStorage.prototype as unknown as Prototype;
const write = storageMethods["write"] as Method;
storageMethods["write"] = function (this: { db: { transaction: (callback: () => unknown) => unknown; traced?: boolean } }, ...args: unknown[]): unknown {
  const db = this.db;
  if (!db.traced) {
    db.traced = true;
    const transaction = db.transaction.bind(db);
    db.transaction = (callback) => transaction(() => {
      const began = nowMs();
      const result = callback();
      log(`  transaction callback ran ${(nowMs() - began).toFixed(2)} ms on the main thread`);
      return result;
    });
  }
  return write.apply(this, args);
};

if (hopTrace) {
  const trace = hopTrace;
  const record = trace.record.bind(trace);
  trace.record = (point, since, until, rows, now = nowMs()) => {
    if (Number.isFinite(since) && now - since > 8) log(`late ${(now - since).toFixed(1)} ms at ${point} (${rows} rows)`);
    record(point, since, until, rows, now);
  };
}

/** [ns on a CPU, ns runnable but waiting for one, time slices] of one thread. */
function schedstat(thread: string | number): number[] {
  return readFileSync(`/proc/self/task/${thread}/schedstat`, "utf8").trim().split(" ").map(Number);
}

function threadCpu(): Map<string, number> {
  const cpu = new Map<string, number>();
  for (const thread of readdirSync("/proc/self/task")) {
    try {
      cpu.set(thread, (schedstat(thread)[0] ?? 0) / 1e6);
    } catch {
      // The thread ended between the listing and the read.
      continue;
    }
  }
  return cpu;
}

const threadsBefore = threadCpu();
let lastTick = nowMs();
let lastSched = schedstat(process.pid);
const tick = (): void => {
  const now = nowMs();
  const sched = schedstat(process.pid);
  if (now - lastTick > 6) {
    const onCpu = ((sched[0] ?? 0) - (lastSched[0] ?? 0)) / 1e6;
    const waiting = ((sched[1] ?? 0) - (lastSched[1] ?? 0)) / 1e6;
    log(`event-loop gap ${(now - lastTick).toFixed(1)} ms: main thread on a CPU ${onCpu.toFixed(1)} ms, runnable but waiting ${waiting.toFixed(1)} ms`);
  }
  lastTick = now;
  lastSched = sched;
  setTimeout(tick, 1).unref();
};
setTimeout(tick, 1).unref();

process.on("exit", () => {
  for (const [thread, ms] of threadCpu()) lines.push(`thread ${thread}${thread === String(process.pid) ? " (main)" : ""} CPU ${(ms - (threadsBefore.get(thread) ?? 0)).toFixed(1)} ms`);
  writeFileSync(process.env["RILL_STALL_TRACE"] ?? "tmp/stall-trace.txt", `${lines.join("\n")}\n`);
});
