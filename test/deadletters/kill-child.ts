// A query run as its own process by the dead-letter kill test: reads the DL_INPUT stream (some messages undecodable,
// some failing the schema, some with a pattern no regular expression engine compiles), writes the matches as JSON files.
// Usage: node --import tsx kill-child.ts <output> <checkpoint> (NATS options in RILL_TEST_NATS)
import { Session, z } from "../../src/index.ts";
import { natsOptionsFromParent } from "../helpers/nats.ts";

const [output, checkpoint] = process.argv.slice(2) as [string, string];
const session = Session.builder().appName("deadletter-kill").nats(natsOptionsFromParent()).config("rill.shuffle.partitions", 2).log(() => undefined).getOrCreate();
const schema = z.object({ id: z.number().int(), s: z.string(), p: z.string() });
const events = session.readStream.format("jetstream").option("stream", "DL_INPUT").option("maxOffsetsPerTrigger", 10).schema(schema).load();
session.streams.addListener({
  onQueryProgress: ({ progress }) => {
    if (progress.numInputRows > 0 || progress.numDeadLetters > 0) process.stdout.write(`epoch ${progress.batchId}\n`);
  },
});
const query = await events.selectExpr("id", "s rlike p as matched").where("matched")
  .writeStream.queryName("dl_kill").format("json").option("path", output).option("checkpointLocation", checkpoint).trigger({ continuous: "100 milliseconds" }).start();
await query.processAllAvailable();
process.stdout.write(`done ${query.lastProgress?.batchId ?? -1}\n`);
await session.stop();
