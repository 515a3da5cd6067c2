// The NATS source and sink against a real nats-server: JSON and msgpack both ways, bad payloads to the dead letter.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pack, unpack } from "msgpackr";
import { z } from "zod";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { NatsSinkProvider } from "../../src/connectors/sinks/nats.ts";
import { NatsSourceProvider } from "../../src/connectors/sources/nats.ts";
import type { SourceReader } from "../../src/connectors/sources/source.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { rowValidator, schemaFromZod } from "../../src/core/zod-schema.ts";
import { RecordingContext, drain, sinkRequest, sourceRequest } from "./helpers.ts";
import { BinaryRecord } from "../../src/core/binary-record.ts";

const reading = z.object({ device: z.string(), value: z.number(), at: z.date() });

let server: NatsServerHandle;
let transport: NatsTransport;
const readers: SourceReader[] = [];

before(async () => {
  server = await startNatsServer({ jetstream: false });
  transport = await NatsTransport.connect(server.options);
});
after(async () => {
  for (const reader of readers) await reader.close();
  await transport.close();
  await server.stop();
});

function source(options: Record<string, string>): NatsSourceProvider {
  return new NatsSourceProvider(sourceRequest("nats", options, { schema: schemaFromZod(reading), validate: rowValidator(reading), transport }));
}

async function open(provider: NatsSourceProvider): Promise<{ reader: SourceReader; context: RecordingContext }> {
  const reader = provider.createReader(0);
  readers.push(reader);
  const context = new RecordingContext();
  await reader.open(context);
  await transport.flush();
  return { reader, context };
}

describe("nats source", () => {
  it("receives JSON messages on a wildcard subject, checked and with timestamps read from text", async () => {
    const provider = source({ subject: "test.json.>" });
    assert.equal(provider.guarantee, "at-most-once");
    const { reader, context } = await open(provider);
    const encoder = new TextEncoder();
    transport.publish("test.json.a", encoder.encode(JSON.stringify({ device: "d1", value: 1.5, at: "2024-01-01T00:00:00Z" })));
    transport.publish("test.json.b.c", encoder.encode(JSON.stringify({ device: "d2", value: 2, at: 1_700_000_000_000, extra: true })));
    await transport.flush();
    await context.waitFor(() => reader.readyCount() === 2, 10_000, "two messages");
    assert.ok(context.notifications > 0);
    const { rows } = drain(reader);
    assert.deepEqual(rows, [
      { device: "d1", value: 1.5, at: Date.parse("2024-01-01T00:00:00Z") },
      { device: "d2", value: 2, at: 1_700_000_000_000 },
    ]);
  });

  it("receives msgpack messages", async () => {
    const { reader, context } = await open(source({ subject: "test.msgpack", encoding: "msgpack" }));
    transport.publish("test.msgpack", pack({ device: "d3", value: -1, at: new Date(5000) }));
    await context.waitFor(() => reader.readyCount() === 1, 10_000, "a msgpack message");
    assert.deepEqual(drain(reader).rows, [{ device: "d3", value: -1, at: 5000 }]);
  });

  it("sends a payload that does not decode or fails the schema to the dead letter with the reason", async () => {
    const { reader, context } = await open(source({ subject: "test.bad" }));
    const encoder = new TextEncoder();
    transport.publish("test.bad", encoder.encode("{not json"));
    transport.publish("test.bad", encoder.encode(JSON.stringify({ device: 7, value: 1, at: 0 })));
    transport.publish("test.bad", encoder.encode(JSON.stringify({ device: "ok", value: 1, at: 0 })));
    await context.waitFor(() => context.deadLetters.length === 2 && reader.readyCount() === 1, 10_000, "two dead letters and one row");
    assert.equal(context.deadLetters[0]?.raw, "{not json");
    assert.match(context.deadLetters[0]?.reason ?? "", /^message on 'test\.bad' is not valid json/);
    assert.match(context.deadLetters[1]?.reason ?? "", /^message on 'test\.bad' fails the schema: device: /);
    assert.deepEqual(drain(reader).rows.map((row) => row.device), ["ok"]);
  });

  it("sends a JSON payload that is not valid UTF-8 to the dead letter as base64 instead of replacing its bytes", async () => {
    const { reader, context } = await open(source({ subject: "test.utf8" }));
    const invalid = Buffer.concat([Buffer.from('{"device":"d'), Buffer.from([0xff, 0xfe]), Buffer.from('","value":1,"at":0}')]);
    transport.publish("test.utf8", invalid);
    transport.publish("test.utf8", new TextEncoder().encode(JSON.stringify({ device: "ok", value: 2, at: 0 })));
    await context.waitFor(() => context.deadLetters.length === 1 && reader.readyCount() === 1, 10_000, "one dead letter and one row");
    const raw = context.deadLetters[0]?.raw;
    assert.ok(raw instanceof BinaryRecord);
    assert.deepEqual(Buffer.from(raw.bytes), invalid);
    assert.equal(context.deadLetters[0]?.reason, "message on 'test.utf8' is invalid UTF-8");
    assert.deepEqual(drain(reader).rows.map((row) => row.device), ["ok"]);
  });

  it("past maxBufferedMessages not taken by the query, sends the next messages to the dead letters with their payload, and reads again once polled", async () => {
    const { reader, context } = await open(source({ subject: "test.behind", maxBufferedMessages: "10" }));
    const encoder = new TextEncoder();
    const message = (index: number) => encoder.encode(JSON.stringify({ device: `d${index}`, value: index, at: 0 }));
    for (let index = 0; index < 50; index++) transport.publish("test.behind", message(index));
    await transport.flush();
    await context.waitFor(() => reader.readyCount() + context.deadLetters.length === 50, 10_000, "50 messages read or dead-lettered");
    assert.equal(reader.readyCount(), 10);
    assert.equal(context.deadLetters.length, 40);
    assert.deepEqual(context.deadLetters.map((letter) => (JSON.parse(letter.raw as string) as { value: number }).value), Array.from({ length: 40 }, (_, index) => index + 10), "each later message, whole, in order");
    assert.match(context.deadLetters[0]?.reason ?? "", /^message on 'test\.behind' not read: the query is 10 messages behind the subject \(option maxBufferedMessages = 10\)/);
    assert.deepEqual(drain(reader).rows.map((row) => row.value), Array.from({ length: 10 }, (_, index) => index));
    for (let index = 50; index < 55; index++) transport.publish("test.behind", message(index));
    await transport.flush();
    await context.waitFor(() => reader.readyCount() === 5, 10_000, "5 more messages");
    assert.equal(context.deadLetters.length, 40);
    assert.throws(() => source({ subject: "a", maxBufferedMessages: "0" }), /'maxBufferedMessages'/);
  });

  it("validates subject, encoding and queue when constructed", () => {
    assert.throws(() => source({}), (error: Error) => error instanceof ConfigError && /Option 'subject' of the nats source is missing/.test(error.message));
    assert.throws(() => source({ subject: "a..b" }), /'subject'.*'a\.\.b'/);
    assert.throws(() => source({ subject: "a", encoding: "protobuf" }), /'encoding'.*'protobuf'.*'json', 'msgpack'/);
    assert.throws(() => source({ subject: "a", queue: "workers" }), /'queue'.*'workers'.*not supported/);
    assert.throws(() => source({ subjet: "a" }), /Unknown option 'subjet'.*Did you mean 'subject'\?/);
    assert.throws(() => new NatsSourceProvider(sourceRequest("nats", { subject: "a" }, { transport })), /Schema must be specified/);
  });
});

describe("nats sink", () => {
  it("publishes each row as JSON, which a subscriber receives", async () => {
    const received: unknown[] = [];
    const subscription = transport.subscribe("test.out.json", (payload) => received.push(JSON.parse(new TextDecoder().decode(payload))));
    await transport.flush();
    const writer = new NatsSinkProvider(sinkRequest("nats", { subject: "test.out.json" }, transport)).createWriter();
    await writer.open({ queryName: "test", queryId: "test", outputMode: "append", orderReproducible: true, checkpointed: false, lastCommittedEpoch: -1 });
    const rows = Array.from({ length: 1500 }, (_, index) => ({ index, name: `row ${index}` }));
    await writer.write?.(rows.slice(0, 1000));
    await writer.write?.(rows.slice(1000));
    await writer.endEpoch?.(0, []);
    await transport.flush();
    await waitUntil(() => received.length === rows.length);
    assert.deepEqual(received, rows);
    subscription.unsubscribe();
    await writer.close();
  });

  it("publishes msgpack when asked", async () => {
    const received: unknown[] = [];
    const subscription = transport.subscribe("test.out.msgpack", (payload) => received.push(unpack(payload)));
    await transport.flush();
    const writer = new NatsSinkProvider(sinkRequest("nats", { subject: "test.out.msgpack", encoding: "msgpack" }, transport)).createWriter();
    await writer.open({ queryName: "test", queryId: "test", outputMode: "update", orderReproducible: true, checkpointed: false, lastCommittedEpoch: -1 });
    await writer.write?.([{ key: "a", count: 2 }]);
    await writer.endEpoch?.(0, [{ key: "a", count: 2 }]);
    await waitUntil(() => received.length === 1);
    assert.deepEqual(received, [{ key: "a", count: 2 }]);
    subscription.unsubscribe();
    await writer.close();
  });

  it("refuses a subject with wildcards", () => {
    assert.throws(() => new NatsSinkProvider(sinkRequest("nats", { subject: "out.>" }, transport)), /'subject'.*'out\.>'.*no wildcards/);
    assert.throws(() => new NatsSinkProvider(sinkRequest("nats", {}, transport)), /Option 'subject' of the nats sink is missing/);
  });
});

/** Messages arrive on the client's own schedule; poll for them briefly rather than sleep a fixed time. */
async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
