// window() outside groupBy: select(window(...)) gives each row its window struct, one row per window when they slide.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStream, col, window, z, type Session } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

const events = z.object({ id: z.number().int(), time: z.date().nullable() });
const base = Date.UTC(2026, 0, 1, 12, 0, 0);
const at = (second: number) => new Date(base + second * 1000);
const ms = (second: number) => base + second * 1000;

describe("window() in select", () => {
  let session: Session;
  before(() => {
    session = inProcessSession();
  });
  after(async () => {
    await session.stop();
  });

  it("adds the tumbling window as a start/end struct, aliased, readable as w.start and w.end", async () => {
    const input = new MemoryStream(session, events);
    const df = input.toDF().select(col("id"), window(col("time"), "10 seconds").alias("w"));
    assert.deepEqual(df.schema.fields.map((field) => [field.name, field.type]), [["id", "long"], ["w", "window"]]);
    const query = await df.select(col("id"), col("w.start").alias("start"), col("w.end"))
      .writeStream.queryName("windowed_rows").format("memory").start();
    input.addData([{ id: 1, time: at(3) }, { id: 2, time: at(10) }, { id: 3, time: null }]);
    await query.processAllAvailable();
    assert.deepEqual(session.table("windowed_rows"), [{ id: 1, start: ms(0), end: ms(10) }, { id: 2, start: ms(10), end: ms(20) }], "a row without a time has no window, as in Spark");
    await query.stop();
  });

  it("gives one row per sliding window, named `window` without an alias; withColumn works too", async () => {
    const input = new MemoryStream(session, events);
    const sliding = await input.toDF().select(col("id"), window(col("time"), "10 seconds", "5 seconds"))
      .writeStream.queryName("sliding_rows").format("memory").start();
    const added = await input.toDF().withColumn("w", window("time", "1 minute"))
      .writeStream.queryName("with_window").format("memory").start();
    input.addData([{ id: 1, time: at(7) }]);
    await sliding.processAllAvailable();
    await added.processAllAvailable();
    assert.deepEqual(session.table("sliding_rows"), [{ id: 1, window: { start: ms(5), end: ms(15) } }, { id: 1, window: { start: ms(0), end: ms(10) } }]);
    assert.deepEqual(session.table("with_window"), [{ id: 1, time: ms(7), w: { start: ms(0), end: ms(60) } }]);
    await assert.rejects(input.toDF().select(window("time", "1 minute"), window("time", "2 minutes").alias("b")).writeStream.format("memory").queryName("two_windows").start(), /Multiple time window expressions/);
    await sliding.stop();
    await added.stop();
  });
});
