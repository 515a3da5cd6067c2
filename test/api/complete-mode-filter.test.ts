// A where after an aggregation in complete mode: the result table is the filter over the whole current table, as
// Spark recomputes it each batch, so a group whose new row fails the condition leaves the table (it kept its older row
// before), and a session merged away still leaves it (its retraction, all nulls, used to fail the condition and stay).
// Named and by position alike; update mode keeps Spark's rule (a changed row that fails is simply not output).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStream, col, count, session_window, z, type Row } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

const base = Date.UTC(2026, 0, 1);

function sorted(rows: readonly Row[]): string[] {
  return rows.map((row) => JSON.stringify(row)).sort();
}

const session = inProcessSession({ "rill.shuffle.partitions": 2 });
after(async () => {
  await session.stop();
});

for (const positional of ["auto", "off"] as const) {
  describe(`where after an aggregation in complete mode (rows by position: ${positional})`, () => {
    before(() => {
      session.conf.set("rill.rows.positional", positional);
    });

    it("drops a group from the table once its row fails the condition, and brings it back when it passes again", async () => {
      const input = new MemoryStream(session, z.object({ k: z.string(), v: z.number() }));
      const query = await input.toDF().groupBy("k").agg(count("*").alias("n"), { v: "sum" }).where("n < 3 or `sum(v)` > 100")
        .writeStream.queryName(`complete_filter_${positional}`).format("memory").outputMode("complete").start();
      input.addData([{ k: "a", v: 1 }, { k: "a", v: 1 }, { k: "b", v: 1 }]);
      await query.processAllAvailable();
      assert.deepEqual(sorted(session.table(`complete_filter_${positional}`)), sorted([{ k: "a", n: 2, "sum(v)": 2 }, { k: "b", n: 1, "sum(v)": 1 }]));
      input.addData([{ k: "a", v: 1 }, { k: "c", v: 5 }, { k: "c", v: 5 }, { k: "c", v: 5 }]);
      await query.processAllAvailable();
      assert.deepEqual(sorted(session.table(`complete_filter_${positional}`)), sorted([{ k: "b", n: 1, "sum(v)": 1 }]), "a (3 rows) and c (3 rows) fail n < 3");
      input.addData([{ k: "a", v: 500 }]);
      await query.processAllAvailable();
      assert.deepEqual(sorted(session.table(`complete_filter_${positional}`)), sorted([{ k: "a", n: 4, "sum(v)": 503 }, { k: "b", n: 1, "sum(v)": 1 }]), "a passes again on its sum");
      await query.stop();
    });

    it("removes a session merged into another though a where follows the session window", async () => {
      const input = new MemoryStream(session, z.object({ user: z.string(), time: z.date() }));
      const query = await input.toDF().groupBy(session_window(col("time"), "5 seconds"), col("user")).agg(count("*").alias("count")).where("count > 0").selectExpr("user", "session_window.start as start", "count")
        .writeStream.queryName(`complete_sessions_${positional}`).format("memory").outputMode("complete").start();
      input.addData([{ user: "u1", time: new Date(base) }, { user: "u1", time: new Date(base + 8000) }]);
      await query.processAllAvailable();
      assert.equal(session.table(`complete_sessions_${positional}`).length, 2);
      input.addData([{ user: "u1", time: new Date(base + 4000) }]);
      await query.processAllAvailable();
      const rows = session.table(`complete_sessions_${positional}`).map((row) => ({ ...row, start: new Date(row.start as number).getTime() - base }));
      assert.deepEqual(rows, [{ user: "u1", start: 0, count: 3 }], "the session at 8 s was merged into the one at 0 s");
      await query.stop();
    });

    it("in update mode outputs only the changed rows that pass, as Spark does", async () => {
      const input = new MemoryStream(session, z.object({ k: z.string() }));
      const batches: Row[][] = [];
      const query = await input.toDF().groupBy("k").count().where("count < 3").writeStream.outputMode("update").foreachBatch((rows) => void batches.push([...rows])).start();
      input.addData([{ k: "a" }, { k: "a" }]);
      await query.processAllAvailable();
      input.addData([{ k: "a" }, { k: "b" }]);
      await query.processAllAvailable();
      assert.deepEqual(batches.flat().map((row) => `${String(row.k)}=${String(row.count)}`).sort(), ["a=2", "b=1"]);
      await query.stop();
    });
  });
}
