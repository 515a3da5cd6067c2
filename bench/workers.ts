// Scenario (b) on the driver alone and on N local worker processes: sustained input rows/s over the last seconds.
// Usage: npx tsx bench/workers.ts [--seconds 20] [--rate 400000] [--partitions 2] [--workers local,1,2]
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runJob, Session } from "../src/index.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "20" }, rate: { type: "string", default: "400000" }, partitions: { type: "string", default: "2" }, workers: { type: "string", default: "local,1,2" } } });
const job = fileURLToPath(new URL("./workers-job.ts", import.meta.url));
Object.assign(process.env, { RILL_BENCH_RATE: values.rate, RILL_BENCH_PARTITIONS: values.partitions });
const seconds = Number(values.seconds);

for (const workers of values.workers.split(",")) {
  const session = new Session(`bench-workers-${workers}`, new Map([["rill.shuffle.partitions", values.partitions], ["rill.workers", workers], ["rill.workers.job", job], ["rill.workers.heartbeatTimeout", "10 seconds"]]), undefined, (message) => {
    if (!message.includes("hosting") && !message.includes("placed") && !message.includes(" is up")) console.error(message);
  });
  const [query] = await runJob(session, job);
  if (!query) throw new Error("the job defines no query");
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  // The first third warms up (JIT, worker start); the rest is the sustained figure.
  console.error(`workers=${workers}: ${query.recentProgress.length} epochs, last ${query.lastProgress?.timestamp} ${query.lastProgress?.numInputRows}; now ${new Date().toISOString()}`);
  const progress = query.recentProgress.filter((item) => Date.parse(item.timestamp) >= Date.now() - (seconds * 2000) / 3);
  const rows = progress.reduce((sum, item) => sum + item.numInputRows, 0);
  const span = progress.length > 1 ? (Date.parse(progress[progress.length - 1]?.timestamp ?? "") - Date.parse(progress[0]?.timestamp ?? "")) / 1000 : Number.NaN;
  const latency = query.latency();
  console.log(`workers=${workers}: ${Math.round(rows / span)} rows/s sustained over ${span.toFixed(1)} s (${rows} rows, offered ${values.rate}/s), latency p50 ${latency.p50} ms p99 ${latency.p99} ms${query.exception() ? `; failed: ${query.exception()?.message}` : ""}`);
  await session.stop();
}
