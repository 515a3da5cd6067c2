// The JetStream source against a real nats-server with JetStream: start positions, exact resume, dead letters, backpressure.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { pack } from "msgpackr";
import { z } from "zod";
import type { JetStreamAccess } from "../../src/actors/jetstream.ts";
import { InProcessTransport } from "../../src/actors/inprocess-transport.ts";
import { LazyTransport } from "../../src/actors/lazy-transport.ts";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { JetStreamSourceProvider, type JetStreamSourceTuning } from "../../src/connectors/sources/jetstream.ts";
import { createSourceProvider } from "../../src/connectors/sources/registry.ts";
import type { SourceReader } from "../../src/connectors/sources/source.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { rowValidator, schemaFromZod } from "../../src/core/zod-schema.ts";
import { RecordingContext, drain, sleep, sourceRequest } from "./helpers.ts";
import { BinaryRecord } from "../../src/core/binary-record.ts";

const reading = z.object({ device: z.string(), value: z.number() });
const encoder = new TextEncoder();

let server: NatsServerHandle;
let transport: NatsTransport;
let access: JetStreamAccess;
const readers: SourceReader[] = [];

before(async () => {
  server = await startNatsServer();
  transport = await NatsTransport.connect(server.options);
  access = transport.jetstream();
});
after(async () => {
  for (const reader of readers) await reader.close();
  await transport.close();
  await server.stop();
});

function source(options: Record<string, string>, tuning?: JetStreamSourceTuning): JetStreamSourceProvider {
  return new JetStreamSourceProvider(sourceRequest("jetstream", options, { schema: schemaFromZod(reading), validate: rowValidator(reading), transport }), tuning);
}

async function open(provider: JetStreamSourceProvider, seekTo?: number): Promise<{ reader: SourceReader; context: RecordingContext }> {
  const reader = provider.createReader(0);
  readers.push(reader);
  if (seekTo !== undefined) reader.seek?.(seekTo);
  const context = new RecordingContext();
  await reader.open(context);
  return { reader, context };
}

/** A fresh stream `name` on `<name>.>` (lower case), holding `count` readings published to `<name>.<device>`. */
async function streamWith(name: string, count: number, first = 1): Promise<string> {
  const prefix = name.toLowerCase();
  await access.addStream({ name, subjects: [`${prefix}.>`], storage: "memory" });
  await publishReadings(prefix, first, count);
  return prefix;
}

async function publishReadings(prefix: string, first: number, count: number, device = "d"): Promise<void> {
  for (let start = 0; start < count; start += 500) {
    const batch = Array.from({ length: Math.min(500, count - start) }, (_, index) => first + start + index);
    await Promise.all(batch.map((value) => access.publish(`${prefix}.${device}`, encoder.encode(JSON.stringify({ device, value })))));
  }
}

/** Requests fail until the client has reconnected and the server has recovered its streams. */
async function publishWhenBack(publish: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await publish();
      return;
    } catch (error) {
      if (attempt >= 100) throw error;
      await sleep(100);
    }
  }
}

function values(rows: readonly Record<string, unknown>[]): unknown[] {
  return rows.map((row) => row.value);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

describe("jetstream source", () => {
  it("reads a stream from the earliest message by default, and prepare() makes all of it ready", async () => {
    await streamWith("EARLY", 5);
    const provider = source({ stream: "EARLY" });
    assert.equal(provider.guarantee, "exactly-once");
    const { reader } = await open(provider);
    await reader.prepare();
    assert.equal(reader.readyCount(), 5);
    assert.deepEqual(drain(reader).rows, range(1, 5).map((value) => ({ device: "d", value })));
    assert.equal(reader.offset?.(), 5);
  });

  it("starts after the last message with 'latest', at a sequence, or at a time", async () => {
    const prefix = await streamWith("STARTS", 3);
    const latest = await open(source({ stream: "STARTS", startingOffsets: "latest" }));
    await sleep(5);
    const time = new Date();
    await sleep(5);
    await publishReadings(prefix, 4, 2);
    await latest.reader.prepare();
    assert.deepEqual(values(drain(latest.reader).rows), [4, 5]);

    const sequence = await open(source({ stream: "STARTS", startingOffsets: "2" }));
    await sequence.reader.prepare();
    assert.deepEqual(values(drain(sequence.reader).rows), [2, 3, 4, 5]);

    const timed = await open(source({ stream: "STARTS", startingOffsets: time.toISOString() }));
    await timed.reader.prepare();
    assert.deepEqual(values(drain(timed.reader).rows), [4, 5]);
  });

  it("reads only the subjects the filter matches, and prepare() ends when the stream's last message is another subject's", async () => {
    await access.addStream({ name: "FILTERED", subjects: ["filtered.>"], storage: "memory" });
    await publishReadings("filtered", 1, 3, "a");
    await publishReadings("filtered", 4, 3, "b");
    const { reader } = await open(source({ stream: "FILTERED", subject: "filtered.a" }));
    await reader.prepare();
    assert.deepEqual(drain(reader).rows, [1, 2, 3].map((value) => ({ device: "a", value })));
    await publishReadings("filtered", 7, 1, "b");
    await publishReadings("filtered", 8, 1, "a");
    await reader.prepare();
    assert.deepEqual(values(drain(reader).rows), [8]);
    assert.equal(reader.offset?.(), 8);
  });

  it("resumes exactly after the last polled message when a new reader seeks to the offset", async () => {
    const prefix = await streamWith("RESUME", 10);
    const first = await open(source({ stream: "RESUME" }));
    await first.reader.prepare();
    assert.deepEqual(values(first.reader.poll(4)?.rows ?? []), [1, 2, 3, 4]);
    const offset = first.reader.offset?.();
    assert.equal(offset, 4);
    await first.reader.close();

    // seek() overrides startingOffsets.
    const second = await open(source({ stream: "RESUME", startingOffsets: "latest" }), offset as number);
    await publishReadings(prefix, 11, 2);
    await second.reader.prepare();
    assert.deepEqual(values(drain(second.reader).rows), range(5, 12));
    assert.equal(second.reader.offset?.(), 12);
  });

  it("sends a payload that does not decode or fails the schema to the dead letter with its stream sequence", async () => {
    await access.addStream({ name: "BAD", subjects: ["bad.>"], storage: "memory" });
    await access.publish("bad.x", encoder.encode(JSON.stringify({ device: "ok", value: 1 })));
    await access.publish("bad.x", encoder.encode("{not json"));
    await access.publish("bad.y", encoder.encode(JSON.stringify({ device: 7, value: 2 })));
    await access.publish("bad.x", encoder.encode(JSON.stringify({ device: "ok", value: 4 })));
    const { reader, context } = await open(source({ stream: "BAD" }));
    await reader.prepare();
    assert.deepEqual(values(drain(reader).rows), [1, 4]);
    assert.equal(reader.offset?.(), 4);
    assert.equal(context.deadLetters.length, 2);
    assert.equal(context.deadLetters[0]?.raw, "{not json");
    assert.match(context.deadLetters[0]?.reason ?? "", /^message 2 of stream 'BAD' \(subject 'bad\.x'\) is not valid json/);
    assert.match(context.deadLetters[1]?.reason ?? "", /^message 3 of stream 'BAD' \(subject 'bad\.y'\) fails the schema: device: /);
  });

  it("sends a JSON payload that is not valid UTF-8 to the dead letter as base64", async () => {
    await access.addStream({ name: "UTF", subjects: ["utf.>"], storage: "memory" });
    const invalid = Buffer.concat([Buffer.from('{"device":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","value":1}')]);
    await access.publish("utf.x", invalid);
    await access.publish("utf.x", encoder.encode(JSON.stringify({ device: "ok", value: 2 })));
    const { reader, context } = await open(source({ stream: "UTF" }));
    await reader.prepare();
    assert.deepEqual(values(drain(reader).rows), [2]);
    assert.equal(context.deadLetters.length, 1);
    const raw = context.deadLetters[0]?.raw;
    assert.ok(raw instanceof BinaryRecord);
    assert.deepEqual(Buffer.from(raw.bytes), invalid);
    assert.equal(context.deadLetters[0]?.reason, "message 1 of stream 'UTF' (subject 'utf.x') is invalid UTF-8");
  });

  it("carries on without a gap or a repeat when the server loses its consumer", async () => {
    const prefix = await streamWith("LOST", 5);
    const { reader } = await open(source({ stream: "LOST" }));
    await reader.prepare();
    assert.deepEqual(values(reader.poll(3)?.rows ?? []), [1, 2, 3]);
    // What an inactive reader or a restarted server leaves: the consumer is gone.
    const client = await connect(server.options);
    try {
      const manager = await jetstreamManager(client);
      for (const consumer of await manager.consumers.list("LOST").next()) await manager.consumers.delete("LOST", consumer.name);
    } finally {
      await client.close();
    }
    await publishReadings(prefix, 6, 4);
    await reader.prepare();
    assert.deepEqual(values(drain(reader).rows), range(4, 9));
    assert.equal(reader.offset?.(), 9);
  });

  it("carries on without a gap or a repeat across a restart of nats-server", async () => {
    const own = await startNatsServer();
    const ownTransport = await NatsTransport.connect(own.options);
    try {
      const ownAccess = ownTransport.jetstream();
      await ownAccess.addStream({ name: "DURABLE", subjects: ["durable"] });
      const publish = (from: number, count: number) => Promise.all(range(from, from + count - 1).map((value) => ownAccess.publish("durable", encoder.encode(JSON.stringify({ device: "d", value })))));
      await publish(1, 5);
      const provider = new JetStreamSourceProvider(sourceRequest("jetstream", { stream: "DURABLE" }, { schema: schemaFromZod(reading), transport: ownTransport }));
      const reader = provider.createReader(0);
      readers.push(reader);
      await reader.open(new RecordingContext());
      await reader.prepare();
      const polled = values(reader.poll(3)?.rows ?? []);
      await own.stop({ keepStore: true });
      await own.restart();
      await publishWhenBack(() => ownTransport.flush());
      await publishWhenBack(() => publish(6, 5));
      await reader.prepare();
      polled.push(...values(drain(reader).rows));
      assert.deepEqual(polled, range(1, 10));
      await reader.close();
    } finally {
      await ownTransport.close();
      await own.stop();
    }
  });

  it("decodes msgpack payloads", async () => {
    await access.addStream({ name: "PACKED", subjects: ["packed"], storage: "memory" });
    await access.publish("packed", pack({ device: "m", value: 2.5 }));
    const { reader } = await open(source({ stream: "PACKED", encoding: "msgpack" }));
    await reader.prepare();
    assert.deepEqual(drain(reader).rows, [{ device: "m", value: 2.5 }]);
  });

  it("buffers no more than its bound in the background, resumes when polled, and prepare() still reads the whole backlog", async () => {
    await streamWith("BOUNDED", 1000);
    const { reader, context } = await open(source({ stream: "BOUNDED" }, { maxBufferedRows: 100 }));
    await context.waitFor(() => reader.readyCount() === 100, 10_000, "a full buffer");
    await sleep(300);
    assert.equal(reader.readyCount(), 100, "fetching stops at the bound");
    const polled = values(reader.poll(60)?.rows ?? []);
    await context.waitFor(() => reader.readyCount() === 100, 10_000, "the buffer filled again");
    await sleep(100);
    assert.equal(reader.readyCount(), 100);
    await reader.prepare();
    assert.equal(reader.readyCount(), 940, "prepare() makes the stream's whole backlog ready");
    polled.push(...values(drain(reader).rows));
    assert.deepEqual(polled, range(1, 1000));
  });

  it("prepare() makes the whole backlog ready although a running fetch hands out messages while it asks for the backlog", async () => {
    await access.addStream({ name: "RACING", subjects: ["racing"], storage: "memory" });
    // Large messages: one fetch takes many socket reads to arrive, so prepare() lands in the middle of one.
    const device = "d".repeat(4000);
    for (let first = 1; first <= 3000; first += 500) {
      await Promise.all(range(first, first + 499).map((value) => access.publish("racing", encoder.encode(JSON.stringify({ device, value })))));
    }
    const short: string[] = [];
    for (let run = 0; run < 10; run++) {
      const { reader, context } = await open(source({ stream: "RACING" }, { fetchWaitMs: 1000 }));
      await context.waitFor(() => reader.readyCount() > 0, 10_000, "the first fetched messages");
      await reader.prepare();
      if (reader.readyCount() !== 3000) short.push(`run ${run}: ${reader.readyCount()}`);
      await reader.close();
    }
    assert.deepEqual(short, [], "every prepare() made all 3,000 messages ready");
  });

  it("reads as fast with a wildcard subject filter as without, over many triggers", async () => {
    // File storage, as streams usually are: the slow fetches come from its filtered pending counts.
    await access.addStream({ name: "WILD", subjects: ["wild.>"] });
    for (let first = 0; first < 30_000; first += 1000) {
      await Promise.all(range(first, first + 999).map((value) => access.publish(`wild.d${value % 10}.x`, encoder.encode(JSON.stringify({ device: `d${value % 10}`, value })))));
    }
    const readAll = async (options: Record<string, string>): Promise<number> => {
      const started = performance.now();
      const { reader } = await open(source({ stream: "WILD", maxOffsetsPerTrigger: "1000", ...options }));
      let rows = 0;
      for (let trigger = 0; trigger < 30; trigger++) {
        await reader.prepare();
        rows += drain(reader).rows.length;
      }
      await reader.close();
      assert.equal(rows, 30_000);
      return performance.now() - started;
    };
    const unfiltered = await readAll({});
    const filtered = await readAll({ subject: "wild.*.x" });
    // On nats-server 2.9 a filtered consumer asked for its info fetches slower each time (12.6 s against 2.7 s for 20 triggers).
    assert.ok(filtered < 3 * unfiltered + 2000, `30,000 messages took ${Math.round(filtered)} ms with the filter, ${Math.round(unfiltered)} ms without`);
  });

  it("makes at most maxOffsetsPerTrigger messages ready per trigger", async () => {
    await streamWith("LIMITED", 25);
    const { reader } = await open(source({ stream: "LIMITED", maxOffsetsPerTrigger: "10" }));
    const triggers: unknown[][] = [];
    for (let trigger = 0; trigger < 4; trigger++) {
      await reader.prepare();
      triggers.push(values(drain(reader).rows));
    }
    assert.deepEqual(triggers, [range(1, 10), range(11, 20), range(21, 25), []]);
  });

  it("fails with errors that name the stream, subject or option at fault", async () => {
    const rejects = (options: Record<string, string>, pattern: RegExp) => assert.throws(() => source(options), (error: Error) => error instanceof ConfigError && pattern.test(error.message));
    rejects({}, /Option 'stream' of the jetstream source is missing/);
    rejects({ stream: "a.b" }, /Option 'stream' .* is 'a\.b'; it must be a JetStream stream name/);
    rejects({ stream: "S", subject: "a..b" }, /Option 'subject' .* is 'a\.\.b'/);
    rejects({ stream: "S", startingOffsets: "yesterday" }, /Option 'startingOffsets' .* is 'yesterday'; it must be 'earliest', 'latest', a stream sequence/);
    rejects({ stream: "S", startingOffsets: "0" }, /'startingOffsets' .* is '0'/);
    rejects({ stream: "S", maxOffsetsPerTrigger: "0" }, /Option 'maxOffsetsPerTrigger' .* is '0'; it must be a whole number at least 1/);
    rejects({ stream: "S", encoding: "avro" }, /'encoding' .* 'avro'/);
    rejects({ stream: "S", startingOffset: "latest" }, /Unknown option 'startingOffset' .* Did you mean 'startingOffsets'\?/);
    assert.throws(() => new JetStreamSourceProvider(sourceRequest("jetstream", { stream: "S" }, { transport })), /Schema must be specified/);

    await assert.rejects(open(source({ stream: "MISSING" })), (error: Error) => error instanceof ConfigError && /'stream' .* names 'MISSING', but no such stream exists/.test(error.message));
    await access.addStream({ name: "OTHER", subjects: ["other.>"], storage: "memory" });
    await assert.rejects(open(source({ stream: "OTHER", subject: "elsewhere.>" })), /'subject' .* is 'elsewhere\.>', which matches none of the subjects of stream 'OTHER' \(other\.>\)/);
  });

  it("needs a NATS transport: refused on the in-process one, forwarded by the session's lazy transport", async () => {
    const inProcess = sourceRequest("jetstream", { stream: "S" }, { schema: schemaFromZod(reading), transport: new InProcessTransport() });
    assert.throws(() => createSourceProvider(inProcess), (error: Error) => error instanceof ConfigError && /format\('jetstream'\) needs a NATS transport/.test(error.message));

    await streamWith("LAZY", 2);
    const lazy = new LazyTransport();
    const provider = createSourceProvider(sourceRequest("JetStream", { stream: "LAZY" }, { schema: schemaFromZod(reading), transport: lazy }));
    lazy.connect(transport);
    const reader = provider.createReader(0);
    readers.push(reader);
    await reader.open(new RecordingContext());
    await reader.prepare();
    assert.deepEqual(values(drain(reader).rows), [1, 2]);

    const lazyInProcess = new LazyTransport();
    lazyInProcess.connect(new InProcessTransport());
    assert.throws(() => lazyInProcess.jetstream(), (error: Error) => error instanceof ConfigError && /JetStream needs a NATS transport/.test(error.message));
  });
});
