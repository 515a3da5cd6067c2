// The driver of the replicated-state tests, as its own process: runs test/workers/job.ts on the cluster's workers
// (rill.workers = cluster) with rill.state.replication = jetstream until every file is read. Prints `query <id>`,
// `epoch N recoveries R` per epoch with input (R: rollbacks so far), `hosting <worker> ...` whenever the workers hosting actors change, at the end the workers as the dashboard's state API
// and the last progress report show them, and `done N`. With RILL_TEST_DRIVER_GO=stdin it waits for a `go` line on stdin before it waits for the input to be processed.
// Usage: node --import tsx driver-child.ts <replicas> <snapshotEvery> (paths in RILL_JOB_*, NATS in RILL_TEST_NATS)
import { join } from "node:path";
import { runJob, Session } from "../../../src/index.ts";
import { natsOptionsFromParent } from "../../helpers/nats.ts";

const job = join(import.meta.dirname, "..", "..", "workers", "job.ts");
const session = Session.builder().appName("replicated-state-test").nats(natsOptionsFromParent())
  .config("rill.shuffle.partitions", 3)
  .config("rill.workers", "cluster")
  .config("rill.workers.job", job)
  .config("rill.workers.heartbeatTimeout", process.env.RILL_TEST_HEARTBEAT_TIMEOUT ?? "2 seconds")
  .config("rill.recovery.maxRetries", 20)
  .config("rill.state.replication", "jetstream")
  .config("rill.state.replicas", process.argv[2] ?? "1")
  .config("rill.state.snapshotEvery", process.argv[3] ?? "5")
  .log((message) => process.stderr.write(`${message}\n`))
  .getOrCreate();
session.streams.addListener({
  onQueryProgress: ({ progress }) => {
    if (progress.numInputRows > 0) process.stdout.write(`epoch ${progress.batchId} recoveries ${progress.numRecoveries}\n`);
  },
});
const ui = await session.ui();
const [query] = await runJob(session, job);
if (!query) throw new Error("the job defines no query");
process.stdout.write(`query ${query.id}\n`);
let shown = "";
const showWorkers = (): void => {
  const line = [...new Set([...query.placements().values()].filter((worker) => worker !== "driver"))].sort().join(" ");
  if (line !== shown) process.stdout.write(`hosting ${line}\n`);
  shown = line;
};
const timer = setInterval(showWorkers, 50);
// RILL_TEST_DRIVER_GO=stdin: the test holds part of the input back until its faults landed, then writes it and says
// `go`; only then does "all available" mean all of it.
if (process.env.RILL_TEST_DRIVER_GO === "stdin") {
  let said = "";
  for await (const chunk of process.stdin) {
    said += String(chunk);
    if (said.split("\n").includes("go")) break;
  }
}
await query.processAllAvailable();
clearInterval(timer);
// Seen from outside: the dashboard's state API and the progress report, with the placement they should agree with.
const { queries: views } = (await (await fetch(`${ui.url}/api/queries`)).json()) as { queries: Array<{ id: string; workers: unknown }> };
process.stdout.write(`dashboard-workers ${JSON.stringify(views.find((view) => view.id === query.id)?.workers ?? null)}\n`);
process.stdout.write(`progress-workers ${JSON.stringify(query.lastProgress?.workers ?? null)}\n`);
process.stdout.write(`placements ${JSON.stringify([...query.placements()])}\n`);
process.stdout.write(`recoveries ${query.numRecoveries}\n`);
process.stdout.write(`done ${query.lastProgress?.batchId ?? -1}\n`);
await session.stop();
