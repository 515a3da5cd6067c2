// The gateway bench's baseline: raw MQTT.js pass-through of readings above the threshold, nothing else.
/* global process, console */
import mqtt from "mqtt";

const url = process.env.BENCH_BROKER_URL;
const THRESHOLD = 90;
const client = await mqtt.connectAsync(url, { clientId: `rill-bench-raw-${process.pid}`, clean: true, protocolVersion: 4 });
client.on("message", (_topic, payload) => {
  const reading = JSON.parse(payload.toString());
  if (reading.celsius > THRESHOLD) client.publish("out/hot", JSON.stringify(reading), { qos: 0 });
});
await client.subscribeAsync("sensors/+/reading", { qos: 0 });
console.log("ready");
process.on("SIGTERM", () => client.end(true, () => process.exit(0)));
