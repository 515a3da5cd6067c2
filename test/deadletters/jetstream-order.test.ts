// The JetStream source fetches ahead of poll(); its dead letters must still follow stream order, so that the epoch whose
// offset passes a bad message is the epoch that holds its letter (else a replay from that offset would make it again).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { JetStreamSourceProvider } from "../../src/connectors/sources/jetstream.ts";
import { rowValidator, schemaFromZod } from "../../src/core/zod-schema.ts";
import { RecordingContext, sourceRequest } from "../connectors/helpers.ts";

const reading = z.object({ device: z.string(), value: z.number() });
const encoder = new TextEncoder();
let server: NatsServerHandle;
let transport: NatsTransport;

before(async () => {
  server = await startNatsServer();
  transport = await NatsTransport.connect(server.options);
});
after(async () => {
  await transport.close();
  await server.stop();
});

describe("the JetStream source's dead letters", () => {
  it("are handed on in stream order as rows are polled, moving the offset past them, and a trailing one before the barrier", async () => {
    const access = transport.jetstream();
    await access.addStream({ name: "ORDER", subjects: ["order.>"], storage: "memory" });
    // Sequences: 1 good, 2 bad, 3 good, 4 good, 5 bad, 6 bad.
    for (const payload of ['{"device":"a","value":1}', "{bad 2", '{"device":"a","value":3}', '{"device":"a","value":4}', "{bad 5", '{"device":7,"value":6}']) {
      await access.publish("order.x", encoder.encode(payload));
    }
    const provider = new JetStreamSourceProvider(sourceRequest("jetstream", { stream: "ORDER" }, { schema: schemaFromZod(reading), validate: rowValidator(reading), transport }));
    const reader = provider.createReader(0);
    const context = new RecordingContext();
    await reader.open(context);
    try {
      await reader.prepare();
      assert.equal(reader.readyCount(), 3, "every message was fetched and decoded");
      assert.equal(context.deadLetters.length, 0, "no letter before the rows ahead of it are polled");
      assert.deepEqual(reader.poll(1)?.rows.map((row) => row.value), [1]);
      // The letter of message 2 comes right after row 1: the offset now passes it.
      assert.deepEqual(context.deadLetters.map((letter) => letter.raw), ["{bad 2"]);
      assert.equal(reader.offset?.(), 2);
      assert.deepEqual(reader.poll(5)?.rows.map((row) => row.value), [3, 4]);
      assert.deepEqual(context.deadLetters.map((letter) => letter.raw), ["{bad 2", "{bad 5", '{"device":7,"value":6}']);
      assert.equal(reader.offset?.(), 6, "the offset passes the trailing bad messages with their letters");
      assert.match(context.deadLetters[2]?.reason ?? "", /^message 6 of stream 'ORDER' \(subject 'order\.x'\) fails the schema/);
    } finally {
      await reader.close();
    }
  });

  it("hands on a letter that arrived after the last row was polled when the barrier asks, although no row follows it", async () => {
    const access = transport.jetstream();
    await access.addStream({ name: "TAIL", subjects: ["tail.>"], storage: "memory" });
    await access.publish("tail.x", encoder.encode('{"device":"a","value":1}'));
    const reader = new JetStreamSourceProvider(sourceRequest("jetstream", { stream: "TAIL" }, { schema: schemaFromZod(reading), validate: rowValidator(reading), transport })).createReader(0);
    const context = new RecordingContext();
    await reader.open(context);
    try {
      await reader.prepare();
      assert.deepEqual(reader.poll(5)?.rows.map((row) => row.value), [1]);
      await access.publish("tail.x", encoder.encode("{bad 2"));
      await reader.prepare();
      // Nothing to poll, so the source actor polls no more; the barrier's releaseDeadLetters() hands the letter on.
      assert.equal(reader.readyCount(), 0);
      assert.equal(context.deadLetters.length, 0);
      assert.equal(reader.offset?.(), 1);
      reader.releaseDeadLetters?.();
      assert.deepEqual(context.deadLetters.map((letter) => letter.raw), ["{bad 2"]);
      assert.equal(reader.offset?.(), 2, "the epoch that holds the letter has an offset past its message");
    } finally {
      await reader.close();
    }
  });
});
