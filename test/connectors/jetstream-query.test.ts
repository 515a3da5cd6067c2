// JetStream in and out of a running query: processAllAvailable() sees every published message, and the sink stores each result once.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ConfigError, functions, z, type Session } from "../../src/index.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import type { JetStreamAccess, JetStreamMessage } from "../../src/actors/jetstream.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { inProcessSession, natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// First, before the NATS session exists: getOrCreate() would return that one.
describe("jetstream without NATS", () => {
  it("refuses format('jetstream') on the in-process transport when the query starts", async () => {
    const local = inProcessSession();
    try {
      const start = local.readStream.format("jetstream").option("stream", "READINGS").schema(z.object({ value: z.number() })).load()
        .writeStream.format("console").start();
      await assert.rejects(start, /JetStream needs a NATS transport, but the session runs on the inprocess transport/);
    } finally {
      await local.stop();
    }
  });
});

describe("jetstream in running queries", () => {
  let session: Session;
  let transport: NatsTransport;
  let access: JetStreamAccess;
  before(async () => {
    session = natsSession(server().options);
    transport = await NatsTransport.connect(server().options);
    access = transport.jetstream();
  });
  after(async () => {
    await session.stop();
    await transport.close();
  });

  it("filters a stream into another stream, every message published before processAllAvailable() included", async () => {
    await access.addStream({ name: "READINGS", subjects: ["readings.>"], storage: "memory" });
    await access.addStream({ name: "ALERTS", subjects: ["alerts"], storage: "memory" });
    const publish = (from: number, count: number) =>
      Promise.all(Array.from({ length: count }, (_, index) => access.publish(`readings.s${(from + index) % 3}`, encoder.encode(JSON.stringify({ sensor: `s${(from + index) % 3}`, value: from + index })))));
    await publish(0, 300);
    const readings = z.object({ sensor: z.string(), value: z.number() });
    const query = await session.readStream.format("jetstream").option("stream", "READINGS").schema(readings).load()
      .where("value % 10 = 0")
      .writeStream.queryName("alerts").format("jetstream").option("subject", "alerts").start();
    await query.processAllAvailable();
    assert.equal((await access.streamInfo("ALERTS"))?.messages, 30);
    await publish(300, 200);
    await query.processAllAvailable();
    const values = (await readAll(access, "ALERTS")).map((message) => JSON.parse(decoder.decode(message.payload)).value);
    assert.deepEqual(values, Array.from({ length: 50 }, (_, index) => index * 10));
    assert.match(query.explain(), /JetStream\[READINGS/);
    await query.stop();
  });

  it("refuses the idempotent mode (the default) for update and complete output when the query starts, naming option 'mode'", async () => {
    await access.addStream({ name: "READINGS", subjects: ["readings.>"], storage: "memory" });
    await access.addStream({ name: "COUNTS", subjects: ["counts"], storage: "memory" });
    const readings = z.object({ sensor: z.string(), value: z.number() });
    for (const outputMode of ["update", "complete"] as const) {
      for (const options of [{}, { mode: "idempotent" }] as Record<string, string>[]) {
        const start = session.readStream.format("jetstream").option("stream", "READINGS").schema(readings).load()
          .groupBy("sensor").count()
          .writeStream.outputMode(outputMode).format("jetstream").option("subject", "counts").options(options).start();
        await assert.rejects(start, (error: Error) => error.cause instanceof ConfigError
          && error.cause.message.startsWith(`Option 'mode' of the jetstream sink is 'idempotent' (the default), which is exactly-once only in append output mode; the query uses ${outputMode} mode`)
          && error.cause.message.includes(`.option("mode", "transactional")`));
      }
    }
    assert.equal((await access.streamInfo("COUNTS"))?.messages, 0, "nothing was published");
  });

  it("refuses the idempotent mode in append output after a shuffle (dropDuplicates, a windowed count), whose row order a replay does not reproduce", async () => {
    await access.addStream({ name: "EVENTS", subjects: ["events.>"], storage: "memory" });
    await access.addStream({ name: "DEDUPED", subjects: ["deduped"], storage: "memory" });
    const events = z.object({ id: z.string(), at: z.date() });
    const input = () => session.readStream.format("jetstream").option("stream", "EVENTS").schema(events).load().withWatermark("at", "10 seconds");
    for (const frame of [input().dropDuplicates(["id"]), input().groupBy(functions.window(functions.col("at"), "1 minute")).count()]) {
      const start = frame.writeStream.outputMode("append").format("jetstream").option("subject", "deduped").start();
      await assert.rejects(start, (error: Error) => error.cause instanceof ConfigError
        && /exactly-once only when rows reach the sink in an order a replay reproduces/.test(error.cause.message)
        && error.cause.message.includes(`.option("mode", "transactional")`));
    }
    const transactional = await input().dropDuplicates(["id"]).writeStream.outputMode("append").format("jetstream").option("subject", "deduped").option("mode", "transactional").start();
    await transactional.stop();
  });
});

async function readAll(access: JetStreamAccess, stream: string): Promise<JetStreamMessage[]> {
  const cursor = await access.openCursor(stream, { startSequence: 1 });
  const messages: JetStreamMessage[] = [];
  try {
    for (let end = await cursor.end(); cursor.handedOut() < end; end = await cursor.end()) await cursor.fetch(end - cursor.handedOut(), 1000, (message) => messages.push(message));
  } finally {
    await cursor.close();
  }
  return messages;
}
