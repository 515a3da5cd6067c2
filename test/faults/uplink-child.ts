// A query run as its own process by the uplink test: the rate source (one partition, ids 0, 1, 2, ...) into the
// store-and-forward MQTT sink. Usage: node --import tsx uplink-child.ts <checkpoint>
// (NATS options in RILL_TEST_NATS; the sink's options as JSON in RILL_TEST_UPLINK). Prints "epoch <n> <rows>" per
// epoch with input; runs until it is killed.
import { Session } from "../../src/index.ts";
import { natsOptionsFromParent } from "../helpers/nats.ts";

const [checkpoint] = process.argv.slice(2) as [string];
const session = Session.builder().appName("uplink-test").nats(natsOptionsFromParent()).log(() => undefined).getOrCreate();
const rate = Number(process.env.RILL_TEST_RATE ?? "400");
const events = session.readStream.format("rate").option("rowsPerSecond", String(rate)).option("numPartitions", "1").load();
session.streams.addListener({
  onQueryProgress: ({ progress }) => {
    if (progress.numInputRows > 0) process.stdout.write(`epoch ${progress.batchId} ${progress.numInputRows}\n`);
  },
});
await events.selectExpr("value AS id", "value % 5 AS device").writeStream.queryName("uplink_test").format("mqtt")
  .options(JSON.parse(process.env.RILL_TEST_UPLINK ?? "{}") as Record<string, string>)
  .option("checkpointLocation", checkpoint).trigger({ continuous: "200 milliseconds" }).start();
process.stdout.write("started\n");
