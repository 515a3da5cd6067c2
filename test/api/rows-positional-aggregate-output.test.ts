// The streaming aggregation's output by position (rill.rows.positional auto): its actor reads its input by index and
// emits arrays in its output column order (grouping columns, aggregates, the group key of a keyed row), so the
// select/filter/withColumn after it run by position and its frames leave encoded from arrays. Over real NATS, each
// query runs by position and named (off): the same rows. State written one way is restored the other way.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { z } from "zod";
import { expr, type DataFrame, type Row } from "../../src/index.ts";
import { keyedRows, keyedRowSchema } from "../helpers/keyed-rows.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { useNatsSession } from "../helpers/session.ts";
import { assertRanByPosition } from "../helpers/positional-actors.ts";
import { runAcrossSwitch, runToMemory, STAGE_SETTINGS, type MemoryRun, type RowsMode } from "../helpers/positional-run.ts";
import { latestByKey, show, sortedRows as sorted } from "../helpers/rows-canonical.ts";
import { useTempFolder } from "../helpers/temp-folder.ts";

const server = useNatsServer();
const testSession = useNatsSession(() => server().options);

const schema = keyedRowSchema;

const data = keyedRows(600, 29, ["a", "a\u0000b", "bb", "c"]);
const OUT_BY_POSITION = /rows by position into aggregate \(its input read by index\) and out of it by position/;

let runs = 0;

/** Runs `build` over `data` (in three parts) with rill.rows.positional = `mode`; `actors` are the aggregation's. */
function run(mode: RowsMode, outputMode: "update" | "complete" | "append", build: (input: DataFrame) => DataFrame): Promise<MemoryRun> {
  return runToMemory(testSession, { "rill.rows.positional": mode, ...STAGE_SETTINGS }, { schema, data, name: `posout_${runs++}_${mode}`, outputMode, build, stage: "aggregate" });
}

/** Update mode's rows as the table they describe (each group's last row), sorted by their text. */
function latest(keys: readonly string[]): (rows: readonly Row[]) => Row[] {
  return (rows) => sorted(latestByKey(rows, keys));
}

/** Both ways: the same rows; by position, the aggregation read every row by index and wrote its output by position. */
async function bothWays(outputMode: "update" | "complete" | "append", build: (input: DataFrame) => DataFrame, normalize: (rows: readonly Row[]) => Row[]): Promise<MemoryRun> {
  const positional = await run("auto", outputMode, build);
  const named = await run("off", outputMode, build);
  assert.ok(named.rows.length > 0, "the query has rows");
  assert.deepStrictEqual(normalize(positional.rows), normalize(named.rows), "the same rows by position and named");
  assert.match(positional.explain, OUT_BY_POSITION);
  assert.doesNotMatch(named.explain, /rows by position/);
  assertRanByPosition(positional.actors, 2);
  return positional;
}

describe("the aggregation's output by position, and the steps after it", () => {
  it("update mode: a filter, a withColumn and a select after groupBy().agg() (the group key travels last)", async () => {
    const build = (input: DataFrame) => input.groupBy("k", "n").agg("count(*) as c", "sum(d) as s", "collect_list(id) as ids")
      .where("c > 1").withColumn("m", expr("s / c")).select("n", "k", "m", "c");
    const result = await bothWays("update", build, latest(["k", "n"]));
    assert.ok(result.rows.every((row) => (row.c as number) > 1 && Object.keys(row).join() === "n,k,m,c"), show(result.rows.slice(0, 3)));
    // A map after it: its output stays named (positional input, named output, as before).
    const mapped = z.object({ k: z.string().nullable(), c: z.number() });
    const named = await run("auto", "complete", (input) => input.groupBy("k").agg("count(*) as c").map((row) => ({ k: row.k, c: row.c }), mapped));
    assert.match(named.explain, /rows by position into aggregate \(its input read by index\), named after it/);
    assert.equal(named.rows.reduce((sum, row) => sum + Number(row.c), 0), data.length);
  });

  it("complete mode, window() with a watermark: a filter on the aggregate and a select of the window's fields", async () => {
    const build = (input: DataFrame) => input.withWatermark("at", "5 seconds").groupBy(expr("window(at, '10 seconds')"), "k").agg("count(*) as c", "max(n) as m")
      .where("c >= 2").selectExpr("window.start as start", "k", "c * 2 as c2", "m");
    const result = await bothWays("complete", build, sorted);
    assert.ok(result.rows.length > 10, `windows: ${result.rows.length}`);
  });

  it("append mode with a watermark: closed windows leave by position into a projection", async () => {
    const build = (input: DataFrame) => input.withWatermark("at", "5 seconds").groupBy(expr("window(at, '10 seconds')"), "k").agg("count(*) as c", "avg(d) as a")
      .selectExpr("k", "window.end as end", "c", "a");
    const result = await bothWays("append", build, sorted);
    assert.ok(result.rows.length > 10 && result.rows.reduce((sum, row) => sum + (row.c as number), 0) < data.length, `closed windows: ${result.rows.length}`);
  });

  it("cube and rollup: the hidden grouping id stays out of the output, a withColumn after them", async () => {
    const cube = await bothWays("complete", (input) => input.cube("k", "n").agg("count(*) as c", "max(d) as m").withColumn("half", expr("c / 2")), sorted);
    assert.equal(cube.rows.reduce((sum, row) => sum + (row.c as number), 0), 4 * data.length, "each row counted once in each of cube's four grouping sets");
    await bothWays("update", (input) => input.rollup("k", "n").agg("sum(n) as s").where("s is not null"), latest(["k", "n"]));
  });

});

describe("a checkpoint of the aggregation with steps after it, written one way and restored the other", () => {
  const folder = useTempFolder("rill-posout-");

  /** Runs the first half with `first`, stops, restarts on the checkpoint with `second` for the rest; the complete table and each run's explain(). */
  async function restarted(first: RowsMode, second: RowsMode, location: string | undefined): Promise<{ rows: Row[]; explains: string[] }> {
    const build = (input: DataFrame): DataFrame => input.withWatermark("at", "1 hour").groupBy(expr("window(at, '10 seconds')"), "k", "n").agg("count(*) as c", "sum(d) as s", "collect_list(n) as ns")
      .where("c > 0").withColumn("avg", expr("s / c"));
    return runAcrossSwitch(testSession, STAGE_SETTINGS, { schema, data, name: `posout_restart_${runs++}`, build, read: (rows): Row[] => sorted(rows) }, first, second, location);
  }

  for (const [first, second] of [["off", "auto"], ["auto", "off"]] as const) {
    it(`written ${first === "off" ? "named" : "by position"}, restored ${second === "off" ? "named" : "by position"}: the table of a run never stopped`, async () => {
      const reference = await restarted("off", "off", undefined);
      const result = await restarted(first, second, join(folder(), `${first}-${second}`));
      assert.deepStrictEqual(result.rows, reference.rows);
      assert.equal(result.rows.reduce((sum, row) => sum + (row.c as number), 0), data.length, "every row counted once");
      for (const [index, mode] of [first, second].entries()) {
        if (mode === "auto") assert.match(result.explains[index] as string, OUT_BY_POSITION);
        else assert.doesNotMatch(result.explains[index] as string, /rows by position/);
      }
    });
  }
});
