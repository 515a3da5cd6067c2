// The MQTT source and sink against a real Mosquitto: wildcards, the topic column, msgpack, dead letters, acks held until commit.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import mqtt from "mqtt";
import { pack, unpack } from "msgpackr";
import { z } from "zod";
import { MqttSinkProvider } from "../../src/connectors/sinks/mqtt.ts";
import { MqttSourceProvider } from "../../src/connectors/sources/mqtt.ts";
import type { SourceReader } from "../../src/connectors/sources/source.ts";
import { ConfigError, TransportError } from "../../src/core/errors.ts";
import { rowValidator, schemaFromZod } from "../../src/core/zod-schema.ts";
import { MemoryStream } from "../../src/index.ts";
import { findMosquitto, MOSQUITTO_MISSING, startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.ts";
import { inProcessSession } from "../helpers/session.ts";
import { BinaryRecord } from "../../src/core/binary-record.ts";
import { RecordingContext, drain, sinkRequest, sourceRequest } from "./helpers.ts";

const reading = z.object({ device: z.string(), value: z.number() });
const skip = findMosquitto() === undefined ? MOSQUITTO_MISSING : false;

describe("mqtt connectors against Mosquitto", { skip }, () => {
  let broker: MosquittoHandle;
  let publisher: mqtt.MqttClient;
  const readers: SourceReader[] = [];
  let clients = 0;

  before(async () => {
    broker = await startMosquitto();
    publisher = await mqtt.connectAsync(broker.url, { clientId: "test-publisher" });
  });
  after(async () => {
    for (const reader of readers) await reader.close();
    await publisher.endAsync();
    await broker.stop();
  });

  function source(options: Record<string, string>): MqttSourceProvider {
    return new MqttSourceProvider(sourceRequest("mqtt", { url: broker.url, clientId: `reader-${++clients}`, ...options }, { schema: schemaFromZod(reading), validate: rowValidator(reading) }));
  }

  async function open(provider: MqttSourceProvider): Promise<{ reader: SourceReader; context: RecordingContext }> {
    const reader = provider.createReader(0);
    readers.push(reader);
    const context = new RecordingContext();
    await reader.open(context);
    return { reader, context };
  }

  it("reads JSON from several filters with '+' and '#', each row with its topic", async () => {
    const provider = source({ topic: "plant/+/temp, alarms/#" });
    assert.equal(provider.guarantee, "at-least-once");
    assert.deepEqual(provider.schema.fields.map((field) => field.name), ["device", "value", "topic"]);
    const { reader, context } = await open(provider);
    await publisher.publishAsync("plant/a/temp", JSON.stringify({ device: "a", value: 1.5 }), { qos: 1 });
    await publisher.publishAsync("plant/a/humidity", JSON.stringify({ device: "a", value: 40 }), { qos: 1 });
    await publisher.publishAsync("alarms/b/fire/now", JSON.stringify({ device: "b", value: 2, extra: true }), { qos: 1 });
    await publisher.publishAsync("plant/b/temp", JSON.stringify({ device: "b", value: -3 }), { qos: 0 });
    await context.waitFor(() => reader.readyCount() === 3, 10_000, "three messages");
    assert.deepEqual(drain(reader).rows.sort((x, y) => String(x.topic).localeCompare(String(y.topic))), [
      { device: "b", value: 2, topic: "alarms/b/fire/now" },
      { device: "a", value: 1.5, topic: "plant/a/temp" },
      { device: "b", value: -3, topic: "plant/b/temp" },
    ]);
  });

  it("reads msgpack payloads", async () => {
    const { reader, context } = await open(source({ topic: "mp/#", encoding: "msgpack", qos: "2" }));
    await publisher.publishAsync("mp/x", Buffer.from(pack({ device: "m", value: 7 })), { qos: 2 });
    await context.waitFor(() => reader.readyCount() === 1, 10_000, "a msgpack message");
    assert.deepEqual(drain(reader).rows, [{ device: "m", value: 7, topic: "mp/x" }]);
  });

  it("sends payloads that do not decode or fail the schema to the dead letter with the reason, and reads on", async () => {
    const { reader, context } = await open(source({ topic: "bad/#" }));
    await publisher.publishAsync("bad/1", "{not json", { qos: 1 });
    await publisher.publishAsync("bad/2", JSON.stringify({ device: 7, value: 1 }), { qos: 1 });
    await publisher.publishAsync("bad/3", Buffer.from([0x7b, 0xff, 0x7d]), { qos: 1 });
    await publisher.publishAsync("bad/4", JSON.stringify({ device: "ok", value: 1 }), { qos: 1 });
    await context.waitFor(() => context.deadLetters.length === 3 && reader.readyCount() === 1, 10_000, "three dead letters and one row");
    assert.equal(context.deadLetters[0]?.raw, "{not json");
    assert.match(context.deadLetters[0]?.reason ?? "", /^message on topic 'bad\/1' is not valid json/);
    assert.match(context.deadLetters[1]?.reason ?? "", /^message on topic 'bad\/2' fails the schema: device: /);
    assert.ok(context.deadLetters[2]?.raw instanceof BinaryRecord);
    assert.match(context.deadLetters[2]?.reason ?? "", /^message on topic 'bad\/3' is invalid UTF-8/);
    assert.deepEqual(drain(reader).rows, [{ device: "ok", value: 1, topic: "bad/4" }]);
  });

  it("stops reading the broker once maxBufferedMessages wait unpolled, and reads on as the query polls (QoS 0)", async () => {
    const provider = source({ topic: "flood/#", qos: "0", maxBufferedMessages: "40" });
    const { reader, context } = await open(provider);
    // A plain subscriber sees the same messages at the broker's pace: once it has them all, an unbounded reader would too.
    const witness = await mqtt.connectAsync(broker.url, { clientId: "flood-witness" });
    const total = 400;
    let witnessed = 0;
    const witnessedAll = new Promise<void>((resolve) => witness.on("message", () => {
      if (++witnessed === total) resolve();
    }));
    await witness.subscribeAsync("flood/#", { qos: 0 });
    for (let index = 0; index < total; index++) publisher.publish("flood/x", JSON.stringify({ device: "f", value: index }), { qos: 0 });
    await witnessedAll;
    await context.waitFor(() => reader.readyCount() >= 40, 20_000, "the reader's 40 messages");
    await witness.endAsync();
    assert.ok(reader.readyCount() <= 41, `${reader.readyCount()} messages buffered, bound 40 (+ the one being handled)`);
    const values: unknown[] = [];
    while (values.length < total) {
      await context.waitFor(() => reader.readyCount() > 0, 20_000, `message ${values.length}`);
      const { rows } = drain(reader);
      for (const row of rows) values.push(row.value);
      assert.ok(reader.readyCount() <= 41);
    }
    assert.deepEqual(values, Array.from({ length: total }, (_, index) => index), "every message once, in order: the pause held them in the socket, not lost");
  });

  for (const qos of [1, 2] as const) {
    it(`acknowledges QoS ${qos} messages only when their epoch commits: a reader closed before the commit gets them again`, async () => {
      const options = { topic: `held${qos}/#`, clientId: `held-reader-${qos}`, qos: String(qos) };
      const first = await open(source(options));
      for (let index = 0; index < 50; index++) await publisher.publishAsync(`held${qos}/x`, JSON.stringify({ device: "d", value: index }), { qos });
      await first.context.waitFor(() => first.reader.readyCount() === 50, 10_000, "50 messages");
      assert.equal(drain(first.reader).rows.length, 50);
      first.reader.epochEnded?.(1);
      await first.reader.close();
      // Not committed: the broker sends all 50 again to the same client id.
      const second = await open(source(options));
      await second.context.waitFor(() => second.reader.readyCount() === 50, 10_000, "the 50 messages again");
      assert.deepEqual(drain(second.reader).rows.map((row) => row.value), Array.from({ length: 50 }, (_, index) => index));
      second.reader.epochEnded?.(1);
      second.reader.epochCommitted?.(1);
      await second.reader.close();
      // Committed: nothing comes back; a new message does.
      const third = await open(source(options));
      await publisher.publishAsync(`held${qos}/x`, JSON.stringify({ device: "d", value: 99 }), { qos });
      await third.context.waitFor(() => third.reader.readyCount() >= 1, 10_000, "the new message");
      assert.deepEqual(drain(third.reader).rows.map((row) => row.value), [99]);
    });
  }

  it("drops what the broker sends again after a reconnect while the run still holds it unacknowledged", async () => {
    const persistent = await startMosquitto({ persistence: true });
    const sender = await mqtt.connectAsync(persistent.url, { clientId: "reconnect-publisher" });
    const provider = new MqttSourceProvider(sourceRequest("mqtt", { url: persistent.url, clientId: "reconnect-reader", topic: "again/#" }, { schema: schemaFromZod(reading), validate: rowValidator(reading) }));
    const reader = provider.createReader(0);
    const context = new RecordingContext();
    try {
      await reader.open(context);
      for (let index = 0; index < 30; index++) await sender.publishAsync("again/x", JSON.stringify({ device: "d", value: index }), { qos: 1 });
      await context.waitFor(() => reader.readyCount() === 30, 10_000, "30 messages");
      // The broker saves the session with the 30 unacknowledged messages, restarts, and sends them again once the reader is back.
      await persistent.restart();
      await sender.publishAsync("again/x", JSON.stringify({ device: "marker", value: 30 }), { qos: 1 });
      await context.waitFor(() => reader.readyCount() >= 31, 30_000, "the marker after the reconnect");
      const rows = drain(reader).rows;
      assert.deepEqual(rows.map((row) => row.value), Array.from({ length: 31 }, (_, index) => index), "each message once, the redelivered ones dropped");
    } finally {
      await reader.close();
      await sender.endAsync();
      await persistent.stop();
    }
  });

  it("fails at the next barrier once the broker has been away longer than connectTimeout, naming it", async () => {
    const lonely = await startMosquitto();
    const provider = new MqttSourceProvider(sourceRequest("mqtt", { url: lonely.url, clientId: "lonely-reader", topic: "t/#", connectTimeout: "300 ms" }, { schema: schemaFromZod(reading), validate: rowValidator(reading) }));
    const reader = provider.createReader(0);
    try {
      await reader.open(new RecordingContext());
      await reader.prepare();
      await lonely.stop();
      let failure: unknown;
      for (let attempt = 0; attempt < 100 && failure === undefined; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        failure = await reader.prepare().then(() => undefined, (error: unknown) => error);
      }
      assert.ok(failure instanceof TransportError, `prepare() failed with ${String(failure)}`);
      assert.match(failure.message, new RegExp(`^Lost the MQTT broker at mqtt://127\\.0\\.0\\.1:${lonely.port} \\(client 'lonely-reader'\\)`));
    } finally {
      await reader.close();
    }
  });

  it("keeps what is published while the query is down (persistent session)", async () => {
    const options = { topic: "offline/#", clientId: "offline-reader" };
    const first = await open(source(options));
    await first.reader.close();
    for (let index = 0; index < 1500; index++) void publisher.publishAsync("offline/x", JSON.stringify({ device: "d", value: index }), { qos: 1 });
    await publisher.publishAsync("offline/x", JSON.stringify({ device: "d", value: 1500 }), { qos: 1 });
    const second = await open(source(options));
    await second.context.waitFor(() => second.reader.readyCount() === 1501, 20_000, "1,501 messages published while it was down");
    assert.deepEqual(drain(second.reader, 5000).rows.map((row) => row.value), Array.from({ length: 1501 }, (_, index) => index));
  });

  it("refuses wrong options at start() with errors naming the option", () => {
    const make = (options: Record<string, string>) => () => new MqttSourceProvider(sourceRequest("mqtt", options, { schema: schemaFromZod(reading), validate: rowValidator(reading) }));
    assert.throws(make({ url: broker.url, topic: "a/#" }), (error: unknown) => error instanceof ConfigError && /Option 'clientId' of the mqtt source is missing/.test(error.message));
    assert.throws(make({ url: broker.url, topic: "a/#/b", clientId: "c" }), /Option 'topic' of the mqtt source is 'a\/#\/b'.*'#' is a whole last level/);
    assert.throws(make({ url: broker.url, topic: "a/b+", clientId: "c" }), /'\+' fills a whole level/);
    assert.throws(make({ url: "http://x:1", topic: "a", clientId: "c" }), /Option 'url' of the mqtt source is 'http:\/\/x:1'/);
    assert.throws(make({ url: broker.url, topic: "a", clientId: "c", qos: "3" }), /Option 'qos' .* at most 2/);
    assert.throws(make({ url: broker.url, topic: "a", clientId: "c", "tls.ca": "/etc/hostname" }), /an mqtts:\/\/ \(or wss:\/\/\) URL when TLS options are given/);
    assert.throws(make({ url: "mqtts://127.0.0.1:8883", topic: "a", clientId: "c", "tls.ca": "/no/such.pem" }), /Option 'tls.ca' .* readable PEM file/);
    assert.throws(make({ url: broker.url, topic: "a", clientId: "c", topicColumn: "device" }), /has a field 'device', which is also the column/);
    assert.throws(() => new MqttSinkProvider(sinkRequest("mqtt", { url: broker.url })), /exactly one of option 'topic'.*and option 'topicColumn'/);
    assert.throws(() => new MqttSinkProvider(sinkRequest("mqtt", { url: broker.url, topic: "out/+" })), /a published topic has no wildcards/);
  });

  it("a query reads MQTT into the memory sink, and the mqtt sink publishes its rows to a fixed topic and to a column's topic", async () => {
    const session = inProcessSession();
    try {
      const received: Array<{ topic: string; body: unknown }> = [];
      const subscriber = await mqtt.connectAsync(broker.url, { clientId: "test-sink-subscriber" });
      subscriber.on("message", (topic, payload) => received.push({ topic, body: topic.startsWith("mpk/") ? unpack(payload) : JSON.parse(payload.toString()) }));
      await subscriber.subscribeAsync(["fixed/#", "per/#", "mpk/#"], { qos: 1 });

      const inbound = await session.readStream.format("mqtt").schema(reading).option("url", broker.url).option("topic", "q/in/+").option("clientId", "q-in")
        .load().where("value > 0").writeStream.queryName("mqtt_in").format("memory").start();
      for (let index = -2; index < 8; index++) await publisher.publishAsync(`q/in/d${index % 3}`, JSON.stringify({ device: `d${index}`, value: index }), { qos: 1 });
      for (let round = 0; round < 200 && session.table("mqtt_in").length < 7; round++) await inbound.processAllAvailable();
      assert.deepEqual(session.table("mqtt_in").map((row) => row.value).sort(), [1, 2, 3, 4, 5, 6, 7]);
      assert.ok(session.table("mqtt_in").every((row) => row.topic === `q/in/d${Number(row.value) % 3}`));

      const input = new MemoryStream(session, z.object({ device: z.string(), value: z.number() }));
      const fixed = await input.toDF().where("value >= 0").writeStream.format("mqtt").option("url", broker.url).option("topic", "fixed/all").option("qos", "1").start();
      const perRow = await input.toDF().selectExpr("concat('per/', device) as target", "value").writeStream.format("mqtt").option("url", broker.url).option("topicColumn", "target").start();
      const packed = await input.toDF().writeStream.format("mqtt").option("url", broker.url).option("topic", "mpk/all").option("encoding", "msgpack").option("qos", "2").start();
      input.addData([{ device: "a", value: 1 }, { device: "b", value: -1 }, { device: "a", value: 2.5 }]);
      await fixed.processAllAvailable();
      await perRow.processAllAvailable();
      await packed.processAllAvailable();
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (received.length >= 8) {
            clearInterval(check);
            resolve();
          }
        }, 10);
      });
      const byTopic = (prefix: string) => received.filter((message) => message.topic.startsWith(prefix));
      assert.deepEqual(byTopic("fixed/"), [{ topic: "fixed/all", body: { device: "a", value: 1 } }, { topic: "fixed/all", body: { device: "a", value: 2.5 } }]);
      assert.deepEqual(byTopic("per/"), [{ topic: "per/a", body: { value: 1 } }, { topic: "per/b", body: { value: -1 } }, { topic: "per/a", body: { value: 2.5 } }]);
      assert.deepEqual(byTopic("mpk/").map((message) => message.body), [{ device: "a", value: 1 }, { device: "b", value: -1 }, { device: "a", value: 2.5 }]);
      await subscriber.endAsync();
    } finally {
      await session.stop();
    }
  });
});
