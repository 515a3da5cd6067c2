// orderBy / sort and limit on streams: where Spark allows them, with Spark's refusals and results.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MemoryStream, col, count, desc, window, z, type Row, type Session } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

const schema = z.object({ word: z.string().nullable(), n: z.number().int() });

describe("orderBy and limit", () => {
  let session: Session;
  let folder: string;
  before(async () => {
    session = inProcessSession({ "rill.shuffle.partitions": 2 });
    folder = await mkdtemp(join(tmpdir(), "rill-order-"));
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("sorts and cuts the complete-mode result table at every epoch", async () => {
    const input = new MemoryStream(session, schema);
    const batches: Row[][] = [];
    const counts = input.toDF().groupBy("word").agg(count("*").alias("count"));
    const top = await counts.orderBy(desc("count"), col("word")).limit(2)
      .writeStream.queryName("top").format("memory").outputMode("complete").start();
    const viaBatches = await counts.orderBy(col("count").desc(), "word").limit(2)
      .writeStream.format("foreachBatch").foreachBatch((rows) => void batches.push([...rows])).outputMode("complete").start();
    input.addData([{ word: "a", n: 1 }, { word: "b", n: 1 }, { word: "b", n: 1 }, { word: "c", n: 1 }, { word: null, n: 1 }]);
    await top.processAllAvailable();
    await viaBatches.processAllAvailable();
    assert.deepEqual(session.table("top"), [{ word: "b", count: 2 }, { word: null, count: 1 }]);
    assert.deepEqual(batches.at(-1), [{ word: "b", count: 2 }, { word: null, count: 1 }]);
    input.addData([{ word: "c", n: 1 }, { word: "c", n: 1 }]);
    await top.processAllAvailable();
    await viaBatches.processAllAvailable();
    assert.deepEqual(session.table("top"), [{ word: "c", count: 3 }, { word: "b", count: 2 }]);
    assert.deepEqual(batches.at(-1), [{ word: "c", count: 3 }, { word: "b", count: 2 }]);
    assert.match(top.explain(), /output mode complete, sorted, limit 2/);
    await top.stop();
    await viaBatches.stop();
  });

  it("sorts by an event-time window, latest first", async () => {
    const events = z.object({ time: z.date() });
    const input = new MemoryStream(session, events);
    const query = await input.toDF().groupBy(window(col("time"), "10 seconds")).count().orderBy(col("window").desc())
      .writeStream.queryName("latest_windows").format("memory").outputMode("complete").start();
    input.addData([5, 31, 12, 18, 44].map((second) => ({ time: new Date(second * 1000) })));
    await query.processAllAvailable();
    assert.deepEqual(session.table("latest_windows").map((row) => [(row.window as { start: number }).start / 1000, row.count]), [[40, 1], [30, 1], [10, 2], [0, 1]]);
    await query.stop();
  });

  it("refuses sorting outside a complete-mode aggregation, and limit in update mode, with Spark's reasons", async () => {
    const df = new MemoryStream(session, schema).toDF();
    await assert.rejects(df.orderBy("n").writeStream.format("memory").queryName("sorted_rows").start(), /Sorting is not supported on streaming DataFrames\/Datasets, unless it is on aggregated DataFrame\/Dataset in Complete output mode/);
    await assert.rejects(df.groupBy("word").count().orderBy("count").writeStream.format("memory").queryName("sorted_update").outputMode("update").start(), /Sorting is not supported/);
    await assert.rejects(df.limit(3).writeStream.format("memory").queryName("limit_update").outputMode("update").start(), /Limits are not supported on streaming DataFrames\/Datasets in Update output mode/);
    await assert.rejects(df.limit(3).select("n").writeStream.format("memory").queryName("limit_inner").start(), /must be the last operation/);
    assert.throws(() => df.limit(-1), /must be equal to or greater than 0/);
    assert.deepEqual(df.orderBy("n").columns, ["word", "n"]);
  });

  it("passes the first n rows in append mode, across epochs and a restart", async () => {
    const location = join(folder, "limit");
    const input = new MemoryStream(session, schema);
    // The memory sink refuses a restart in append mode, as Spark's does: collect each epoch's rows instead.
    const output: Row[] = [];
    const start = () => input.toDF().where("n > 0").limit(3).writeStream.queryName("first3").option("checkpointLocation", location).foreachBatch((rows) => void output.push(...rows)).start();
    const first = await start();
    input.addData([{ word: "a", n: 1 }, { word: "b", n: 2 }]);
    await first.processAllAvailable();
    assert.equal(output.length, 2);
    await first.stop();
    const second = await start();
    input.addData([{ word: "c", n: 3 }, { word: "d", n: 4 }, { word: "e", n: 5 }]);
    await second.processAllAvailable();
    assert.deepEqual(output.map((row) => row.word), ["a", "b", "c"]);
    input.addData([{ word: "f", n: 6 }]);
    await second.processAllAvailable();
    assert.equal(output.length, 3);
    await second.stop();
  });
});
