// Hostile bytes on a query's internal subjects: a frame that does not decode is rejected and counted, never thrown into
// the NATS client (which would stop reading for every query of the session).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { z } from "zod";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { MemoryStream, type Session, type StreamingQuery } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const schema = z.object({ user: z.string() });

/** Fails the test instead of hanging when a promise does not settle in time. */
async function within<T>(promise: Promise<T>, milliseconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${milliseconds} ms`)), milliseconds)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function countQuery(session: Session, name: string): Promise<{ input: MemoryStream<typeof schema>; query: StreamingQuery }> {
  const input = new MemoryStream(session, schema);
  const query = await input.toDF().groupBy("user").count().writeStream.queryName(name).format("memory").outputMode("complete").start();
  return { input, query };
}

function counts(session: Session, name: string): Record<string, number> {
  return Object.fromEntries(session.table(name).map((row) => [row.user as string, row.count as number]));
}

describe("forged frames on internal subjects", () => {
  let session: Session | undefined;
  after(async () => {
    await session?.stop();
  });

  it("rejects undecodable bytes on every subject of a query, and both queries of the session go on exactly", async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2 });
    const target = await countQuery(session, "forged_target");
    const bystander = await countQuery(session, "forged_bystander");
    const attacker = await NatsTransport.connect(server().options);
    const subjects = new Set<string>();
    const base = `rill.forged_target.${target.query.runId.slice(0, 8)}`;
    const watch = attacker.subscribe(`${base}.>`, (_payload, subject) => subjects.add(subject));
    await attacker.flush();
    target.input.addData([{ user: "a" }, { user: "b" }]);
    bystander.input.addData([{ user: "a" }]);
    await within(target.query.processAllAvailable(), 30_000, "the first epoch");
    watch.unsubscribe();
    assert.ok(subjects.has(`${base}._control`) && subjects.has(`${base}._coordinator`), `internal subjects seen: ${[...subjects].join(", ")}`);
    // Every actor that receives frames has a credit subject beside its input subject (credits flow only now and then).
    for (const subject of [...subjects]) if (!subject.includes("._")) subjects.add(`${subject}.credit`);
    const garbage = [new Uint8Array([0xc1]), new TextEncoder().encode("not msgpack at all"), new Uint8Array([0x92, 0x01])];
    for (const subject of subjects) for (const bytes of garbage) attacker.publish(subject, bytes);
    await attacker.flush();
    await attacker.close();
    target.input.addData([{ user: "a" }, { user: "c" }]);
    bystander.input.addData([{ user: "b" }]);
    await within(target.query.processAllAvailable(), 30_000, "the target's next epoch");
    await within(bystander.query.processAllAvailable(), 30_000, "the bystander's next epoch");
    assert.equal(bystander.query.isActive, true);
    assert.deepEqual(counts(session, "forged_bystander"), { a: 1, b: 1 });
    // The target either went on untouched or rolled back and recovered; its answer is exact either way.
    assert.deepEqual(counts(session, "forged_target"), { a: 2, b: 1, c: 1 });
    await within(session.stop(), 30_000, "session.stop()");
    session = undefined;
  });

  it("sends a bad record whose dead letter would exceed the payload limit to the dead letter, cut and marked, and goes on", async () => {
    session = natsSession(server().options);
    const client = await NatsTransport.connect(server().options);
    const letters: Array<Record<string, unknown>> = [];
    const rows: Array<Record<string, unknown>> = [];
    let arrived = (): void => undefined;
    const allArrived = new Promise<void>((resolve) => (arrived = resolve));
    const check = (): void => {
      if (letters.length === 1 && rows.length === 1) arrived();
    };
    client.subscribe("rill.big_letter.deadletter", (payload) => {
      letters.push(JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>);
      check();
    });
    client.subscribe("out.big_letter", (payload) => {
      rows.push(JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>);
      check();
    });
    await client.flush();
    const query = await session.readStream.format("nats").option("subject", "in.big_letter").schema(schema).load()
      .writeStream.queryName("big_letter").format("nats").option("subject", "out.big_letter").start();
    // 700 KB of quotes: under the 1 MB limit as a message, twice that once escaped into a JSON dead letter.
    const quotes = '"'.repeat(700_000);
    client.publish("in.big_letter", new TextEncoder().encode(quotes));
    client.publish("in.big_letter", new TextEncoder().encode(JSON.stringify({ user: "after" })));
    await client.flush();
    await within(allArrived, 30_000, "the dead letter and the next row");
    const letter = letters[0] as Record<string, unknown>;
    assert.equal(letter.truncated, true);
    assert.equal(letter.rawLength, 700_000);
    assert.ok(typeof letter.raw === "string" && letter.raw.length > 0 && letter.raw.length < 700_000);
    assert.deepEqual(rows, [{ user: "after" }]);
    await within(query.processAllAvailable(), 30_000, "an epoch after the big record");
    assert.equal(query.status.numDeadLetters, 1);
    assert.equal(query.isActive, true);
    await client.close();
    await within(session.stop(), 30_000, "session.stop()");
    session = undefined;
  });
});
