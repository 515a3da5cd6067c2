// Scenarios (a) and (b) in one process and on N local worker processes (every actor, sources included, on the workers):
// sustained input rows/s at an offered rate well above what one core keeps up with, and latency at a low rate.
// Usage: npx tsx bench/workers.ts [--scenarios a,b] [--workers local,1,2] [--seconds 15] [--rate 400000] [--rate-b 200000]
//        [--latency-rate 10000] [--latency-seconds 10] [--partitions 2]
// `npm run bench` runs it last (bench/run.ts, unless --no-workers) and writes its lines to <out>/workers.txt.
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runJob, Session } from "../src/index.ts";

const { values } = parseArgs({ options: {
  scenarios: { type: "string", default: "a,b" },
  workers: { type: "string", default: "local,1,2" },
  seconds: { type: "string", default: "15" },
  rate: { type: "string", default: "400000" },
  "rate-b": { type: "string", default: "200000" },
  "latency-rate": { type: "string", default: "10000" },
  "latency-seconds": { type: "string", default: "10" },
  partitions: { type: "string", default: "2" },
} });
const job = fileURLToPath(new URL("./workers-job.ts", import.meta.url));

interface Figure {
  readonly rowsPerSecond: number;
  readonly span: number;
  readonly rows: number;
  readonly p50: number;
  readonly p99: number;
  readonly failure: string | undefined;
}

/** One run: the job on `workers` at `rate` for `seconds`; the figures over the last two thirds (the first third warms up). */
async function measure(scenario: string, workers: string, rate: string, seconds: number): Promise<Figure> {
  Object.assign(process.env, { RILL_BENCH_SCENARIO: scenario, RILL_BENCH_RATE: rate, RILL_BENCH_PARTITIONS: values.partitions });
  const session = new Session(`bench-workers-${scenario}-${workers}`, new Map([["rill.shuffle.partitions", values.partitions], ["rill.workers", workers], ["rill.workers.job", job], ["rill.workers.heartbeatTimeout", "10 seconds"]]), undefined, (message) => {
    if (!message.includes("hosting") && !message.includes("placed") && !message.includes(" is up")) console.error(message);
  });
  try {
    const [query] = await runJob(session, job);
    if (!query) throw new Error("the job defines no query");
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    // Epochs may be long when the offered rate is far above what is kept up with: with fewer than two in the window,
    // every epoch after the first counts.
    const recent = query.recentProgress.filter((item) => Date.parse(item.timestamp) >= Date.now() - (seconds * 2000) / 3);
    const progress = recent.length > 1 ? recent : query.recentProgress.slice(1);
    const rows = progress.slice(1).reduce((sum, item) => sum + item.numInputRows, 0);
    const span = progress.length > 1 ? (Date.parse(progress[progress.length - 1]?.timestamp ?? "") - Date.parse(progress[0]?.timestamp ?? "")) / 1000 : Number.NaN;
    const latency = query.latency();
    return { rowsPerSecond: Math.round(rows / span), span, rows, p50: latency.p50, p99: latency.p99, failure: query.exception()?.message };
  } finally {
    await session.stop();
  }
}

const load = (): string => loadavg().map((value) => value.toFixed(2)).join(" ");
console.log(`# workers bench, ${new Date().toISOString()}, load average at start ${load()}, partitions ${values.partitions}`);
for (const scenario of values.scenarios.split(",")) {
  for (const workers of values.workers.split(",")) {
    const where = workers === "local" ? "one process" : `${workers} worker process${workers === "1" ? "" : "es"}`;
    const rate = scenario === "b" ? values["rate-b"] : values.rate;
    const throughput = await measure(scenario, workers, rate, Number(values.seconds));
    console.log(`(${scenario}) ${where}: ${throughput.rowsPerSecond} rows/s sustained over ${throughput.span.toFixed(1)} s (${throughput.rows} rows, offered ${rate}/s)${throughput.failure ? `; FAILED: ${throughput.failure}` : ""}; load ${load()}`);
    const latency = await measure(scenario, workers, values["latency-rate"], Number(values["latency-seconds"]));
    console.log(`(${scenario}) ${where}: latency at ${values["latency-rate"]} rows/s p50 ${latency.p50} ms, p99 ${latency.p99} ms${latency.failure ? `; FAILED: ${latency.failure}` : ""}; load ${load()}`);
  }
}
