// A group key holding a struct or an array with a long past 2^53 (a bigint): its JSON was JSON.stringify's, which
// throws on a bigint ("Do not know how to serialize a BigInt"), so keying and routing such a row threw.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStream, z, type Row, type Session } from "../../src/index.ts";
import { keyGroupOf, keyOf, partitionerOf, partitionOfKeyGroup } from "../../src/core/keys.ts";
import { inProcessSession } from "../helpers/session.ts";

const BIG = 2n ** 60n;

describe("struct keys holding longs past 2^53", () => {
  it("keyOf and partitionerOf key and route them, alike, and keep other values apart", () => {
    for (const columns of [["s"], ["k", "s"]]) {
      const key = keyOf(columns);
      const route = partitionerOf(columns, 7);
      const row: Row = { k: 1, s: { x: BIG } };
      assert.equal(route(row), partitionOfKeyGroup(keyGroupOf(key(row)), 7));
      assert.notEqual(key(row), key({ k: 1, s: { x: BIG + 1n } }));
      assert.equal(key({ k: 1, s: [5] }), key({ k: 1, s: [5] }));
    }
    // A struct without longs keeps its key (checkpoints): its JSON text.
    assert.equal(keyOf(["s"])({ s: { x: 1, y: "a" } }), 'o{"x":1,"y":"a"}');
  });

  describe("in a grouped query", () => {
    let session: Session;
    before(() => {
      session = inProcessSession({ "rill.shuffle.partitions": 2 });
    });
    after(async () => {
      await session.stop();
    });

    it("groupBy a struct holding a long past 2^53 counts each struct", async () => {
      const schema = z.object({ t: z.union([z.bigint(), z.number().int()]) });
      const input = new MemoryStream(session, schema);
      const query = await input.toDF().selectExpr("named_struct('t', t) as s").groupBy("s").count().writeStream.queryName("long_structs").format("memory").outputMode("complete").start();
      input.addData([{ t: BIG }, { t: BIG }, { t: 3 }]);
      await query.processAllAvailable();
      const counts = session.table("long_structs").map((row) => `${String((row.s as Row).t)}=${String(row.count)}`).sort();
      assert.deepEqual(counts, [`${BIG}=2`, "3=1"]);
      await query.stop();
    });
  });
});
