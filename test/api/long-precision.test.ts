// Longs stay exact end to end: the activity data's nanosecond Creation_Time through NATS frames, and JSON files.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { MemoryStream, activitySchema, generateActivity, z, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();

describe("long precision", () => {
  let session: Session;
  let folder: string;
  before(async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2 });
    folder = await mkdtemp(join(tmpdir(), "rill-longs-"));
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  it("keeps the activity data's nanosecond Creation_Time exact through NATS, in arithmetic and in an aggregation", async () => {
    const rows = generateActivity({ seed: 5, count: 500 });
    const input = new MemoryStream(session, activitySchema);
    const frame = input.toDF().selectExpr("Device", "Index", "Creation_Time", "Creation_Time + 1 as next", "cast(Creation_Time as string) as text");
    const query = await frame.writeStream.queryName("exact_longs").format("memory").start();
    const maxima = await input.toDF().groupBy("Device").agg("max(Creation_Time) as latest", "sum(Creation_Time) as total")
      .writeStream.queryName("exact_maxima").format("memory").outputMode("complete").start();
    input.addData(rows);
    await query.processAllAvailable();
    await maxima.processAllAvailable();
    const byKey = new Map(session.table("exact_longs").map((row) => [`${String(row.Device)}#${String(row.Index)}`, row]));
    assert.equal(byKey.size, rows.length);
    for (const row of rows) {
      const out = byKey.get(`${row.Device}#${row.Index}`);
      assert.equal(out?.Creation_Time, row.Creation_Time);
      assert.equal(out?.next, row.Creation_Time + 1n);
      assert.equal(out?.text, row.Creation_Time.toString());
    }
    const expected = new Map<string, { latest: bigint; total: bigint }>();
    for (const row of rows) {
      const seen = expected.get(row.Device) ?? { latest: 0n, total: 0n };
      expected.set(row.Device, { latest: row.Creation_Time > seen.latest ? row.Creation_Time : seen.latest, total: BigInt.asIntN(64, seen.total + row.Creation_Time) });
    }
    for (const row of session.table("exact_maxima")) {
      assert.equal(row.latest, expected.get(row.Device as string)?.latest);
      assert.equal(BigInt(row.total as bigint), expected.get(row.Device as string)?.total);
    }
  });

  it("groups, routes and de-duplicates on a long key past 2^53 (a bigint), the same key as the number of equal value", async () => {
    const rows = generateActivity({ seed: 7, count: 300 });
    const input = new MemoryStream(session, activitySchema);
    const counts = await input.toDF().groupBy("Creation_Time").count()
      .writeStream.queryName("long_keys").format("memory").outputMode("complete").start();
    const distinct = await input.toDF().dropDuplicates(["Creation_Time"]).select("Creation_Time")
      .writeStream.queryName("long_distinct").format("memory").start();
    // The same rows twice: every key is counted twice and kept once.
    input.addData([...rows, ...rows]);
    await counts.processAllAvailable();
    await distinct.processAllAvailable();
    const expected = new Map<bigint, number>();
    for (const row of rows) expected.set(row.Creation_Time, (expected.get(row.Creation_Time) ?? 0) + 2);
    assert.ok([...expected.keys()].every((key) => key > 2n ** 53n), "the keys must be past 2^53 for the test to mean something");
    assert.deepEqual(new Map(session.table("long_keys").map((row) => [row.Creation_Time, row.count])), expected);
    assert.deepEqual(new Set(session.table("long_distinct").map((row) => row.Creation_Time)), new Set(expected.keys()));
  });

  it("reads nanosecond longs from JSON files exactly", async () => {
    const path = join(folder, "json");
    await import("node:fs/promises").then(({ mkdir }) => mkdir(path));
    await writeFile(join(path, "a.json"), '{"gt":"sit","Creation_Time":1424686733090638193}\n{"gt":"walk","Creation_Time":1424686735090000001}\n{"gt":"stand","Creation_Time":42}\n');
    const query = await session.readStream.schema(z.object({ gt: z.string(), Creation_Time: z.union([z.bigint(), z.number().int()]) })).json(path)
      .writeStream.queryName("json_longs").format("memory").start();
    await query.processAllAvailable();
    const values = new Map(session.table("json_longs").map((row) => [row.gt, row.Creation_Time]));
    assert.deepEqual(values, new Map<unknown, unknown>([["sit", 1424686733090638193n], ["walk", 1424686735090000001n], ["stand", 42]]));
  });
});
