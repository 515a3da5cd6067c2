// A query run as its own process by test/faults/jetstream-partitions-kill.test.ts: a 3-partition JetStream source
// (`partitions`), per-device counts in 1-minute event-time windows, into the JSON file sink, checkpointed.
// Usage: node --import tsx jetstream-partitions-child.ts <run|final|once|availableNow> <stream> <output> <checkpoint> [startingOffsets]
// `run` runs until it is killed; `final` runs processAllAvailable() and ends; `once` and `availableNow` run that trigger
// and end. Prints `epoch N` for each epoch that read rows and `done N` at the end (NATS options in RILL_TEST_NATS).
import { col, count, Session, window, z } from "../../src/index.ts";
import { natsOptionsFromParent } from "../helpers/nats.ts";

const [mode, stream, output, checkpoint, startingOffsets = "earliest"] = process.argv.slice(2) as [string, string, string, string, string?];
// A test that died must not leave its child running forever.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 500).unref();

const session = Session.builder().appName("jspart-kill").nats(natsOptionsFromParent()).config("rill.shuffle.partitions", 2)
  .config("rill.watermark.idleTimeout", "2 seconds").log(() => undefined).getOrCreate();
export const schema = z.object({ id: z.number().int(), device: z.string(), time: z.date() });
const prefix = stream.toLowerCase();
const trigger = mode === "once" ? { once: true as const } : mode === "availableNow" ? { availableNow: true as const } : { continuous: "100 milliseconds" };
session.streams.addListener({
  onQueryProgress: ({ progress }) => {
    if (progress.numInputRows > 0) process.stdout.write(`epoch ${progress.batchId}\n`);
  },
});
const query = await session.readStream.format("jetstream").schema(schema).option("stream", stream)
  .option("partitions", `${prefix}.0.*,${prefix}.1.*,${prefix}.2.*`).option("startingOffsets", startingOffsets).option("maxOffsetsPerTrigger", 200).load()
  .withWatermark("time", "10 seconds")
  .groupBy(window(col("time"), "1 minute"), col("device"))
  .agg(count("*").alias("n"))
  .selectExpr("device", "window.start as start", "window.end as end", "n")
  .writeStream.queryName("jspartkill").outputMode("append").format("json").option("path", output).option("checkpointLocation", checkpoint)
  .trigger(trigger).start();
if (mode === "run") {
  await new Promise(() => undefined);
} else if (mode === "final") {
  await query.processAllAvailable();
} else {
  await query.awaitTermination();
}
process.stdout.write(`done ${query.lastProgress?.batchId ?? -1}\n`);
await session.stop();
