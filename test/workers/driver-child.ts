// The driver of the worker tests, as its own process: runs test/workers/job.ts with rill.workers = <workers> until every
// file is read (with RILL_TEST_WAIT_FOR, once that file exists: the test writes the input meanwhile). Prints `epoch N` per epoch with input, `committed N` per epoch, `hosting name ...` whenever the workers hosting its actors change,
// and `done N` at the end. Usage: node --import tsx driver-child.ts <workers> (paths in RILL_JOB_*, NATS in RILL_TEST_NATS)
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runJob, Session } from "../../src/index.ts";
import { natsOptionsFromParent } from "../helpers/nats.ts";

const workers = process.argv[2] ?? "local";
const session = Session.builder().appName("workers-test").nats(natsOptionsFromParent())
  .config("rill.shuffle.partitions", Number(process.env.RILL_TEST_PARTITIONS ?? 3))
  .config("rill.workers", workers)
  .config("rill.workers.job", join(import.meta.dirname, "job.ts"))
  .config("rill.workers.heartbeatTimeout", process.env.RILL_TEST_HEARTBEAT_TIMEOUT ?? "2 seconds")
  .config("rill.recovery.maxRetries", 20)
  .log((message) => process.stderr.write(`${message}\n`))
  .getOrCreate();
session.streams.addListener({
  onQueryProgress: ({ progress }) => {
    if (progress.numInputRows > 0) process.stdout.write(`epoch ${progress.batchId}\n`);
    process.stdout.write(`committed ${progress.batchId}\n`);
  },
});
const [query] = await runJob(session, join(import.meta.dirname, "job.ts"));
if (!query) throw new Error("the job defines no query");
let shown = "";
// The workers that host actors of the query now (by name): killing one of them must roll the query back.
const showWorkers = (): void => {
  const line = [...new Set([...query.placements().values()].filter((worker) => worker !== "driver"))].sort().join(" ");
  if (line !== shown) process.stdout.write(`hosting ${line}\n`);
  shown = line;
};
const timer = setInterval(showWorkers, 50);
showWorkers();
if (process.env.RILL_EXPLAIN) process.stdout.write(`${query.explain()}\n`);
// A test that writes its input while the query runs says when the last file is there by creating this file.
const waitFor = process.env.RILL_TEST_WAIT_FOR;
if (waitFor) while (!existsSync(waitFor)) await new Promise((resolve) => setTimeout(resolve, 100));
await query.processAllAvailable();
clearInterval(timer);
process.stdout.write(`recoveries ${query.numRecoveries}\n`);
process.stdout.write(`replacements ${query.numReplacements}\n`);
process.stdout.write(`done ${query.lastProgress?.batchId ?? -1}\n`);
await session.stop();
