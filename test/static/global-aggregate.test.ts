// An aggregation without grouping keys over a static DataFrame has one row even when no row reaches it, as in Spark
// (and SQL): `SELECT count(*) FROM t WHERE false` is 0, and sum, avg, max and first are null. Found in review (review5):
// Rill returned no row at all.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { avg, count, max, sum, type DataFrame, type Session } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

describe("a global aggregation over no rows", () => {
  let session: Session;
  let frame: DataFrame;
  before(() => {
    session = inProcessSession();
    frame = session.createDataFrame([{ k: "a", i: 1 }, { k: "b", i: 2 }], "k STRING, i INT");
    frame.createOrReplaceTempView("t");
  });
  after(async () => {
    await session.stop();
  });

  it("SQL: one row, count 0 and the other aggregates null (collect_list empty)", async () => {
    const rows = await session.sql("SELECT count(*) AS n, count(i) AS ni, sum(i) AS s, avg(i) AS a, max(i) AS m, first(i) AS f, collect_list(i) AS l FROM t WHERE i > 5").collect();
    assert.deepEqual(rows, [{ n: 0, ni: 0, s: null, a: null, m: null, f: null, l: [] }]);
  });

  it("the DataFrame API: groupBy() with no columns, over a filter that keeps nothing and over an empty frame", async () => {
    const none = frame.where("i > 5");
    assert.deepEqual(await none.groupBy().count().collect(), [{ count: 0 }]);
    assert.deepEqual(await none.groupBy().agg(count("*").alias("n"), sum("i").alias("s"), avg("i").alias("a"), max("i").alias("m")).collect(), [{ n: 0, s: null, a: null, m: null }]);
    assert.deepEqual(await session.createDataFrame([], "i INT").groupBy().agg(count("i").alias("n")).collect(), [{ n: 0 }]);
  });

  it("HAVING still filters that row, and grouping keys (rollup included) make no row from no input", async () => {
    assert.deepEqual(await session.sql("SELECT count(*) AS n FROM t WHERE i > 5 HAVING count(*) > 0").collect(), []);
    assert.deepEqual(await session.sql("SELECT k, count(*) AS n FROM t WHERE i > 5 GROUP BY k").collect(), []);
    assert.deepEqual(await session.sql("SELECT k, count(*) AS n FROM t WHERE i > 5 GROUP BY ROLLUP(k)").collect(), []);
    assert.deepEqual(await session.sql("SELECT count(*) AS n, sum(i) AS s FROM t").collect(), [{ n: 2, s: 3 }]);
  });
});
