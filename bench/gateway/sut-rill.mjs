// The gateway bench's Rill process: a threshold filter of MQTT readings to MQTT, and a windowed count of the hot ones with an alert.
//
// Usage: node sut-rill.mjs mqtt | nats, with BENCH_BROKER_URL (and BENCH_NATS_OPTIONS, JSON) in the environment. Imports the built package (dist/), so no
// loader runs in the measured process. `mqtt`: both queries read and write MQTT (Mosquitto). `nats`: the devices and the
// receiver speak MQTT to nats-server's MQTT listener, and Rill reads and writes the NATS subjects behind it.
// Query 1: readings where celsius > 90, to `out/hot`. Query 2 reads `out/hot` and counts the hot readings per device in
// 1 s windows (event time: sentAt, 2 s watermark), update mode, and alerts on `out/alerts` when a window holds 5 or more.
/* global process, console */
import { Session, functions, z } from "../../dist/index.js";

const [variant] = process.argv.slice(2);
const url = process.env.BENCH_BROKER_URL;
const nats = process.env.BENCH_NATS_OPTIONS;
const { col, window } = functions;
const reading = z.object({ device: z.string(), celsius: z.number(), seq: z.number(), sentAt: z.number() });
const builder = Session.builder().appName("rill-bench-gateway").log(() => undefined);
if (variant === "nats") builder.nats(JSON.parse(nats));
else builder.config("rill.transport", "inprocess");
const session = builder.getOrCreate();

const mqttIn = (topic, clientId) => session.readStream.format("mqtt").schema(reading).option("url", url).option("topic", topic)
  .option("qos", "0").option("cleanSession", "true").option("clientId", clientId).load();
const natsIn = (subject) => session.readStream.format("nats").schema(reading).option("subject", subject).load();
const out = (frame, topic) => (variant === "nats"
  ? frame.writeStream.format("nats").option("subject", topic.replace("/", "."))
  : frame.writeStream.format("mqtt").option("url", url).option("topic", topic).option("qos", "0"));

const readings = variant === "nats" ? natsIn("sensors.*.reading") : mqttIn("sensors/+/reading", "rill-bench-readings");
const hot = readings.where("celsius > 90").select("device", "celsius", "seq", "sentAt");
const filter = await out(hot, "out/hot").queryName("threshold").start();

const hotIn = variant === "nats" ? natsIn("out.hot") : mqttIn("out/hot", "rill-bench-alerts");
const alerts = hotIn.selectExpr("device", "cast(sentAt / 1000 as timestamp) as event_time").withWatermark("event_time", "2 seconds")
  .groupBy(window(col("event_time"), "1 second"), col("device")).count().where("count >= 5");
const alerting = await out(alerts, "out/alerts").outputMode("update").queryName("alerts").start();
console.log("ready");
process.on("SIGTERM", async () => {
  await filter.stop();
  await alerting.stop();
  await session.stop();
  process.exit(0);
});
