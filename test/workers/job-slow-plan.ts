// The job module of test/workers/job.ts, but slow to plan on a worker: each plan build there blocks the worker's event
// loop for RILL_JOB_SLOW_PLAN_MS (as a big job's imports, or a cold process on a loaded machine, do), so the worker
// sends no heartbeat meanwhile. The driver (this module loaded by the test process) plans at the usual speed.
import { basename, dirname } from "node:path";
import type { Session } from "../../src/index.ts";
import job from "./job.ts";

/** A worker process runs src/cli/worker.ts. */
const onWorker = basename(process.argv[1] ?? "") === "worker.ts" && basename(dirname(process.argv[1] ?? "")) === "cli";

export default function slowJob(session: Session) {
  const blockMs = Number(process.env.RILL_JOB_SLOW_PLAN_MS ?? 0);
  if (onWorker && blockMs > 0) {
    const until = Date.now() + blockMs;
    while (Date.now() < until) {
      // Busy: no timer, no socket, no heartbeat.
    }
  }
  return job(session);
}
