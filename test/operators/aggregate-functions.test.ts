// Aggregate functions in a grouped query: counts, distinct counts, collected lists and sets, first and last.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStream, approx_count_distinct, collect_list, collect_set, count, countDistinct, first, last, max, min, sum, z, type Session } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

describe("aggregate functions", () => {
  let session: Session;
  before(() => {
    session = inProcessSession({ "rill.shuffle.partitions": 2 });
  });
  after(async () => {
    await session.stop();
  });

  it("compute per group what SQL computes, skipping nulls", async () => {
    const schema = z.object({ user: z.string(), page: z.string().nullable(), ms: z.number().int() });
    const input = new MemoryStream(session, schema);
    const query = await input.toDF().groupBy("user").agg(
      count("*").alias("n"), count("page").alias("pages"), countDistinct("page").alias("distinct_pages"), approx_count_distinct("page").alias("approx"),
      collect_list("page").alias("list"), collect_set("page").alias("set"), sum("ms").alias("total"), min("ms").alias("low"), max("ms").alias("high"),
      first("page").alias("first_page"), last("page").alias("last_page"),
    ).writeStream.queryName("functions").format("memory").outputMode("complete").start();
    input.addData([
      { user: "a", page: "home", ms: 5 }, { user: "a", page: "cart", ms: 7 }, { user: "a", page: "home", ms: 1 }, { user: "a", page: null, ms: 2 },
      { user: "b", page: null, ms: 3 },
    ]);
    await query.processAllAvailable();
    const rows = new Map(session.table("functions").map((row) => [row.user, row]));
    assert.deepEqual(rows.get("a"), { user: "a", n: 4, pages: 3, distinct_pages: 2, approx: 2, list: ["home", "cart", "home"], set: ["home", "cart"], total: 15, low: 1, high: 7, first_page: "home", last_page: null });
    assert.deepEqual(rows.get("b"), { user: "b", n: 1, pages: 0, distinct_pages: 0, approx: 0, list: [], set: [], total: 3, low: 3, high: 3, first_page: null, last_page: null });
  });
});
