// The process's precise wake thread: calls no earlier than asked, in deadline order; the thread never keeps an idle
// process alive, and the last user's close stops it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { acquirePreciseWake, preciseWakeOnline, preciseWakeRunning } from "../../src/connectors/sources/precise-wake.ts";
import { nowMs } from "../../src/core/clock.ts";
import { runChild } from "../helpers/child.ts";

/**
 * Wraps node:worker_threads' Worker (before the module is imported, so it constructs this one) to keep each real
 * thread at hand as `threads` (and the memory it shares with the main thread as `memories`), and when `startDelayMs` is given, to hold the thread's start for that long (it sleeps in
 * Atomics.wait before its own code): a slow start-up made on purpose. `onlineAt` is when its first message arrived.
 */
const PATCHED_IMPORTS = (startDelayMs = 0): string => `
  import workerThreads from "node:worker_threads";
  import { syncBuiltinESMExports } from "node:module";
  import { nowMs } from "./src/core/clock.ts";
  const threads = [];
  const memories = [];
  let onlineAt;
  const RealWorker = workerThreads.Worker;
  workerThreads.Worker = class extends RealWorker {
    constructor(source, options) {
      super("Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${startDelayMs});" + source, options);
      threads.push(this);
      memories.push(options.workerData);
      this.once("message", () => (onlineAt ??= nowMs()));
    }
  };
  syncBuiltinESMExports();
  const { acquirePreciseWake, preciseWakeOnline, preciseWakeRunning } = await import("./src/connectors/sources/precise-wake.ts");
  const wakeAt = (wake, time) => new Promise((resolve) => wake.at(time, () => resolve(nowMs())));
`;

const IMPORTS = `
  import { acquirePreciseWake, preciseWakeRunning } from "./src/connectors/sources/precise-wake.ts";
  import { nowMs } from "./src/core/clock.ts";
  const wakeAt = (wake, time) => new Promise((resolve) => wake.at(time, () => resolve(nowMs())));
`;

describe("precise wake", () => {
  it("calls every callback no earlier than its deadline, in deadline order, for many deadlines asked in any order", async () => {
    const wake = acquirePreciseWake();
    try {
      // The thread up first: calls asked while it starts are made by a timer too, and would not test the thread.
      do await new Promise<void>((resolve) => wake.at(nowMs() + 1, resolve));
      while (!preciseWakeOnline());
      const random = mulberry32(11);
      const start = nowMs() + 5;
      const deadlines = Array.from({ length: 400 }, () => start + random() * 400);
      const fired: Array<{ deadline: number; at: number }> = [];
      let cancelledFired = false;
      const all = new Promise<void>((resolve) => {
        for (const deadline of deadlines) {
          wake.at(deadline, () => {
            fired.push({ deadline, at: nowMs() });
            if (fired.length === deadlines.length) resolve();
          });
        }
      });
      const cancel = wake.at(start + 200, () => (cancelledFired = true));
      cancel();
      await all;
      for (const { deadline, at } of fired) assert.ok(at >= deadline, `called ${deadline - at} ms before its deadline`);
      const order = fired.map(({ deadline }) => deadline);
      assert.deepEqual(order, [...deadlines].sort((a, b) => a - b), "called in deadline order");
      assert.equal(cancelledFired, false, "a cancelled call is not made");
    } finally {
      wake.close();
    }
    assert.equal(preciseWakeRunning(), false, "the last user's close stops the thread");
  });

  it("makes the calls due at one wake-up in deadline order, whatever order they were asked in", async () => {
    const wake = acquirePreciseWake();
    try {
      const random = mulberry32(3);
      const now = nowMs();
      // All already due: one wake-up makes them all.
      const deadlines = Array.from({ length: 50 }, () => now - 1 - random() * 10);
      const order: number[] = [];
      await new Promise<void>((resolve) => {
        for (const deadline of deadlines) wake.at(deadline, () => order.push(deadline) === deadlines.length && resolve());
      });
      assert.deepEqual(order, [...deadlines].sort((a, b) => a - b));
    } finally {
      wake.close();
    }
  });

  it("shares one thread among its users and stops it at the last close; the process then exits", async () => {
    const result = await runChild(`${IMPORTS}
      const first = acquirePreciseWake();
      const second = acquirePreciseWake();
      const [a, b] = await Promise.all([wakeAt(first, nowMs() + 3), wakeAt(second, nowMs() + 2)]);
      first.close();
      const afterFirst = preciseWakeRunning();
      second.close();
      process.stdout.write(JSON.stringify({ afterFirst, afterLast: preciseWakeRunning(), called: a > 0 && b > 0 }));
    `);
    assert.equal(result.code, 0, `the child exits by itself: ${result.signal ?? ""} ${result.stderr}`);
    assert.deepEqual(JSON.parse(result.stdout), { afterFirst: true, afterLast: false, called: true });
  });

  it("does not keep a process alive when nothing is pending, even left open, and keeps it alive while a call is pending", async () => {
    const result = await runChild(`${IMPORTS}
      const wake = acquirePreciseWake();
      await wakeAt(wake, nowMs() + 2);
      wake.at(nowMs() + 200, () => process.stdout.write("fired"));
      // Never closed: once the pending call is made, nothing holds the process.
    `);
    assert.equal(result.code, 0, `the child exits by itself: ${result.signal ?? ""} ${result.stderr}`);
    assert.equal(result.stdout, "fired", "the pending call held the process until it was made");
  });

  it("makes the first calls by a timer while the thread starts: none later than a timer, none early, none twice", async () => {
    // The thread's start held 400 ms: calls due during it are made by the fallback timer, the later ones by the thread.
    const result = await runChild(`${PATCHED_IMPORTS(400)}
      const events = [];
      const start = nowMs();
      const wake = acquirePreciseWake();
      const calls = [];
      for (const offset of [-5, 2, 3, 40, 150, 390, 420, 480, 600]) {
        const entry = { due: start + offset, made: [] };
        calls.push(entry);
        wake.at(entry.due, () => { entry.made.push(nowMs()); if (offset === 2) events.push("call due at +2 ms, thread online: " + preciseWakeOnline()); });
      }
      setTimeout(() => events.push("timer of 4 ms"), 4);
      // Made after all the others, and after the thread is up: a call made twice has been made twice by now.
      await wakeAt(wake, start + 700);
      await wakeAt(wake, nowMs() + 5);
      events.push("end, thread online: " + preciseWakeOnline());
      wake.close();
      process.stdout.write(JSON.stringify({ events, onlineAfter: onlineAt - start, firstLate: calls[1].made[0] - calls[1].due,
        calls: calls.map(({ due, made }) => ({ times: made.length, early: made.filter((at) => at < due).length })) }));
    `);
    assert.equal(result.code, 0, `the child exits by itself: ${result.signal ?? ""} ${result.stderr}`);
    const out = JSON.parse(result.stdout) as { events: string[]; onlineAfter: number; firstLate: number; calls: Array<{ times: number; early: number }> };
    assert.ok(out.onlineAfter >= 400, `the thread came online ${out.onlineAfter} ms after acquire (held 400 ms)`);
    assert.deepEqual(out.events, ["call due at +2 ms, thread online: false", "timer of 4 ms", "end, thread online: true"],
      "the call due at +2 ms is made before a timer of 4 ms set after it, by the timer");
    assert.ok(out.firstLate < 300, `the call due at +2 ms came ${out.firstLate} ms late: it waited for the thread`);
    for (const [index, call] of out.calls.entries()) assert.deepEqual(call, { times: 1, early: 0 }, `call ${index}: once, never early`);
  });

  it("arms the thread once a call when each call asks for the next, as an open-loop reader does a row", async () => {
    // The arm sequence (the shared memory's first Int32) counts the deadlines written, each an Atomics.notify that
    // wakes the thread. Each call asks for the next from its callback, which arms the thread for it: the wake-up's own
    // arm after the callback would be a second one, for the same deadline.
    const result = await runChild(`${PATCHED_IMPORTS()}
      const wake = acquirePreciseWake();
      do await wakeAt(wake, nowMs() + 1);
      while (!preciseWakeOnline());
      const sequence = new Int32Array(memories[0], 0, 1);
      const before = Atomics.load(sequence, 0);
      const calls = 200;
      let made = 0;
      await new Promise((resolve) => {
        const next = () => {
          if (++made === calls) return resolve();
          wake.at(nowMs() + 0.2, next);
        };
        wake.at(nowMs() + 0.2, next);
      });
      const arms = Atomics.load(sequence, 0) - before;
      wake.close();
      process.stdout.write(JSON.stringify({ made, arms }));
    `);
    assert.equal(result.code, 0, `the child exits by itself: ${result.signal ?? ""} ${result.stderr}`);
    const out = JSON.parse(result.stdout) as { made: number; arms: number };
    assert.equal(out.made, 200);
    // An early wake-up (the clocks' rounding) arms once more; two arms a call is the old behaviour.
    assert.ok(out.arms >= 200 && out.arms <= 220, `${out.arms} arms for 200 calls`);
  });

  it("makes the first call of a fresh process no later than a timer would, without waiting for the thread", async () => {
    const result = await runChild(`${IMPORTS}
      const events = [];
      const wake = acquirePreciseWake();
      const due = nowMs() + 2;
      wake.at(due, () => events.push(nowMs() >= due ? "call" : "early call"));
      setTimeout(() => events.push("timer"), 4);
      await wakeAt(wake, due + 20);
      wake.close();
      process.stdout.write(JSON.stringify(events));
    `);
    assert.equal(result.code, 0, `the child exits by itself: ${result.signal ?? ""} ${result.stderr}`);
    assert.deepEqual(JSON.parse(result.stdout), ["call", "timer"]);
  });

  it("makes the pending calls by a timer when the thread is terminated, restarts it once, and a cancelled call then holds nothing", async () => {
    const result = await runChild(`${PATCHED_IMPORTS()}
      const wake = acquirePreciseWake();
      const online = async () => {
        do await wakeAt(wake, nowMs() + 1);
        while (!preciseWakeOnline());
      };
      // Terminates the thread (online: killed before its first message, the calls are made by the start-up timer, the
      // test above) with two calls pending, and returns when and how they were made.
      const kill = async (thread) => {
        // Pending until the thread is gone: the wake keeps its Worker referenced only while a call is pending and
        // unrefs it after the last, which drops the reference terminate() takes until the 'exit'; with nothing else
        // pending the loop would empty with the await unsettled (exit code 13) if the exit came after the last call.
        const cancelHold = wake.at(nowMs() + 60_000, () => process.stdout.write("hold call made"));
        const dues = [nowMs() + 30, nowMs() + 10];
        const made = Promise.all(dues.map((due) => wakeAt(wake, due).then((at) => ({ due, at }))));
        await thread.terminate();
        cancelHold();
        const calls = await made;
        return { early: calls.filter(({ due, at }) => at < due).length, order: calls[0].at >= calls[1].at };
      };
      await online();
      const first = await kill(threads[0]);
      const restarted = threads.length;
      let second, after;
      // (Not restarted, the thread would never come online: the test would wait out its bound.)
      if (restarted === 2) {
        await online();
        second = await kill(threads[1]);
        // A call after the second death: the timer alone, no third thread.
        await wakeAt(wake, nowMs() + 2);
        after = { threads: threads.length, online: preciseWakeOnline() };
      }
      // A call far ahead, cancelled: the process must exit now, not when it would have been due.
      const cancel = wake.at(nowMs() + 60_000, () => process.stdout.write("cancelled call made"));
      cancel();
      process.stdout.write(JSON.stringify({ first, restarted, second, after }));
    `, 30_000);
    assert.equal(result.code, 0, `the child exits by itself: ${result.signal ?? ""} ${result.stderr}`);
    assert.deepEqual(JSON.parse(result.stdout), {
      first: { early: 0, order: true }, restarted: 2, second: { early: 0, order: true }, after: { threads: 2, online: false },
    });
  });

  it("does not make a call cancelled, or whose user closed, by an earlier call of the same wake-up", async () => {
    const first = acquirePreciseWake();
    const second = acquirePreciseWake();
    try {
      const made: string[] = [];
      const past = nowMs() - 10;
      await new Promise<void>((resolve) => {
        let cancelLater: () => void = () => undefined;
        first.at(past, () => {
          made.push("first");
          cancelLater();
          second.close();
        });
        cancelLater = first.at(past + 1, () => made.push("cancelled"));
        second.at(past + 2, () => made.push("closed"));
        first.at(past + 3, () => made.push("last"));
        first.at(nowMs() + 5, resolve);
      });
      assert.deepEqual(made, ["first", "last"]);
    } finally {
      first.close();
      second.close();
    }
  });

  it("keeps the other calls of a wake-up when one throws (uncaught, as a timer's would)", async () => {
    const result = await runChild(`${IMPORTS}
      const seen = [];
      process.on("uncaughtException", (error) => seen.push(error.message));
      const wake = acquirePreciseWake();
      const past = nowMs() - 10;
      wake.at(past, () => { throw new Error("boom"); });
      await wakeAt(wake, past + 1);
      wake.close();
      process.stdout.write(JSON.stringify(seen));
    `);
    assert.equal(result.code, 0, `the child exits by itself: ${result.signal ?? ""} ${result.stderr}`);
    assert.deepEqual(JSON.parse(result.stdout), ["boom"]);
  });

  it("rejects a time that never falls due", () => {
    const wake = acquirePreciseWake();
    try {
      assert.throws(() => wake.at(Number.NaN, () => undefined), RangeError);
      assert.throws(() => wake.at(Number.POSITIVE_INFINITY, () => undefined), RangeError);
    } finally {
      wake.close();
    }
  });

  it("survives users acquiring and closing in one turn, threads started and stopped at once; process.exit() does not wait", async () => {
    const result = await runChild(`${IMPORTS}
      const cancelled = [];
      for (let round = 0; round < 20; round++) {
        const a = acquirePreciseWake();
        const b = acquirePreciseWake();
        a.at(nowMs() + 1, () => cancelled.push(round));
        a.close();
        b.at(nowMs() - 1, () => cancelled.push(round));
        b.close();
      }
      const wake = acquirePreciseWake();
      const other = acquirePreciseWake();
      await Promise.all([wakeAt(wake, nowMs() + 2), wakeAt(other, nowMs() + 1)]);
      other.close();
      await wakeAt(wake, nowMs() + 1);
      const running = preciseWakeRunning();
      wake.at(nowMs() + 60_000, () => process.stdout.write("made"));
      process.stdout.write(JSON.stringify({ cancelled, running }));
      process.exit(0);
    `, 30_000);
    assert.equal(result.code, 0, `the child exits: ${result.signal ?? ""} ${result.stderr}`);
    assert.deepEqual(JSON.parse(result.stdout), { cancelled: [], running: true });
  });
});
