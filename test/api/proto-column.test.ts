// A column named __proto__: rows are plain objects, where `row.__proto__ = value` sets the prototype, so the column was
// dropped without a word (selectExpr("id * 2 as __proto__") wrote rows holding only id). start() refuses it, naming it.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { AnalysisError, MemoryStream, expr, z, type Session } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

describe("a column named __proto__", () => {
  let session: Session | undefined;
  afterEach(async () => {
    await session?.stop();
    session = undefined;
  });

  const refused = (error: unknown): boolean => error instanceof AnalysisError && /`__proto__`/.test(error.message);

  it("start() fails naming the column, whether a projection, withColumn, a rename or a grouping column makes it", async () => {
    session = inProcessSession();
    const input = new MemoryStream(session, z.object({ id: z.number().int(), name: z.string() }));
    const queries = [
      input.toDF().selectExpr("id", "id * 2 as __proto__"),
      input.toDF().withColumn("__proto__", expr("upper(name)")),
      input.toDF().withColumnRenamed("name", "__proto__"),
      input.toDF().groupBy(expr("name").alias("__proto__")).count(),
    ];
    for (const [index, df] of queries.entries()) {
      await assert.rejects(df.writeStream.queryName(`proto_${index}`).format("memory").outputMode(index === 3 ? "complete" : "append").start(), refused, `query ${index}`);
    }
    assert.deepStrictEqual(session.streams.active, []);
  });

  it("a column whose name only looks like it (another case, or a prefix) still runs and keeps its values", async () => {
    session = inProcessSession();
    const input = new MemoryStream(session, z.object({ id: z.number().int() }));
    const query = await input.toDF().selectExpr("id", "id * 2 as __PROTO__", "id * 3 as __proto").writeStream.queryName("proto_like").format("memory").outputMode("append").start();
    input.addData([{ id: 1 }, { id: 2 }]);
    await query.processAllAvailable();
    assert.deepStrictEqual(session.table("proto_like").map((row) => ({ ...row })), [{ id: 1, __PROTO__: 2, __proto: 3 }, { id: 2, __PROTO__: 4, __proto: 6 }]);
  });
});
