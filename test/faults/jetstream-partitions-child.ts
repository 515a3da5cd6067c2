// A process run by test/faults/jetstream-partitions-kill.test.ts: two checkpointed queries over a 3-partition JetStream
// source (`partitions`), per-device counts in 1-minute event-time windows, one into the JSON file sink and one into the
// transactional JetStream sink (subject `<stream lower case>out.windows`).
// Usage: node --import tsx jetstream-partitions-child.ts <run|final> <stream> <output> <checkpoint>
// `run` runs until it is killed; `final` runs processAllAvailable() on both and ends. Prints `epoch N` for each epoch
// that read rows and `done N` at the end (NATS options in RILL_TEST_NATS).
import { col, count, Session, window, z } from "../../src/index.ts";
import { natsOptionsFromParent } from "../helpers/nats.ts";

const [mode, stream, output, checkpoint] = process.argv.slice(2) as [string, string, string, string];
// A test that died must not leave its child running forever.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 500).unref();

// The idle timeout is long by default: a partition that only lags (its consumer slow to come back after a restart on a
// loaded machine, its backlog behind the others') for longer than a short one is taken for idle, the watermark moves on
// with the other partitions and its rows are dropped as late (seen with 2 seconds at load 13-16; see the test).
const idleTimeout = process.env.RILL_JSPART_IDLE_TIMEOUT ?? "60 seconds";
const session = Session.builder().appName("jspart-kill").nats(natsOptionsFromParent()).config("rill.shuffle.partitions", 2)
  .config("rill.watermark.idleTimeout", idleTimeout).log(() => undefined).getOrCreate();
const schema = z.object({ id: z.number().int(), device: z.string(), time: z.date() });
const prefix = stream.toLowerCase();
session.streams.addListener({
  onQueryProgress: ({ progress }) => {
    if (progress.numInputRows > 0) process.stdout.write(`epoch ${progress.batchId}\n`);
  },
});
const windows = () => session.readStream.format("jetstream").schema(schema).option("stream", stream)
  .option("partitions", `${prefix}.0.*,${prefix}.1.*,${prefix}.2.*`).option("maxOffsetsPerTrigger", 200).load()
  .withWatermark("time", "10 seconds")
  .groupBy(window(col("time"), "1 minute"), col("device"))
  .agg(count("*").alias("n"))
  .selectExpr("device", "window.start as start", "window.end as end", "n")
  .writeStream.outputMode("append").trigger({ continuous: "100 milliseconds" });
const queries = [
  await windows().queryName("jspartkill").format("json").option("path", output).option("checkpointLocation", checkpoint).start(),
  await windows().queryName("jspartkill_js").format("jetstream").option("subject", `${prefix}out.windows`).option("mode", "transactional").option("checkpointLocation", `${checkpoint}-js`).start(),
];
if (mode === "run") await new Promise(() => undefined);
for (const query of queries) await query.processAllAvailable();
process.stdout.write(`done ${queries[0]?.lastProgress?.batchId ?? -1}\n`);
await session.stop();
