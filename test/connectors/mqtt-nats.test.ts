// The MQTT source and sink against nats-server's own MQTT listener, and the exactly-once path: MQTT in, the JetStream stream behind it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import mqtt from "mqtt";
import { z } from "zod";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { MqttSourceProvider } from "../../src/connectors/sources/mqtt.ts";
import type { SourceReader } from "../../src/connectors/sources/source.ts";
import { rowValidator, schemaFromZod } from "../../src/core/zod-schema.ts";
import { MemoryStream } from "../../src/index.ts";
import { natsSession } from "../helpers/session.ts";
import { RecordingContext, drain, sourceRequest } from "./helpers.ts";

const reading = z.object({ device: z.string(), value: z.number() });

describe("mqtt connectors against nats-server's MQTT listener", () => {
  let server: NatsServerHandle;
  let transport: NatsTransport;
  let publisher: mqtt.MqttClient;
  const readers: SourceReader[] = [];

  before(async () => {
    server = await startNatsServer({ mqtt: { ackWait: "2s" } });
    transport = await NatsTransport.connect(server.options);
    publisher = await mqtt.connectAsync(mqttUrl(), { clientId: "nats-test-publisher", username: server.options.user, password: server.options.pass });
  });
  after(async () => {
    for (const reader of readers) await reader.close();
    await publisher.endAsync();
    await transport.close();
    await server.stop();
  });

  function mqttUrl(): string {
    if (!server.mqttUrl) throw new Error("nats-server started without its MQTT listener");
    return server.mqttUrl;
  }

  /** nats-server 2.9 speaks MQTT 3.1.1 (no MQTT 5) and QoS 0 and 1. */
  function options(extra: Record<string, string>): Record<string, string> {
    return { url: mqttUrl(), protocolVersion: "3.1.1", username: server.options.user, password: server.options.pass, ...extra };
  }

  async function open(clientId: string, topic: string): Promise<{ reader: SourceReader; context: RecordingContext }> {
    const provider = new MqttSourceProvider(sourceRequest("mqtt", options({ clientId, topic }), { schema: schemaFromZod(reading), validate: rowValidator(reading) }));
    const reader = provider.createReader(0);
    readers.push(reader);
    const context = new RecordingContext();
    await reader.open(context);
    return { reader, context };
  }

  it("the source reads QoS 1 messages with their topics, and gets back what was not committed (after the listener's ack_wait)", async () => {
    const first = await open("nats-reader", "site/+/temp");
    for (let index = 0; index < 20; index++) await publisher.publishAsync(`site/d${index % 2}/temp`, JSON.stringify({ device: `d${index % 2}`, value: index }), { qos: 1 });
    await publisher.publishAsync("site/d0/humidity", JSON.stringify({ device: "d0", value: 99 }), { qos: 1 });
    await first.context.waitFor(() => first.reader.readyCount() === 20, 10_000, "20 messages");
    const rows = drain(first.reader).rows;
    assert.deepEqual(rows.map((row) => row.value).sort((a, b) => Number(a) - Number(b)), Array.from({ length: 20 }, (_, index) => index));
    assert.ok(rows.every((row) => row.topic === `site/d${Number(row.value) % 2}/temp`));
    first.reader.epochEnded?.(1);
    await first.reader.close();
    const second = await open("nats-reader", "site/+/temp");
    await second.context.waitFor(() => second.reader.readyCount() === 20, 20_000, "the 20 uncommitted messages again");
    assert.equal(drain(second.reader).rows.length, 20);
    second.reader.epochEnded?.(1);
    second.reader.epochCommitted?.(1);
    await second.reader.close();
    const third = await open("nats-reader", "site/+/temp");
    await publisher.publishAsync("site/d1/temp", JSON.stringify({ device: "d1", value: 100 }), { qos: 1 });
    await third.context.waitFor(() => third.reader.readyCount() >= 1, 10_000, "the new message");
    assert.deepEqual(drain(third.reader).rows.map((row) => row.value), [100]);
  });

  it("the sink publishes to the listener and plain NATS subscribers get the rows on the mapped subject", async () => {
    const received: unknown[] = [];
    const subscription = transport.subscribe("alerts.>", (payload, subject) => received.push({ subject, body: JSON.parse(new TextDecoder().decode(payload)) }));
    await transport.flush();
    const session = natsSession(server.options);
    try {
      const input = new MemoryStream(session, reading);
      const query = await input.toDF().where("value > 10").writeStream.format("mqtt").options(options({ topic: "alerts/hot", qos: "1" })).start();
      input.addData([{ device: "a", value: 11 }, { device: "b", value: 3 }, { device: "c", value: 12.5 }]);
      await query.processAllAvailable();
      for (let round = 0; round < 500 && received.length < 2; round++) await transport.flush();
      assert.deepEqual(received, [{ subject: "alerts.hot", body: { device: "a", value: 11 } }, { subject: "alerts.hot", body: { device: "c", value: 12.5 } }]);
    } finally {
      subscription.unsubscribe();
      await session.stop();
    }
  });

  it("exactly-once path: devices publish QoS 1 over MQTT, a stream keeps the mapped subjects, the query reads it with the jetstream source", async () => {
    await transport.jetstream().addStream({ name: "SENSORS", subjects: ["sensors.>"] });
    for (let index = 0; index < 30; index++) await publisher.publishAsync(`sensors/d${index % 3}`, JSON.stringify({ device: `d${index % 3}`, value: index }), { qos: 1 });
    const session = natsSession(server.options);
    try {
      const query = await session.readStream.format("jetstream").schema(reading).option("stream", "SENSORS").load()
        .groupBy("device").agg("count(*) as n", "sum(value) as total").writeStream.queryName("mqtt_js").format("memory").outputMode("complete").start();
      await query.processAllAvailable();
      const table = session.table("mqtt_js").map((row) => ({ device: row.device, n: row.n, total: row.total })).sort((a, b) => String(a.device).localeCompare(String(b.device)));
      const expected = [0, 1, 2].map((device) => {
        const values = Array.from({ length: 30 }, (_, index) => index).filter((index) => index % 3 === device);
        return { device: `d${device}`, n: values.length, total: values.reduce((sum, value) => sum + value, 0) };
      });
      assert.deepEqual(table, expected);
    } finally {
      await session.stop();
    }
  });
});
