// The streaming aggregation by position in the default chained layout (rill.rows.positional auto): its actor decodes
// frames into arrays and reads the group key and aggregate inputs by index. Over real NATS, each query runs by
// position and named (off); the results must be the same, and plain code's. Keys hold nulls, NaN, -0, longs past
// 2^53, strings with U+0000 and structs; state written one way is restored the other way.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { z } from "zod";
import { MemoryStream, expr, type DataFrame, type Row } from "../../src/index.ts";
import { keyedRows, keyedRowSchema, type KeyedRow } from "../helpers/keyed-rows.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { useNatsSession } from "../helpers/session.ts";
import { assertRanByPosition, assertRanNamed, operatorActorRows } from "../helpers/positional-actors.ts";
import { runToMemory, STAGE_SETTINGS, type MemoryRun, type RowsMode } from "../helpers/positional-run.ts";
import { latestByKey as latest, show, sortedRows as sorted } from "../helpers/rows-canonical.ts";
import { useTempFolder } from "../helpers/temp-folder.ts";

const server = useNatsServer();
const testSession = useNatsSession(() => server().options);

const schema = keyedRowSchema;
type Input = KeyedRow;

const TEXTS = ["a", "a\u0000b", "\u0000", "a\u0000", "b\u0002\u0000c", "bb"];

/** d with NaN and -0 mixed in (zod's number refuses NaN, so the query makes them). */
const WITH_ODD_DOUBLES = "case when id % 11 = 0 then cast('NaN' as double) when id % 13 = 0 then cast('-0' as double) when id % 17 = 0 then cast(0 as double) else d end as d";

let runs = 0;

/** Runs `build` over `data` (in three parts) chained (the default), with rill.rows.positional = `mode`; `actors` are the aggregation's. */
function run(mode: RowsMode, outputMode: "update" | "complete" | "append", data: readonly Input[], build: (input: DataFrame) => DataFrame): Promise<MemoryRun> {
  return runToMemory(testSession, { "rill.rows.positional": mode, ...STAGE_SETTINGS }, { schema, data, name: `posagg_${runs++}_${mode}`, outputMode, build, stage: "aggregate" });
}

/** Both ways: the same rows (as `normalize` orders them); the positional run's aggregation ran every row by position. */
async function bothWays(outputMode: "update" | "complete" | "append", data: readonly Input[], build: (input: DataFrame) => DataFrame, normalize: (rows: readonly Row[]) => Row[]): Promise<MemoryRun> {
  const positional = await run("auto", outputMode, data, build);
  const named = await run("off", outputMode, data, build);
  assert.deepStrictEqual(normalize(positional.rows), normalize(named.rows), "the same rows by position and named");
  assertRanNamed(named.actors);
  assertRanByPosition(positional.actors, 2);
  assert.match(positional.explain, /rows by position into aggregate/);
  assert.doesNotMatch(named.explain, /rows by position/);
  return positional;
}

/** Plain code's count per key (keys as the engine groups them: NaN with NaN, -0 with 0, 5 with 5n). */
function countsBy(data: readonly Input[], key: (row: Input) => unknown[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of data) {
    const text = show(key(row).map((value) => (typeof value === "bigint" && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : Object.is(value, -0) ? 0 : value)));
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  return counts;
}

const data = keyedRows(600, 11, TEXTS);
const oddDouble = (row: Input): number | null => (row.id % 11 === 0 ? Number.NaN : row.id % 13 === 0 || row.id % 17 === 0 ? 0 : row.d);

describe("the streaming aggregation by position in the chained layout", () => {
  it("update mode, keys of strings with U+0000, longs past 2^53, NaN, -0 and nulls: the same groups and values both ways, plain code's counts", async () => {
    const build = (input: DataFrame) => input.selectExpr("id", "k", "n", WITH_ODD_DOUBLES)
      .groupBy("k", "n", "d").agg("count(*) as c", "count(d) as cd", "sum(n) as s", "avg(id) as a", "min(id) as lo", "max(k) as hi", "first(id) as f", "collect_list(id) as ids");
    const result = await bothWays("update", data, build, (rows) => latest(rows, ["k", "n", "d"]));
    const table = latest(result.rows, ["k", "n", "d"]);
    const expected = countsBy(data, (row) => [row.k, row.n, oddDouble(row)]);
    assert.equal(table.length, expected.size, "one row a group");
    for (const row of table) assert.equal(row.c, expected.get(show([row.k, row.n, Object.is(row.d, -0) ? 0 : row.d])), show(row));
    assert.ok(table.some((row) => typeof row.n === "bigint") && table.some((row) => Number.isNaN(row.d)) && table.some((row) => row.k === null) && table.some((row) => typeof row.k === "string" && row.k.includes("\u0000")), "odd keys present");
  });

  it("update mode, a struct key holding a string with U+0000 and a long past 2^53", async () => {
    const build = (input: DataFrame) => input.selectExpr("named_struct('k', k, 'n', n) as st", "d").groupBy("st").agg("count(*) as c", "max(d) as m", "sum(d) as s");
    const result = await bothWays("update", data, build, (rows) => latest(rows, ["st"]));
    const table = latest(result.rows, ["st"]);
    const expected = countsBy(data, (row) => [{ k: row.k, n: row.n }]);
    assert.equal(table.length, expected.size);
    for (const row of table) assert.equal(row.c, expected.get(show([row.st])), show(row));
  });

  it("complete mode, window() with a watermark and cube's hidden grouping id", async () => {
    const windowed = await bothWays("complete", data, (input) => input.withWatermark("at", "5 seconds").groupBy(expr("window(at, '10 seconds')"), "k").agg("count(*) as c", "sum(n) as s", "min(d) as lo"), sorted);
    assert.equal(windowed.rows.reduce((sum, row) => sum + (row.c as number), 0), data.length, "complete mode counts every row");
    const cube = await bothWays("complete", data, (input) => input.cube("k", "n").agg("count(*) as c", "max(d) as m"), sorted);
    assert.equal(cube.rows.reduce((sum, row) => sum + (row.c as number), 0), 4 * data.length, "each row counted once in each of cube's four grouping sets");
  });

  it("append mode with a watermark: windows leave once, late rows are dropped the same both ways", async () => {
    const build = (input: DataFrame) => input.withWatermark("at", "5 seconds").groupBy(expr("window(at, '10 seconds')"), "k").agg("count(*) as c", "max(n) as m", "avg(d) as a");
    const result = await bothWays("append", data, build, sorted);
    assert.ok(result.rows.length > 10, `windows closed: ${result.rows.length}`);
    const counted = result.rows.reduce((sum, row) => sum + (row.c as number), 0);
    assert.ok(counted < data.length, "the late rows and the open windows are not counted");
  });

  it("a map before the shuffle that writes its fields in another order: the key projection puts them back, right both ways", async () => {
    const mapped = z.object({ d: z.number().nullable(), n: z.union([z.bigint(), z.number().int()]).nullable(), k: z.string().nullable() });
    const build = (input: DataFrame) => input.map((row) => ({ d: row.d, n: row.n, k: row.k }), mapped).groupBy("n", "k").agg("count(*) as c", "sum(d) as s");
    const result = await bothWays("update", data, build, (rows) => latest(rows, ["n", "k"]));
    const table = latest(result.rows, ["n", "k"]);
    const expected = countsBy(data, (row) => [row.n, row.k]);
    assert.equal(table.length, expected.size);
    for (const row of table) assert.equal(row.c, expected.get(show([row.n, row.k])), show(row));
  });
});

describe("a checkpoint written one way restored the other", () => {
  const folder = useTempFolder("rill-posagg-");

  /** Runs the first half with `first`, stops, restarts on the checkpoint with `second` for the rest; the complete table. */
  async function restarted(first: RowsMode, second: RowsMode, location: string | undefined): Promise<{ rows: Row[]; aggregates: MemoryRun["actors"] }> {
    const session = testSession.open(STAGE_SETTINGS);
    const input = new MemoryStream(session, schema);
    const name = `posagg_restart_${runs++}`;
    const start = async (mode: RowsMode) => {
      session.conf.set("rill.rows.positional", mode);
      const writer = input.toDF().selectExpr("id", "k", "n", "at", WITH_ODD_DOUBLES).withWatermark("at", "1 hour")
        .groupBy(expr("window(at, '10 seconds')"), "k", "n").agg("count(*) as c", "sum(d) as s", "collect_list(n) as ns").writeStream.queryName(name).format("memory").outputMode("complete");
      return (location === undefined ? writer : writer.option("checkpointLocation", location)).start();
    };
    const half = data.length >> 1;
    let query = await start(first);
    input.addData(data.slice(0, half));
    await query.processAllAvailable();
    if (location !== undefined) {
      await query.stop();
      query = await start(second);
    }
    input.addData(data.slice(half));
    await query.processAllAvailable();
    const result = { rows: sorted(session.table(name).map((row) => ({ ...row }))), aggregates: operatorActorRows(query, "aggregate") };
    await testSession.stop();
    return result;
  }

  for (const [first, second] of [["off", "auto"], ["auto", "off"]] as const) {
    it(`written ${first === "off" ? "named" : "by position"}, restored ${second === "off" ? "named" : "by position"}: the table of a run never stopped, no group twice`, async () => {
      const reference = await restarted("off", "off", undefined);
      const result = await restarted(first, second, join(folder(), `${first}-${second}`));
      assert.deepStrictEqual(result.rows, reference.rows);
      assert.equal(result.rows.reduce((sum, row) => sum + (row.c as number), 0), data.length, "every row counted once");
      assert.equal(new Set(result.rows.map((row) => show([row.window, row.k, row.n]))).size, result.rows.length, "no group twice");
      assert.ok(result.aggregates.every((actor) => actor.positional === (second === "auto")), JSON.stringify(result.aggregates));
      if (second === "auto") assert.ok(result.aggregates.reduce((sum, actor) => sum + actor.byPosition, 0) > 0, JSON.stringify(result.aggregates));
    });
  }
});
