// The main job (`npm start`): activity records from the seeded generator, counts per activity and an acceleration alert,
// live results and the measured ingest-to-sink latency; ends by itself after --duration.
import { parseArgs } from "node:util";
import { parseDuration } from "../core/duration.ts";
import { AlertEngine, Session, consoleNotifier, dashboardNotifier, type Row, type StreamingQuery } from "../index.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "6 seconds" },
    rate: { type: "string", default: "5000" },
    threshold: { type: "string", default: "12" },
    seed: { type: "string", default: "42" },
    partitions: { type: "string", default: "2" },
    "nats-url": { type: "string" },
    transport: { type: "string" },
    "ui-port": { type: "string", default: "4040" },
    "no-ui": { type: "boolean", default: false },
    workers: { type: "string" },
    help: { type: "boolean", default: false },
  },
});

if (values.help) {
  console.log(`rill demo: counts per activity and acceleration alerts over generated activity data.
  --duration <d>     how long to run (default "6 seconds")
  --rate <n>         records per second (default 5000)
  --threshold <g>    alert when the acceleration magnitude exceeds this (default 12)
  --seed <n>         generator seed (default 42)
  --partitions <n>   source partitions and shuffle partitions (default 2)
  --nats-url <url>   use this NATS server instead of a private one
  --transport <t>    "nats" (default) or "inprocess"
  --ui-port <n>      port of the live dashboard (default 4040, as Spark's UI; a free port if taken)
  --no-ui            no dashboard
  --workers <n>      run the demo's queries on n local worker processes (src/cli/demo-job.ts)`);
  process.exit(0);
}

if (values.workers) {
  const { runDemoOnWorkers } = await import("./demo-workers.ts");
  await runDemoOnWorkers({ workers: Number(values.workers), durationMs: parseDuration(values.duration, "--duration"), rate: values.rate, seed: values.seed, partitions: values.partitions, threshold: values.threshold, natsUrl: values["nats-url"] });
  process.exit(0);
}

const durationMs = parseDuration(values.duration, "--duration");
const builder = Session.builder().appName("rill-demo").config("rill.shuffle.partitions", values.partitions);
if (values["nats-url"]) builder.nats({ servers: values["nats-url"] });
if (values.transport) builder.config("rill.transport", values.transport);
const session = builder.getOrCreate();
const ui = values["no-ui"] ? undefined : await session.ui({ port: Number(values["ui-port"]) }).catch(() => session.ui({ port: 0 }));
if (ui) console.log(`dashboard: ${ui.url} (metrics at ${new URL("/metrics", ui.url).href})`);
const alertRules = AlertEngine.attach(session, { notifiers: [consoleNotifier((line) => console.log(line)), ...(ui ? [dashboardNotifier(ui)] : [])] });
alertRules.add({ kind: "queryFailed" });
alertRules.add({ kind: "processingBelowInput", forEpochs: 3 });
alertRules.add({ kind: "latency", percentile: "p99", max: "50 ms" });

const activity = session.readStream.format("activity")
  .option("rowsPerSecond", values.rate)
  .option("numPartitions", values.partitions)
  .option("seed", values.seed)
  .option("outOfOrderFraction", "0.05")
  .option("duplicateFraction", "0.01")
  .load();

let alerts = 0;
const threshold = Number(values.threshold);

const counts = await activity.groupBy("gt").count()
  .writeStream.queryName("activity_counts")
  .outputMode("complete")
  .foreachBatch((rows, epochId) => {
    const sorted = [...rows].sort((a, b) => String(a.gt).localeCompare(String(b.gt)));
    const text = sorted.map((row) => `${String(row.gt ?? "null")}=${String(row.count)}`).join("  ");
    console.log(`[epoch ${epochId}] counts per gt: ${text}`);
  })
  .start();

const alertQuery = await activity
  .selectExpr("User", "Device", "gt", "sqrt(x * x + y * y + z * z) as magnitude", "Arrival_Time")
  .where(`magnitude > ${threshold}`)
  .writeStream.queryName("acceleration_alerts")
  .foreach((row: Row) => {
    alerts++;
    if (alerts <= 5 || alerts % 200 === 0) {
      const latency = Date.now() - (row.Arrival_Time as number);
      console.log(`ALERT #${alerts}: user ${String(row.User)} on ${String(row.Device)} (${String(row.gt)}) magnitude ${(row.magnitude as number).toFixed(2)}, ${latency.toFixed(1)} ms after arrival`);
    }
  })
  .start();

console.log(counts.explain());
console.log(`running for ${durationMs} ms at ${values.rate} records/s on ${session.transport.kind} (${session.transport.address})`);
await new Promise((resolve) => setTimeout(resolve, durationMs));

for (const query of [counts, alertQuery]) report(query);
await session.stop();

function report(query: StreamingQuery): void {
  const latency = query.latency();
  const progress = query.recentProgress;
  const rows = progress.reduce((sum, item) => sum + item.numInputRows, 0);
  const seconds = progress.length > 1 ? (Date.parse(progress[progress.length - 1]?.timestamp ?? "") - Date.parse(progress[0]?.timestamp ?? "")) / 1000 : 0;
  const rate = seconds > 0 ? Math.round((rows - (progress[0]?.numInputRows ?? 0)) / seconds) : 0;
  console.log(`${query.name}: ${rows} records in, ${rate} records/s; latency ingest-to-sink p50 ${latency.p50} ms, p99 ${latency.p99} ms, max ${latency.max} ms over ${latency.count} output rows${query.name === "acceleration_alerts" ? `; ${alerts} alerts` : ""}`);
  const failure = query.exception();
  if (failure) console.log(`${query.name} failed: ${failure.message}`);
}
