// `rill demo` (`npm start`), the main job: activity records from the seeded generator, counts per activity and the rows
// over an acceleration threshold, live results and the measured ingest-to-sink latency. Runs until stopped (Ctrl-C,
// SIGTERM) or for --duration; stops every query after a last committed epoch, so each count printed is progress's.
import { AlertEngine, Session, consoleNotifier, dashboardNotifier, type Row, type StreamingQuery } from "../index.ts";
import type { Shutdown } from "./shutdown.ts";
import { peakRssMb } from "../core/peak-rss.ts";

export interface DemoOptions {
  /** Undefined: until a stop is asked for. */
  readonly durationMs: number | undefined;
  readonly rate: number;
  readonly threshold: number;
  readonly seed: number;
  readonly partitions: number;
  readonly natsUrl: string | undefined;
  readonly transport: string | undefined;
  /** Undefined: no dashboard. */
  readonly uiPort: number | undefined;
}

/** Rows over the threshold printed: the first few, then every n-th (the summary gives their number). */
const PRINT_FIRST = 5;
const PRINT_EVERY = 200;

export async function runDemo(options: DemoOptions, shutdown: Shutdown): Promise<void> {
  const print = (line: string): void => {
    if (shutdown.canPrint()) console.log(line);
  };
  const builder = Session.builder().appName("rill-demo").config("rill.shuffle.partitions", options.partitions);
  if (options.natsUrl) builder.nats({ servers: options.natsUrl });
  if (options.transport) builder.config("rill.transport", options.transport);
  const session = builder.getOrCreate();
  try {
    const ui = options.uiPort === undefined ? undefined : await session.ui({ port: options.uiPort }).catch(() => session.ui({ port: 0 }));
    if (ui) print(`dashboard: ${ui.url} (metrics at ${new URL("/metrics", ui.url).href})`);
    const rules = AlertEngine.attach(session, { notifiers: [consoleNotifier(print), ...(ui ? [dashboardNotifier(ui)] : [])] });
    rules.add({ kind: "queryFailed" });
    rules.add({ kind: "processingBelowInput", forEpochs: 3 });
    rules.add({ kind: "latency", percentile: "p99", max: "50 ms" });

    const activity = session.readStream.format("activity")
      .option("rowsPerSecond", options.rate)
      .option("numPartitions", options.partitions)
      .option("seed", options.seed)
      .option("outOfOrderFraction", "0.05")
      .option("duplicateFraction", "0.01")
      .load();

    // Each query reads its own copy of the generated stream, from the moment it starts.
    const counts = await activity.groupBy("gt").count()
      .writeStream.queryName("activity_counts")
      .outputMode("complete")
      .foreachBatch((rows, epochId) => {
        const sorted = [...rows].sort((a, b) => String(a.gt).localeCompare(String(b.gt)));
        print(`[epoch ${epochId}] counts per gt: ${sorted.map((row) => `${String(row.gt ?? "null")}=${String(row.count)}`).join("  ")}`);
      })
      .start();

    let overThreshold = 0;
    const strong = await activity
      .selectExpr("User", "Device", "gt", "sqrt(x * x + y * y + z * z) as magnitude", "Arrival_Time")
      .where(`magnitude > ${options.threshold}`)
      .writeStream.queryName("strong_movements")
      .foreach((row: Row) => {
        overThreshold++;
        if (overThreshold <= PRINT_FIRST || overThreshold % PRINT_EVERY === 0) {
          const latency = Date.now() - (row.Arrival_Time as number);
          print(`strong movement #${overThreshold}: user ${String(row.User)} on ${String(row.Device)} (${String(row.gt)}) magnitude ${(row.magnitude as number).toFixed(2)}, ${latency.toFixed(1)} ms after arrival`);
        }
      })
      .start();

    for (const query of [counts, strong]) print(query.explain());
    const until = options.durationMs === undefined ? "until stopped (Ctrl-C)" : `for ${options.durationMs} ms`;
    print(`running ${until} at ${options.rate} records/s on ${session.transport.kind} (${session.transport.address})`);
    let timer: NodeJS.Timeout | undefined;
    const elapsed = options.durationMs === undefined ? new Promise<never>(() => undefined) : new Promise<string>((resolve) => (timer = setTimeout(() => resolve("duration"), options.durationMs)));
    const failed = Promise.all([counts, strong].map((query) => query.awaitTermination().catch(() => undefined))).then(() => "queries ended");
    await Promise.race([elapsed, shutdown.requested, failed]);
    clearTimeout(timer);

    await Promise.all([counts, strong].map((query) => query.stop({ graceful: true })));
    print(summary(counts, ""));
    print(summary(strong, `; ${overThreshold} rows over magnitude ${options.threshold} (printed: the first ${PRINT_FIRST} and every ${PRINT_EVERY}th)`));
    const difference = counts.status.numInputRows - strong.status.numInputRows;
    if (difference !== 0) print(`(each query reads its own copy of the generated stream from the moment it started: the first started ${Math.abs(difference)} rows' time ${difference > 0 ? "earlier" : "later"})`);
    const usage = process.resourceUsage();
    print(`rill demo: peak RSS ${peakRssMb().toFixed(1)} MB, CPU ${((usage.userCPUTime + usage.systemCPUTime) / 1e6).toFixed(1)} s (this process; the nats-server is another)`);
  } finally {
    await session.stop();
  }
}

/** One line per query, from its progress: the same totals the dashboard shows. */
function summary(query: StreamingQuery, extra: string): string {
  const latency = query.latency();
  const progress = query.recentProgress;
  const committed = progress.length === 0 ? "no epoch committed" : `epochs ${progress[0]?.batchId}..${progress[progress.length - 1]?.batchId} committed`;
  const failure = query.exception();
  return `${query.name}: ${query.status.numInputRows} records in, ${committed}; latency ingest-to-sink p50 ${latency.p50} ms, p99 ${latency.p99} ms, max ${latency.max} ms over ${latency.count} output rows${extra}${failure ? `; failed: ${failure.message}` : ""}`;
}
