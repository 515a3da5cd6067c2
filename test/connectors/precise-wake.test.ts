// The process's precise wake thread: calls no earlier than asked, in deadline order; the thread never keeps an idle
// process alive, and the last user's close stops it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { acquirePreciseWake, preciseWakeRunning } from "../../src/connectors/sources/precise-wake.ts";
import { nowMs } from "../../src/core/clock.ts";

/** Runs `code` (an ES module, from the repository root) in a new Node process; its exit code, signal and output. */
function runChild(code: string, timeoutMs = 60_000): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    // Only a bound on a hang: the child is expected to exit on its own.
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ code: exitCode, signal, stdout, stderr });
    });
  });
}

const IMPORTS = `
  import { acquirePreciseWake, preciseWakeRunning } from "./src/connectors/sources/precise-wake.ts";
  import { nowMs } from "./src/core/clock.ts";
  const wakeAt = (wake, time) => new Promise((resolve) => wake.at(time, () => resolve(nowMs())));
`;

describe("precise wake", () => {
  it("calls every callback no earlier than its deadline, in deadline order, for many deadlines asked in any order", async () => {
    const wake = acquirePreciseWake();
    try {
      // The thread up first: calls asked while it starts would all be made late, at once, and prove nothing.
      await new Promise<void>((resolve) => wake.at(nowMs(), resolve));
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
});
