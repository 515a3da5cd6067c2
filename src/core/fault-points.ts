// Named points in the checkpoint protocol where the chaos harness can freeze the process, so that its SIGKILL lands exactly there.
//
// A no-op unless RILL_CHAOS_PAUSE_AT is set, as `<point>:<hit>` (e.g. `before-commit:7`): the hit-th time
// the process reaches that point, it writes `RILL_FAULT_POINT <point> <hit>` on stdout and blocks the whole
// process (every query in it) for RILL_CHAOS_PAUSE_MS (3000 ms), long enough for the harness to kill it
// there; with RILL_CHAOS_PAUSE_MS=stop it sends itself SIGSTOP instead, and goes on from there on SIGCONT (a zombie).
// The write and the wait are synchronous, so nothing else runs between the marker and the kill.
// Points: before-commit, fold, after-commit, sink-commit, file-sink-commit, jetstream-sink-commit,
// jetstream-sink-published, sink-recover, recovery, deadletter-published (test/faults/chaos/schedule.ts lists them for the harness),
// foreach-batch-called (foreachBatch's function returned, `_delivered.json` not written: test/faults/foreach-batch-kill.test.ts), and
// delta-write (an actor's epoch changes taken, their LMDB write not yet queued: test/workers/zombie-worker.test.ts).
import { writeSync } from "node:fs";

interface Target {
  readonly point: string;
  readonly hit: number;
  readonly pauseMs: number;
  readonly stop: boolean;
}

const target = parseTarget(process.env.RILL_CHAOS_PAUSE_AT, process.env.RILL_CHAOS_PAUSE_MS);
let hits = 0;

/** Marks a fault point: free when RILL_CHAOS_PAUSE_AT is unset or names another point. */
export function faultPoint(point: string): void {
  if (target === undefined || target.point !== point) return;
  hits++;
  if (hits !== target.hit) return;
  writeSync(1, `RILL_FAULT_POINT ${point} ${hits}\n`);
  // "stop": the process stops itself (SIGSTOP) right here, as a paused machine would, until the harness sends SIGCONT.
  if (target.stop) process.kill(process.pid, "SIGSTOP");
  else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, target.pauseMs);
}

function parseTarget(spec: string | undefined, pause: string | undefined): Target | undefined {
  if (!spec) return undefined;
  const [point = "", hit = "1"] = spec.split(":");
  return { point, hit: Math.max(1, Number.parseInt(hit, 10) || 1), pauseMs: Number.parseInt(pause ?? "", 10) || 3000, stop: pause === "stop" };
}
