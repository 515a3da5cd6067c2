// Group keys of several string columns whose values hold U+0000 (the character the key's parts are joined on): rows
// with different values stay in different groups, through a real query over NATS with two aggregate partitions.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { MemoryStream, z, type Row, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const schema = z.object({ a: z.string(), b: z.string() });
// Joined on U+0000 without escaping, the first two rows made one key ("sx\u0000sy\u0000sz"), and so did the next two.
const ROWS = [
  { a: "x\u0000sy", b: "z" }, { a: "x", b: "y\u0000sz" },
  { a: "\u0002", b: "\u0000" }, { a: "\u0002", b: "\u0000" },
  { a: "p", b: "" }, { a: "p", b: "" }, { a: "", b: "p" },
];

const byAB = (left: Row, right: Row): number => JSON.stringify([left.a, left.b]).localeCompare(JSON.stringify([right.a, right.b]));

describe("group keys of two string columns holding U+0000", () => {
  let session: Session | undefined;
  afterEach(async () => {
    await session?.stop();
    session = undefined;
  });

  it("groupBy keeps apart groups whose values, joined on U+0000, read the same", async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2 });
    const input = new MemoryStream(session, schema);
    const query = await input.toDF().groupBy("a", "b").count().writeStream.queryName("nul_groups").format("memory").outputMode("complete").start();
    input.addData(ROWS);
    await query.processAllAvailable();
    const rows = session.table("nul_groups").map((row) => ({ ...row })).sort(byAB);
    assert.deepStrictEqual(rows, [
      { a: "", b: "p", count: 1 }, { a: "p", b: "", count: 2 }, { a: "x", b: "y\u0000sz", count: 1 }, { a: "x\u0000sy", b: "z", count: 1 }, { a: "\u0002", b: "\u0000", count: 2 },
    ].sort(byAB));
  });

  it("dropDuplicates keeps the first row of each pair of values, not of each joined text", async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2 });
    const input = new MemoryStream(session, schema);
    const query = await input.toDF().dropDuplicates(["a", "b"]).writeStream.queryName("nul_distinct").format("memory").outputMode("append").start();
    input.addData(ROWS);
    await query.processAllAvailable();
    const rows = session.table("nul_distinct").map((row) => ({ ...row })).sort(byAB);
    assert.deepStrictEqual(rows, [{ a: "", b: "p" }, { a: "p", b: "" }, { a: "x", b: "y\u0000sz" }, { a: "x\u0000sy", b: "z" }, { a: "\u0002", b: "\u0000" }].sort(byAB));
  });
});
