// max/min over a long column whose values past 2^53 are bigints (README: a long past 2^53 is a JS bigint). The
// aggregates' comparison fell back to comparing the values' text when either side was not a number, so two bigints
// of different lengths compared digit by digit ("9007199254740993" > "1152921504606846976") and a number against a
// bigint likewise ("5" > "1152921504606846976"): max gave the smaller long.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStream, max, min, z, type Session } from "../../src/index.ts";
import { createAccumulator } from "../../src/operators/aggregate-functions.ts";
import { inProcessSession } from "../helpers/session.ts";

const BIG = 2n ** 60n; // 1152921504606846976, 19 digits
const SMALLER_BIG = 2n ** 53n + 1n; // 9007199254740993, 16 digits

function aggregate(name: "max" | "min", values: readonly unknown[]): unknown {
  const accumulator = createAccumulator(name);
  for (const value of values) accumulator.add(value);
  return accumulator.result();
}

describe("max and min over longs past 2^53", () => {
  it("order bigints by value, not by their text, in any order of the rows", () => {
    for (const values of [[BIG, SMALLER_BIG], [SMALLER_BIG, BIG]]) {
      assert.equal(aggregate("max", values), BIG);
      assert.equal(aggregate("min", values), SMALLER_BIG);
    }
    assert.equal(aggregate("min", [-BIG, -SMALLER_BIG]), -BIG);
  });

  it("order a number against a bigint by value", () => {
    for (const values of [[5, BIG], [BIG, 5]]) {
      assert.equal(aggregate("max", values), BIG);
      assert.equal(aggregate("min", values), 5);
    }
    assert.equal(aggregate("max", [-5, -BIG]), -5);
  });

  describe("in a grouped query", () => {
    let session: Session;
    before(() => {
      session = inProcessSession({ "rill.shuffle.partitions": 2 });
    });
    after(async () => {
      await session.stop();
    });

    it("max and min of a long column are Spark's", async () => {
      const schema = z.object({ user: z.string(), t: z.union([z.bigint(), z.number().int()]) });
      const input = new MemoryStream(session, schema);
      const query = await input.toDF().groupBy("user").agg(max("t").alias("high"), min("t").alias("low")).writeStream.queryName("longs").format("memory").outputMode("complete").start();
      input.addData([{ user: "a", t: SMALLER_BIG }, { user: "a", t: BIG }, { user: "a", t: 7 }]);
      await query.processAllAvailable();
      const rows = session.table("longs");
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.high, BIG);
      assert.equal(rows[0]?.low, 7);
      await query.stop();
    });
  });
});
