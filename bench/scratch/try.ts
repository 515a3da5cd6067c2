import { Session, expr, startNatsServer, type Row } from "../../src/index.ts";
import { nowMs } from "../../src/core/clock.ts";

const server = await startNatsServer({ jetstream: false });
const mode = process.argv[2] ?? "nats";
const rate = Number(process.argv[3] ?? 10000);
const seconds = Number(process.argv[4] ?? 3);
const trig = process.argv[5];
try {
  const builder = Session.builder().appName("bench").nats({ servers: server.url }).log(() => undefined);
  if (mode === "inprocess") builder.config("rill.transport", "inprocess");
  if (mode === "unchained") builder.config("rill.chaining", "false");
  const session = builder.getOrCreate();
  const total = rate * seconds;
  let count = 0; let last = 0;
  const df = session.readStream.format("activity").option("rowsPerSecond", rate).option("numPartitions", 2).option("seed", 42).option("totalRows", total).load();
  let w = df.withColumn("stairs", expr("gt like '%stairs%'")).where("stairs").where("gt is not null").select("gt", "model", "arrival_time", "creation_time").writeStream.queryName("a");
  if (trig) w = w.trigger({ processingTime: trig });
  const t0 = nowMs();
  const q = await w.foreach((row: Row) => { count++; last = nowMs(); void row; }).start();
  const started = nowMs();
  await new Promise((r) => setTimeout(r, seconds * 1000 + 1500));
  await q.processAllAvailable();
  console.log({ mode, rate, count, startMs: started - t0, lastAfterStart: last - started, latency: q.latency(), prog: q.lastProgress?.stages });
  await session.stop();
} finally {
  await server.stop();
}
