// "Call me at time T" with sub-millisecond precision: one helper thread per process sleeps in Atomics.wait until the
// earliest deadline asked for and then posts a message that wakes the main thread's event loop.
//
// Node's timers round to whole milliseconds and fire up to a millisecond or two late; spinning on setImmediate is
// precise but keeps a core busy. A thread blocked in Atomics.wait with a timeout sleeps in the kernel (a futex) and
// wakes within tens of microseconds, and its postMessage reaches the main loop within tens more.
//
// The thread is shared by every user in the process (one per open-loop reader), started by the first acquire() and
// stopped by the last user's close(). It keeps the process alive only while a call is pending, as a timer would; with
// nothing pending it is unref'd. Until the thread has started (its first message), and after it died, the calls are
// also served by an ordinary Node timer, so no call is later than a timer would have made it; whichever fires first
// makes the call, and a call is made once. A thread that dies (error, exit; it should not) is started again once, as at
// the first acquire; after a second death the timer alone serves. Its code is a string run with `eval` and without the
// parent's loader flags (tsx), so it loads the same from the sources and from the built package, and costs a bare
// isolate.
//
// @example
//   const wake = acquirePreciseWake();
//   const cancel = wake.at(nowMs() + 0.3, () => console.log("0.3 ms later"));
//   wake.close(); // cancels this user's pending calls; the last user's close stops the thread
import { Worker } from "node:worker_threads";
import { nowMs } from "../../core/clock.ts";

/** One user of the shared wake thread. */
export interface PreciseWake {
  /**
   * Calls `callback` on the main thread once, no earlier than `timeMs` (the `nowMs()` clock), and usually within a
   * tenth of a millisecond after it (as a Node timer would, a millisecond or two, while the thread starts). Calls due
   * at the same wake-up run in deadline order. Returns the cancel function, which cancels the call however it was to
   * be made. Throws a RangeError for a time that never falls due (NaN, +Infinity).
   */
  at(timeMs: number, callback: () => void): () => void;
  /** Cancels this user's pending calls and releases the thread; the last user's close terminates it. Idempotent. */
  close(): void;
}

// Shared memory layout: Int32 [0] = arm sequence (bumped on each new deadline; the thread waits on it), [1] = stop;
// Float64 [1] (bytes 8-15) = the deadline on the monotonic clock (process.hrtime, ms), Infinity when none.
const SEQUENCE = 0;
const STOP = 1;

// The thread first posts READY (it now reads the deadline), then fires at most once per arm: after a wake-up it waits for
// the sequence to change. process.hrtime is the same monotonic clock in every thread (performance.now() is not: each
// thread has its own timeOrigin).
const READY = -1;
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const control = new Int32Array(workerData, 0, 2);
const deadline = new Float64Array(workerData, 8, 1);
const now = () => Number(process.hrtime.bigint()) / 1e6;
let fired = -1;
parentPort.postMessage(${READY});
for (;;) {
  const sequence = Atomics.load(control, ${SEQUENCE});
  if (Atomics.load(control, ${STOP}) !== 0) break;
  const due = deadline[0];
  if (sequence === fired || due === Infinity) { Atomics.wait(control, ${SEQUENCE}, sequence); continue; }
  const left = due - now();
  if (left > 0) { Atomics.wait(control, ${SEQUENCE}, sequence, left); continue; }
  fired = sequence;
  parentPort.postMessage(sequence);
}
`;

interface Pending {
  readonly timeMs: number;
  readonly callback: () => void;
  readonly owner: User;
}

function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The process's wake thread and every pending call of its users. */
class WakeThread {
  private readonly memory = new SharedArrayBuffer(16);
  private readonly control = new Int32Array(this.memory, 0, 2);
  private readonly deadline = new Float64Array(this.memory, 8, 1);
  private readonly pending = new Set<Pending>();
  /** The running thread; undefined once stopped, or when worker threads are unavailable. */
  private worker: Worker | undefined;
  /** The deadline the thread is armed for (nowMs clock), Infinity when none. */
  private armedFor = Number.POSITIVE_INFINITY;
  private referenced = false;
  /**
   * Until the thread is online, and after it failed: the Node timer (a millisecond's precision) that also serves the
   * earliest pending call; run() makes only what is due and pending, so a call fired by both is made once.
   */
  private fallback: NodeJS.Timeout | undefined;
  /** The thread posted READY: from now on it serves every deadline written, and the timer is not needed. */
  private online = false;
  private failed = false;
  /** A dead thread is started again once: a cause that persists (its memory limit, say) costs one more thread, no more. */
  private restarted = false;
  users = 0;

  constructor() {
    this.deadline[0] = Number.POSITIVE_INFINITY;
    // Worker threads unavailable (a restricted runtime): the users still get their calls, from timers.
    if (!this.start()) this.failed = this.restarted = true;
  }

  /**
   * Starts a thread, unreferenced and not yet online (the timer serves until its READY); false if none can be made.
   * The events of a thread replaced (died, restarted) or stopped are ignored: only `this.worker`'s count.
   */
  private start(): boolean {
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.memory, execArgv: [], name: "rill-precise-wake", resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 } });
    } catch {
      return false;
    }
    worker.unref();
    worker.on("message", (sequence: number) => {
      if (worker === this.worker) this.message(sequence);
    });
    const died = (): void => {
      if (worker === this.worker) this.fail();
    };
    worker.on("error", died);
    worker.on("exit", died);
    this.worker = worker;
    this.referenced = false;
    this.online = false;
    this.failed = false;
    return true;
  }

  /** The thread is up and alive: it, not the fallback timer, makes the calls. */
  serving(): boolean {
    return this.online && !this.failed;
  }

  add(entry: Pending): void {
    this.pending.add(entry);
    if (entry.timeMs < this.armedFor) this.arm();
    else this.reference();
  }

  remove(entry: Pending): void {
    this.pending.delete(entry);
    if (this.pending.size === 0) this.idle();
  }

  removeOwner(owner: User): void {
    for (const entry of this.pending) if (entry.owner === owner) this.pending.delete(entry);
    if (this.pending.size === 0) this.idle();
  }

  stop(): void {
    this.pending.clear();
    this.failed = true;
    this.idle();
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, SEQUENCE, 1);
    Atomics.notify(this.control, SEQUENCE);
    worker.unref();
    void worker.terminate();
  }

  private readonly message = (sequence: number): void => {
    if (sequence === READY) {
      this.online = true;
      // The thread reads the deadline after READY, so what is armed is served; the timer armed meanwhile is not needed.
      if (!this.failed) {
        clearTimeout(this.fallback);
        this.fallback = undefined;
      }
    }
    this.run();
  };

  /**
   * Runs every call due by now, in deadline order, then arms the thread for the earliest one left. Each call leaves
   * `pending` just before it is made: one cancelled, or whose user closed, by an earlier call of the same wake-up is not
   * made, and a call that throws leaves the later ones pending (armed again), not lost.
   */
  private readonly run = (): void => {
    this.armedFor = Number.POSITIVE_INFINITY;
    clearTimeout(this.fallback);
    this.fallback = undefined;
    const now = nowMs();
    // Usually one call is due (a row's wake-up): take it without building, filtering and sorting a copy of `pending`,
    // an allocation a wake-up, which is a row at 10,000 rows/s. Several due go in deadline order (ties in the order
    // they were asked for: the sort is stable over `pending`'s insertion order), as before.
    let first: Pending | undefined;
    let due: Pending[] | undefined;
    for (const entry of this.pending) {
      if (entry.timeMs > now) continue;
      if (first === undefined) first = entry;
      else (due ??= [first]).push(entry);
    }
    try {
      if (due !== undefined) {
        due.sort((a, b) => a.timeMs - b.timeMs);
        for (const entry of due) if (this.pending.delete(entry)) entry.callback();
      } else if (first !== undefined && this.pending.delete(first)) first.callback();
    } finally {
      // A callback that throws fails as a timer's would (uncaught), and the others stay armed. A call that asked for the
      // next one (an open-loop reader's next row) armed the thread already: armedFor, reset above, then holds a deadline
      // no later than the earliest pending (add() arms for any earlier one; a cancel only makes a wake-up early, and an
      // early wake-up makes nothing and arms again), so a second arm would only wake the thread once more for nothing.
      if (this.armedFor === Number.POSITIVE_INFINITY) this.arm();
    }
  };

  /** Points the thread (or the fallback timer) at the earliest pending deadline. */
  private arm(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const entry of this.pending) if (entry.timeMs < earliest) earliest = entry.timeMs;
    this.armedFor = earliest;
    if (earliest === Number.POSITIVE_INFINITY) {
      this.unreference();
      return;
    }
    this.reference();
    if (this.failed || !this.online) {
      // A timer can fire before its delay on the nowMs clock (libuv's cached loop time): run() then makes nothing early
      // and arms it again.
      clearTimeout(this.fallback);
      this.fallback = setTimeout(this.run, Math.max(1, Math.ceil(earliest - nowMs())));
      if (this.failed) return;
    }
    // The wall clock first: the monotonic reading after it can only move the deadline later, never earlier.
    const wallNow = nowMs();
    this.deadline[0] = monotonicMs() + (earliest - wallNow);
    Atomics.add(this.control, SEQUENCE, 1);
    Atomics.notify(this.control, SEQUENCE);
  }

  /** Nothing pending: neither the thread nor the timer keeps the process alive. */
  private idle(): void {
    this.armedFor = Number.POSITIVE_INFINITY;
    clearTimeout(this.fallback);
    this.fallback = undefined;
    this.unreference();
  }

  private reference(): void {
    if (this.referenced || !this.worker || this.failed) return;
    this.referenced = true;
    this.worker.ref();
  }

  private unreference(): void {
    if (!this.referenced || !this.worker) return;
    this.referenced = false;
    this.worker.unref();
  }

  /**
   * The thread died (it should not): what is pending moves to a timer, so no caller waits forever; the first time, a
   * new thread starts and takes over at its READY, as at the first acquire.
   */
  private fail(): void {
    if (this.failed) return;
    this.failed = true;
    this.unreference();
    if (!this.restarted) {
      this.restarted = true;
      if (!this.start()) this.worker = undefined;
    }
    this.arm();
  }
}

let shared: WakeThread | undefined;

class User implements PreciseWake {
  private closed = false;

  constructor(private readonly thread: WakeThread) {}

  at(timeMs: number, callback: () => void): () => void {
    if (this.closed) throw new Error("PreciseWake.at() after close()");
    // NaN and +Infinity would never fall due: the call would never be made and would hold the process forever.
    if (Number.isNaN(timeMs) || timeMs === Number.POSITIVE_INFINITY) throw new RangeError(`PreciseWake.at(): the time ${timeMs} never falls due`);
    const entry: Pending = { timeMs, callback, owner: this };
    this.thread.add(entry);
    return () => this.thread.remove(entry);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.thread.removeOwner(this);
    if (--this.thread.users > 0) return;
    this.thread.stop();
    if (shared === this.thread) shared = undefined;
  }
}

/** A user of the process's wake thread, starting it if none runs. close() it when done. */
export function acquirePreciseWake(): PreciseWake {
  shared ??= new WakeThread();
  shared.users++;
  return new User(shared);
}

/** Whether the process's wake thread has started and serves the calls (not a timer), for benchmarks and diagnostics. */
export function preciseWakeOnline(): boolean {
  return shared?.serving() ?? false;
}

/** Whether the process's wake thread is running (for tests and diagnostics). */
export function preciseWakeRunning(): boolean {
  return shared !== undefined;
}
