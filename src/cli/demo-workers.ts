// `npm start -- --workers N`: the demo's queries on N local worker processes (src/cli/demo-job.ts), placement shown.
import { fileURLToPath } from "node:url";
import { runJob, Session } from "../index.ts";

export interface DemoOnWorkers {
  readonly workers: number;
  readonly durationMs: number;
  readonly rate: string;
  readonly seed: string;
  readonly partitions: string;
  readonly threshold: string;
  readonly natsUrl: string | undefined;
}

export async function runDemoOnWorkers(options: DemoOnWorkers): Promise<void> {
  Object.assign(process.env, { RILL_DEMO_RATE: options.rate, RILL_DEMO_SEED: options.seed, RILL_DEMO_PARTITIONS: options.partitions, RILL_DEMO_THRESHOLD: options.threshold });
  const job = fileURLToPath(new URL(import.meta.url.endsWith(".js") ? "./demo-job.js" : "./demo-job.ts", import.meta.url));
  const builder = Session.builder().appName("rill-demo").config("rill.shuffle.partitions", options.partitions).config("rill.workers", options.workers).config("rill.workers.job", job);
  if (options.natsUrl) builder.nats({ servers: options.natsUrl });
  const session = builder.getOrCreate();
  const queries = await runJob(session, job);
  for (const query of queries) console.log(query.explain());
  console.log(`running for ${options.durationMs} ms at ${options.rate} records/s on ${options.workers} worker processes`);
  await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  for (const query of queries) {
    const latency = query.latency();
    const rows = query.recentProgress.reduce((sum, progress) => sum + progress.numInputRows, 0);
    console.log(`${query.name}: ${rows} records in; latency ingest-to-sink p50 ${latency.p50} ms, p99 ${latency.p99} ms over ${latency.count} output rows; placement ${[...query.placements()].map(([actor, worker]) => `${actor}@${worker}`).join(", ")}`);
    const failure = query.exception();
    if (failure) console.log(`${query.name} failed: ${failure.message}`);
  }
  await session.stop();
}
