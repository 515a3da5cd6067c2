// explode, from_json, struct and nested fields in running queries: Spark's Generate and its column names.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStream, array, col, explode, lit, explode_outer, from_json, posexplode, size, struct, to_json, z, type Session } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

describe("generators and nested columns in queries", () => {
  let session: Session;
  before(() => {
    session = inProcessSession({ "rill.shuffle.partitions": 2 });
  });
  after(async () => {
    await session.stop();
  });

  it("explodes the array of JSON records into one row per element, the other columns repeated", async () => {
    const input = new MemoryStream(session, z.object({ id: z.number().int(), value: z.string().nullable() }));
    const parsed = input.toDF().select(col("id"), from_json(col("value"), "device STRING, temps ARRAY<DOUBLE>").alias("data"));
    const query = await parsed
      .select(col("id"), col("data.device"), size(col("data.temps")).alias("n"), explode(col("data.temps")).alias("temp"))
      .where("temp > 20")
      .writeStream.queryName("exploded").format("memory").outputMode("append").start();
    input.addData([
      { id: 1, value: '{"device": "a", "temps": [19.5, 21, 22.5]}' },
      { id: 2, value: '{"device": "b", "temps": []}' },
      { id: 3, value: null },
      { id: 4, value: '{"device": "c", "temps": [30]}' },
    ]);
    await query.processAllAvailable();
    assert.deepEqual(session.table("exploded"), [
      { id: 1, device: "a", n: 3, temp: 21 },
      { id: 1, device: "a", n: 3, temp: 22.5 },
      { id: 4, device: "c", n: 1, temp: 30 },
    ]);
    assert.deepEqual(parsed.select(explode(col("data.temps"))).columns, ["col"]);
    assert.deepEqual(parsed.select(posexplode(col("data.temps"))).columns, ["pos", "col"]);
    assert.deepEqual(parsed.selectExpr("id", "explode(data.temps) as t", "data.temps").columns, ["id", "t", "temps"]);
    await query.stop();
  });

  it("explode_outer keeps rows with a null or empty array; posexplode numbers the elements", async () => {
    const input = new MemoryStream(session, z.object({ id: z.number().int(), tags: z.string().nullable() }));
    const tags = input.toDF().withColumn("list", from_json(col("tags"), "list ARRAY<STRING>").getField("list"));
    const outer = await tags.select(col("id"), explode_outer(col("list")).alias("tag"))
      .writeStream.queryName("outer").format("memory").start();
    const numbered = await tags.select(col("id"), posexplode(col("list")))
      .writeStream.queryName("numbered").format("memory").start();
    input.addData([{ id: 1, tags: '{"list": ["x", "y"]}' }, { id: 2, tags: '{"list": []}' }, { id: 3, tags: null }]);
    await outer.processAllAvailable();
    await numbered.processAllAvailable();
    assert.deepEqual(session.table("outer"), [{ id: 1, tag: "x" }, { id: 1, tag: "y" }, { id: 2, tag: null }, { id: 3, tag: null }]);
    assert.deepEqual(session.table("numbered"), [{ id: 1, pos: 0, col: "x" }, { id: 1, pos: 1, col: "y" }]);
    await outer.stop();
    await numbered.stop();
  });

  it("refuses two generators in one select, and a generator inside an expression, as Spark does", async () => {
    const df = new MemoryStream(session, z.object({ a: z.string() })).toDF().select(from_json(col("a"), "x ARRAY<INT>").alias("s"));
    await assert.rejects(
      df.select(explode(col("s.x")), explode(col("s.x"))).writeStream.format("memory").queryName("two").start(),
      /Only one generator is allowed per select clause but found 2/,
    );
    await assert.rejects(
      df.select(size(explode(col("s.x")))).writeStream.format("memory").queryName("inside").start(),
      /only allowed at the top of select\(\) or withColumn\(\)/,
    );
  });

  it("builds structs and writes them as JSON", async () => {
    const input = new MemoryStream(session, z.object({ device: z.string(), temp: z.number() }));
    const query = await input.toDF()
      .select(to_json(struct(col("device"), col("temp"))).alias("value"), struct("device", "temp").alias("s"), array(col("temp"), lit(2)).alias("a"))
      .select(col("value"), col("s.temp"), col("a").getItem(1).alias("second"), col("a").getItem(5).alias("missing"))
      .writeStream.queryName("json").format("memory").start();
    input.addData([{ device: "a", temp: 1.5 }]);
    await query.processAllAvailable();
    assert.deepEqual(session.table("json"), [{ value: '{"device":"a","temp":1.5}', temp: 1.5, second: 2, missing: null }]);
    await query.stop();
  });
});
