// Group keys of a struct column whose struct has fields `start` and `end` (as a session's or a booking's): the key
// function took any object with those two fields for a window and kept only them, so structs differing in another
// field made one group, and structs whose start/end texts joined on ':' read the same ("a:b","c" and "a","b:c").
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStream, z, type Row, type Session } from "../../src/index.ts";
import { keyOf, keyGroupOf, partitionerOf, partitionOfKeyGroup } from "../../src/core/keys.ts";
import { inProcessSession } from "../helpers/session.ts";

describe("struct keys with start and end fields", () => {
  it("keyOf keeps structs that differ in another field apart, and agrees with partitionerOf", () => {
    const one = keyOf(["s"]);
    assert.notEqual(one({ s: { start: 1, end: 2, name: "a" } }), one({ s: { start: 1, end: 2, name: "b" } }));
    assert.notEqual(one({ s: { start: "a:b", end: "c" } }), one({ s: { start: "a", end: "b:c" } }));
    const two = keyOf(["k", "s"]);
    assert.notEqual(two({ k: 1, s: { start: 1, end: 2, name: "a" } }), two({ k: 1, s: { start: 1, end: 2, name: "b" } }));
    // A window's key is unchanged (checkpoints): w<start>:<end>.
    assert.equal(one({ s: { start: 0, end: 10 } }), "w0:10");
    for (const columns of [["s"], ["k", "s"]]) {
      const route = partitionerOf(columns, 7);
      const key = keyOf(columns);
      for (const s of [{ start: 1, end: 2, name: "a" }, { start: "x\u0000", end: "y" }, { start: 1, end: 2 }]) {
        const row: Row = { k: "q", s };
        assert.equal(route(row), partitionOfKeyGroup(keyGroupOf(key(row)), 7), JSON.stringify({ columns, s }));
      }
    }
  });

  describe("in a grouped query", () => {
    let session: Session;
    before(() => {
      session = inProcessSession({ "rill.shuffle.partitions": 2 });
    });
    after(async () => {
      await session.stop();
    });

    it("groupBy a struct column counts each struct on its own", async () => {
      const schema = z.object({ a: z.number().int(), b: z.number().int(), name: z.string() });
      const input = new MemoryStream(session, schema);
      const query = await input.toDF().selectExpr("named_struct('start', a, 'end', b, 'name', name) as s").groupBy("s").count().writeStream.queryName("struct_groups").format("memory").outputMode("complete").start();
      input.addData([{ a: 1, b: 2, name: "a" }, { a: 1, b: 2, name: "b" }, { a: 1, b: 2, name: "b" }]);
      await query.processAllAvailable();
      const counts = session.table("struct_groups").map((row) => `${String((row.s as Row).name)}=${String(row.count)}`).sort();
      assert.deepEqual(counts, ["a=1", "b=2"]);
      await query.stop();
    });
  });
});
