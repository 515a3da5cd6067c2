// A query run as its own process by the MQTT kill test: MQTT (or the JetStream stream behind nats-server's MQTT listener) into the file sink.
// Usage: node --import tsx mqtt-child.ts <mqtt|jetstream> <output> <checkpoint>
// (NATS options in RILL_TEST_NATS; the MQTT source's options as JSON in RILL_TEST_MQTT). Runs until it is killed.
import { Session, z } from "../../src/index.ts";
import { natsOptionsFromParent } from "../helpers/nats.ts";

const [mode, output, checkpoint] = process.argv.slice(2) as [string, string, string];
const session = Session.builder().appName("mqtt-kill-test").nats(natsOptionsFromParent()).log(() => undefined).getOrCreate();
const schema = z.object({ id: z.number().int(), device: z.string() });
const reader = session.readStream.schema(schema);
const events = mode === "mqtt"
  ? reader.format("mqtt").options(JSON.parse(process.env.RILL_TEST_MQTT ?? "{}") as Record<string, string>).load()
  : reader.format("jetstream").option("stream", "DEVICES").load();
session.streams.addListener({
  onQueryProgress: ({ progress }) => {
    if (progress.numInputRows > 0) process.stdout.write(`epoch ${progress.batchId}\n`);
  },
});
await events.selectExpr("id", "device").writeStream.queryName(`mqtt_kill_${mode}`).format("json").option("path", output)
  .option("checkpointLocation", checkpoint).trigger({ continuous: "200 milliseconds" }).start();
process.stdout.write("started\n");
