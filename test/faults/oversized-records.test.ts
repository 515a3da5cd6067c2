// Records larger than the broker's payload limit, and files larger than a string: each oversized record goes to the
// dead-letter output with its size and position and the query goes on; a large file streams through.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { z } from "zod";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { MemoryStream, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const schema = z.object({ id: z.number().int(), user: z.string(), note: z.string() });

interface Letter {
  readonly reason: string;
  readonly raw: string;
  readonly truncated?: boolean;
}

/** Collects the dead letters of a query from its dead-letter subject. */
async function watchDeadLetters(queryName: string): Promise<{ letters: Letter[]; arrived: (count: number) => Promise<void>; close: () => Promise<void> }> {
  const client = await NatsTransport.connect(server().options);
  const letters: Letter[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  client.subscribe(`rill.${queryName}.deadletter`, (payload) => {
    assert.ok(payload.length <= client.maxPayload, "a dead letter fits the broker's payload limit");
    letters.push(JSON.parse(new TextDecoder().decode(payload)) as Letter);
    for (const waiter of waiters) if (letters.length >= waiter.count) waiter.resolve();
  });
  await client.flush();
  // A dead letter travels on its own connection: the query may have committed before the watcher has it.
  const arrived = (count: number): Promise<void> => (letters.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })));
  return { letters, arrived, close: () => client.close() };
}

function line(id: number, user: string, note = "n"): string {
  return JSON.stringify({ id, user, note });
}

describe("records larger than the broker's payload limit", () => {
  let folder: string;
  let session: Session | undefined;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-oversized-"));
  });
  afterEach(async () => {
    await session?.stop();
    session = undefined;
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  async function countUsers(input: string, checkpoint: string): Promise<{ table: () => Array<{ user: string; count: number }>; query: Awaited<ReturnType<typeof start>> }> {
    session = natsSession(server().options);
    const current = session;
    const query = await start(current, input, checkpoint);
    return { table: () => (current.table("oversized") as Array<{ user: string; count: number }>).sort((a, b) => a.user.localeCompare(b.user)), query };
  }

  function start(current: Session, input: string, checkpoint: string) {
    return current.readStream.schema(schema).json(input).groupBy("user").count()
      .writeStream.queryName("oversized").format("memory").outputMode("complete").option("checkpointLocation", checkpoint).start();
  }

  it("sends a valid 2 MB JSON line and a malformed 10 MB line to the dead letter with file, line and size; the rest arrives once, also after a restart", async () => {
    const input = join(folder, "lines");
    const checkpoint = join(folder, "lines-checkpoint");
    await mkdir(input);
    const big = line(2, "big", "x".repeat(2 * 1024 * 1024));
    const malformed = `{"id": 3, "user": "broken", "note": "${"y".repeat(10 * 1024 * 1024)}`;
    await writeFile(join(input, "a.json"), [line(1, "u1"), big, malformed, line(4, "u2"), line(5, "u1")].join("\n") + "\n");
    const watch = await watchDeadLetters("oversized");
    try {
      const first = await countUsers(input, checkpoint);
      await first.query.processAllAvailable();
      assert.deepEqual(first.table(), [{ user: "u1", count: 2 }, { user: "u2", count: 1 }]);
      assert.equal(first.query.status.numDeadLetters, 2);
      assert.equal(first.query.numRecoveries, 0, "an oversized record does not fail the epoch");
      await session?.stop();

      await writeFile(join(input, "b.json"), `${line(6, "u2")}\n`);
      const second = await countUsers(input, checkpoint);
      await second.query.processAllAvailable();
      assert.deepEqual(second.table(), [{ user: "u1", count: 2 }, { user: "u2", count: 2 }], "the restart reads only the new file");
      assert.equal(second.query.numRecoveries, 0);
      await watch.arrived(2);
      const reasons = watch.letters.map((letter) => letter.reason);
      assert.match(reasons[0] ?? "", new RegExp(`^a\\.json:2: record larger than the broker's payload limit \\(${Buffer.byteLength(big)} bytes, limit \\d+\\)`));
      assert.match(reasons[1] ?? "", new RegExp(`^a\\.json:3: record larger than the broker's payload limit \\(${Buffer.byteLength(malformed)} bytes, limit \\d+\\)`));
      assert.ok(watch.letters.every((letter) => letter.raw.length > 0 && letter.raw.length < 1024 * 1024), "each dead letter holds the start of its record");
    } finally {
      await watch.close();
    }
  });

  it("sends a row too large to travel between actors to the dead letter, counted, and goes on", async () => {
    session = natsSession(server().options);
    const watch = await watchDeadLetters("big_row");
    try {
      const input = new MemoryStream(session, schema);
      const query = await input.toDF().writeStream.queryName("big_row").format("memory").outputMode("append").start();
      input.addData([{ id: 1, user: "a", note: "small" }, { id: 2, user: "b", note: "z".repeat(2 * 1024 * 1024) }, { id: 3, user: "c", note: "small" }]);
      await query.processAllAvailable();
      assert.deepEqual((session.table("big_row") as Array<{ id: number }>).map((row) => row.id).sort(), [1, 3]);
      assert.equal(query.status.numDeadLetters, 1);
      assert.equal(query.isActive, true);
      await watch.arrived(1);
      assert.match(watch.letters[0]?.reason ?? "", /^record larger than the broker's payload limit \(\d+ bytes encoded, limit \d+\), sent by /);
    } finally {
      await watch.close();
    }
  });

  it("streams a 600 MB JSON file through instead of reading it whole", async () => {
    const input = join(folder, "large");
    await mkdir(input);
    // 300,000 lines of 2,000 bytes, written in 60 blocks of 10 MB.
    const pad = "p".repeat(2000 - line(0, "u0", "").length - 1);
    const block = Array.from({ length: 5000 }, (_, index) => line(index, `u${index % 4}`, pad)).join("\n") + "\n";
    const handle = await open(join(input, "large.json"), "w");
    try {
      for (let written = 0; written < 60; written++) await handle.write(block);
    } finally {
      await handle.close();
    }
    const { table, query } = await countUsers(input, join(folder, "large-checkpoint"));
    await query.processAllAvailable();
    assert.deepEqual(table(), ["u0", "u1", "u2", "u3"].map((user) => ({ user, count: 75_000 })));
    assert.equal(query.status.numDeadLetters, 0);
    await rm(join(input, "large.json"));
  });
});
