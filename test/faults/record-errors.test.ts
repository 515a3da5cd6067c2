// A record that an operator cannot process (an invalid regular expression taken from the record) goes to the dead
// letter with the operator and the reason, is counted once per committed epoch, and the query goes on exactly.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { z } from "zod";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { MemoryStream, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const schema = z.object({ id: z.number().int(), user: z.string(), s: z.string(), p: z.string() });
type Input = z.infer<typeof schema>;

/** Patterns valid in RE2 and in JavaScript alike, and patterns neither compiles, so a JavaScript RegExp is the oracle. */
const VALID = ["a+", "^b", "c$", "x|y", "[0-9]{2}"];
const INVALID = ["(", "[a", "a{2,1}", "*a"];

function rowsOf(count: number, seed: number): Input[] {
  let state = seed;
  const next = (bound: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 16) % bound;
  };
  const texts = ["aaa", "bcd", "abc", "xy", "z12", "ccc", "b"];
  return Array.from({ length: count }, (_, index) => {
    const bad = next(10) === 0;
    const patterns = bad ? INVALID : VALID;
    return { id: index, user: `u${next(4)}`, s: texts[next(texts.length)] as string, p: patterns[next(patterns.length)] as string };
  });
}

function isInvalid(row: Input): boolean {
  return INVALID.includes(row.p);
}

/** Plain code: per user, the rows whose text matches their (valid) pattern. */
function expectedCounts(rows: readonly Input[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) if (!isInvalid(row) && new RegExp(row.p).test(row.s)) counts[row.user] = (counts[row.user] ?? 0) + 1;
  return counts;
}

interface Letter {
  readonly query: string;
  readonly source: string;
  readonly operator: string;
  readonly epoch: string;
  readonly reason: string;
  readonly raw: string;
}

async function watchDeadLetters(queryName: string): Promise<{ letters: Letter[]; arrived: (done: (letters: Letter[]) => boolean) => Promise<void>; close: () => Promise<void> }> {
  const client = await NatsTransport.connect(server().options);
  const letters: Letter[] = [];
  const waiters: Array<{ done: (letters: Letter[]) => boolean; resolve: () => void }> = [];
  client.subscribe(`rill.${queryName}.deadletter`, (payload) => {
    letters.push(JSON.parse(new TextDecoder().decode(payload)) as Letter);
    for (const waiter of waiters) if (waiter.done(letters)) waiter.resolve();
  });
  await client.flush();
  // A dead letter travels on the session's connection: the query may have committed before the watcher has it.
  const arrived = (done: (letters: Letter[]) => boolean): Promise<void> => (done(letters) ? Promise.resolve() : new Promise((resolve) => waiters.push({ done, resolve })));
  return { letters, arrived, close: () => client.close() };
}

function idsOf(letters: readonly Letter[]): number[] {
  return letters.map((letter) => (JSON.parse(letter.raw) as Input).id).sort((a, b) => a - b);
}

describe("records an operator refuses", () => {
  let session: Session | undefined;
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-record-errors-"));
  });
  afterEach(async () => {
    await session?.stop();
    session = undefined;
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  for (const chaining of [true, false]) {
    it(`sends each row whose pattern is invalid to the dead letter with the operator and the reason, counted, and the rest arrives exactly (chaining ${chaining ? "on" : "off"})`, async () => {
      session = natsSession(server().options, { "rill.chaining": String(chaining), "rill.shuffle.partitions": 2 });
      const name = `bad_patterns_${chaining ? "chained" : "unchained"}`;
      const watch = await watchDeadLetters(name);
      try {
        const rows = rowsOf(600, chaining ? 7 : 8);
        const bad = rows.filter(isInvalid);
        assert.ok(bad.length > 20, `the input holds bad rows (${bad.length})`);
        const input = new MemoryStream(session, schema);
        const query = await input.toDF().selectExpr("id", "user", "s rlike p as matched", "split(s, p) as parts").where("matched")
          .writeStream.queryName(name).format("memory").outputMode("append").start();
        input.addData(rows.slice(0, 300));
        await query.processAllAvailable();
        input.addData(rows.slice(300));
        await query.processAllAvailable();
        const out = (session.table(name) as Array<{ id: number }>).map((row) => row.id).sort((a, b) => a - b);
        assert.deepEqual(out, rows.filter((row) => !isInvalid(row) && new RegExp(row.p).test(row.s)).map((row) => row.id));
        assert.equal(query.status.numDeadLetters, bad.length);
        assert.equal(query.recentProgress.reduce((total, progress) => total + progress.numDeadLetters, 0), bad.length);
        assert.equal(query.isActive, true);
        assert.equal(query.numRecoveries, 0, "a bad record does not fail the epoch");
        await watch.arrived((letters) => letters.length >= bad.length);
        assert.deepEqual(idsOf(watch.letters), bad.map((row) => row.id));
        for (const letter of watch.letters) {
          const row = JSON.parse(letter.raw) as Input;
          assert.equal(letter.query, name);
          // Chained, the filter (pushed below the projection) runs in the source actor; unchained, in an actor of its own.
          assert.match(letter.operator, chaining ? /^s0-source-memory\.\d+-filter\.p0$/ : /^s\d+-filter\.\d+-filter\.p0$/, letter.operator);
          assert.ok(letter.operator.startsWith(letter.source.replace(/\.p\d+$/, "")), `${letter.operator} runs in ${letter.source}`);
          assert.match(letter.epoch, /^\d+$/);
          assert.ok(letter.reason.includes(`Invalid regular expression '${row.p}' from the record in '`), letter.reason);
        }
      } finally {
        await watch.close();
      }
    });
  }

  it("counts a dead-lettered row once per committed epoch across a rollback and a restart, and the counts stay exact", async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2 });
    const current = session;
    const name = "bad_patterns_replayed";
    const checkpoint = join(folder, "replayed");
    const rows = rowsOf(900, 11);
    const firstPart = rows.slice(0, 600);
    // The last row of the first part fails once, after the bad rows before it were dead-lettered: the epoch rolls back.
    const poison = (firstPart[firstPart.length - 1] as Input).id;
    let failuresLeft = 1;
    const input = new MemoryStream(current, schema);
    const start = () => input.toDF()
      .map((row) => {
        if (row.id === poison && failuresLeft-- > 0) throw new Error("transient failure");
        return row;
      }, schema)
      .where("s rlike p").groupBy("user").count()
      .writeStream.queryName(name).format("memory").outputMode("complete").option("checkpointLocation", checkpoint).start();
    const counts = (): Record<string, number> => Object.fromEntries(current.table(name).map((row) => [row.user as string, row.count as number]));
    const watch = await watchDeadLetters(name);
    try {
      const first = await start();
      input.addData(firstPart);
      await first.processAllAvailable();
      assert.equal(first.numRecoveries, 1, "the poison row rolled the epoch back once");
      assert.deepEqual(counts(), expectedCounts(firstPart));
      const badFirst = firstPart.filter(isInvalid);
      assert.equal(first.status.numDeadLetters, badFirst.length, "the rolled-back epoch's dead letters are not counted");
      await watch.arrived((letters) => new Set(idsOf(letters)).size >= badFirst.length);
      // Sent when processed, as a source's dead letters are: the replay of the epoch that did not commit sends them again,
      // with the same operator and epoch.
      const byId = new Map<number, Letter[]>();
      for (const letter of watch.letters) byId.set((JSON.parse(letter.raw) as Input).id, [...(byId.get((JSON.parse(letter.raw) as Input).id) ?? []), letter]);
      assert.deepEqual([...byId.keys()].sort((a, b) => a - b), badFirst.map((row) => row.id));
      for (const [id, copies] of byId) {
        assert.ok(copies.length <= 2, `row ${id} was dead-lettered ${copies.length} times`);
        assert.equal(new Set(copies.map((letter) => `${letter.operator}@${letter.epoch}`)).size, 1, `row ${id}: every copy names the same operator and epoch`);
      }
      await first.stop();

      const lettersBefore = watch.letters.length;
      const second = await start();
      const secondPart = rows.slice(600);
      input.addData(secondPart);
      await second.processAllAvailable();
      assert.deepEqual(counts(), expectedCounts(rows));
      const badSecond = secondPart.filter(isInvalid);
      assert.equal(second.status.numDeadLetters, badSecond.length);
      const lastBad = (badSecond[badSecond.length - 1] as Input).id;
      // A dead letter of a committed epoch sent again would arrive before the new ones (one connection keeps order).
      await watch.arrived((letters) => idsOf(letters).includes(lastBad));
      assert.deepEqual(idsOf(watch.letters.slice(lettersBefore)), badSecond.map((row) => row.id), "the restart sends no dead letter of a committed epoch again");
    } finally {
      await watch.close();
    }
  });
});
