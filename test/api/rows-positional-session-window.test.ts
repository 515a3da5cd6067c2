// session_window by position (rill.rows.positional auto): its key projection (keys, aggregate inputs, time, gap) has a
// positional form, so the stage before the shuffle runs by position, and the session window reads its input by index
// into the one named operator that keeps the sessions; that operator emits its rows by position too (the grouping
// columns with the session at its place, the aggregates, the row's key last in update and complete mode), so the
// where/withColumn/select after it run by position ("through"). Over real NATS, each query runs by position and named
// (off): the same rows and late-row counts. A checkpoint written one way restores the other.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { z } from "zod";
import { MemoryStream, col, expr, session_window, type DataFrame, type Row } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { useNatsSession } from "../helpers/session.ts";
import { assertRanByPosition, assertRanNamed, operatorActorRows, type ActorRows } from "../helpers/positional-actors.ts";
import { feedInParts, runAcrossSwitch, STAGE_SETTINGS, type RowsMode } from "../helpers/positional-run.ts";
import { latestByKey, show, sortedShows } from "../helpers/rows-canonical.ts";
import { seededInts } from "../helpers/seeded.ts";
import { useTempFolder } from "../helpers/temp-folder.ts";

const server = useNatsServer();
const testSession = useNatsSession(() => server().options);

const schema = z.object({ id: z.number().int(), user: z.string().nullable(), v: z.number().nullable(), gap: z.string().nullable(), at: z.date() });
type Input = z.input<typeof schema>;
const START = Date.UTC(2026, 0, 1);

/** Clicks of users (one null, one with U+0000) a few seconds apart, in time order but for late ones in the second half. */
function rowsOf(count: number, seed: number): Input[] {
  const next = seededInts(seed);
  let time = START;
  return Array.from({ length: count }, (_, id) => {
    time += next(4) * 1000;
    const late = id > count / 2 && id % 19 === 0;
    return {
      id,
      user: next(9) === 0 ? null : ["a", "a\u0000b", "b", "c"][next(4)] as string,
      v: next(6) === 0 ? null : next(100) / 4,
      gap: [null, "2 seconds", "not a gap", "4 seconds", "1 second"][next(5)] as string | null,
      at: new Date(late ? time - 120_000 : time),
    };
  });
}

const data = rowsOf(600, 41);
const OUT_BY_POSITION = /rows by position into session-window \(its input read by index\) and out of it by position/;

interface RunResult {
  readonly rows: Row[];
  readonly dropped: number;
  readonly operators: ActorRows[];
  readonly explain: string;
}

let runs = 0;

async function run(mode: RowsMode, outputMode: "append" | "update" | "complete", build: (input: DataFrame) => DataFrame): Promise<RunResult> {
  const session = testSession.open({ "rill.rows.positional": mode, ...STAGE_SETTINGS });
  const name = `possession_${runs++}_${mode}`;
  const input = new MemoryStream(session, schema);
  const query = await build(input.toDF()).writeStream.queryName(name).format("memory").outputMode(outputMode).start();
  await feedInParts(input, query, data, 3);
  assert.equal(query.numRecoveries, 0);
  const dropped = query.recentProgress.reduce((sum, entry) => sum + entry.numRowsDroppedByWatermark, 0);
  const result = { rows: session.table(name).map((row) => ({ ...row })), dropped, operators: operatorActorRows(query), explain: query.explain() };
  await testSession.stop();
  return result;
}

const sorted = (rows: readonly Row[]): string[] => sortedShows(rows);

/** Update mode's rows as the table they describe: each session's last row. */
function latest(keys: readonly string[]): (rows: readonly Row[]) => string[] {
  return (rows) => sortedShows(latestByKey(rows, keys));
}

/** The explain() text of each physical stage. */
function stagesOf(explain: string): string[] {
  return explain.split(/\n(?=s\d+-)/).slice(1);
}

/**
 * Both ways: the same rows and late rows; by position, the session window's stage reads its rows by index into the
 * session window and its actors ran every row by position, and the stage before the shuffle runs by position.
 */
async function bothWays(outputMode: "append" | "update" | "complete", build: (input: DataFrame) => DataFrame, normalize: (rows: readonly Row[]) => string[] = sorted): Promise<RunResult> {
  const positional = await run("auto", outputMode, build);
  const named = await run("off", outputMode, build);
  assert.ok(named.rows.length > 0, "the query has rows");
  assert.deepStrictEqual(normalize(positional.rows), normalize(named.rows), "the same rows by position and named");
  assert.equal(positional.dropped, named.dropped, "the same rows dropped by the watermark");
  assert.doesNotMatch(named.explain, /rows by position/);
  const stage = stagesOf(positional.explain).find((text) => /\n {4}session-window: /.test(text));
  assert.ok(stage !== undefined, positional.explain);
  assert.match(stage, /\n {4}rows by position into session-window/, stage);
  const before = stagesOf(positional.explain).find((text) => /\n {4}project: session keys, time and aggregate inputs/.test(text));
  assert.match(before ?? "", /\n {4}rows by position/, positional.explain);
  assertRanByPosition(positional.operators.filter((actor) => actor.name.startsWith(`${stage.split(/\s/)[0] as string}.`)), 2, positional.operators);
  assertRanNamed(named.operators);
  return positional;
}

describe("session_window by position", () => {
  it("append mode with a watermark, after a filter: count, sum and max per session, late rows dropped, the same both ways", async () => {
    const result = await bothWays("append", (stream) => stream.where("id % 11 <> 4").withWatermark("at", "10 seconds")
      .groupBy(session_window(col("at"), "3 seconds"), col("user")).agg(expr("count(*) as c"), expr("sum(v) as s"), expr("max(v * 2) as m")));
    assert.ok(result.dropped > 0, "some rows were late");
  });

  it("update mode, a gap per row (null, not a duration, several lengths) and an expression key: the same sessions both ways", async () => {
    await bothWays("update", (stream) => stream.groupBy(expr("upper(user) as u"), session_window(col("at"), expr("gap"))).agg(expr("count(*) as c"), expr("collect_list(id) as ids")), latest(["u", "session_window"]));
  });

  it("complete mode, keys with nulls and U+0000: the same table both ways", async () => {
    await bothWays("complete", (stream) => stream.groupBy(col("user"), session_window(col("at"), "2 seconds")).count(), (rows) => sorted(rows));
  });
});

describe("the session window's output by position, and the steps after it", () => {
  it("append mode with a watermark and late rows, two keys: a where, a withColumn and a select in another order after it", async () => {
    const result = await bothWays("append", (stream) => stream.withWatermark("at", "10 seconds")
      .groupBy(col("user"), session_window(col("at"), "3 seconds"), expr("id % 2 as parity")).agg(expr("count(*) as c"), expr("sum(v) as s"), expr("max(id) as m"))
      .where("c > 1").withColumn("mean", expr("s / c")).selectExpr("session_window.end as end", "parity", "user", "c", "mean", "m"));
    assert.match(result.explain, OUT_BY_POSITION);
    assert.ok(result.dropped > 0, "some rows were late");
    assert.ok(result.rows.length > 5 && result.rows.every((row) => (row.c as number) > 1 && Object.keys(row).join() === "end,parity,user,c,mean,m"), show(result.rows.slice(0, 3)));
  });

  it("update mode, a gap per row and an expression key: the row's key travels last through a where and a select", async () => {
    const result = await bothWays("update", (stream) => stream.groupBy(expr("upper(user) as u"), session_window(col("at"), expr("gap")), expr("id % 3 as r")).agg(expr("count(*) as c"), expr("collect_list(id) as ids"), expr("min(v) as low"))
      .where("c >= 1").selectExpr("r", "session_window", "u", "ids", "c"), latest(["u", "r", "session_window"]));
    assert.match(result.explain, OUT_BY_POSITION);
  });

  it("complete mode, sessions merged across epochs (their rows retracted) and a withColumn after it: the same table", async () => {
    const result = await bothWays("complete", (stream) => stream.groupBy(session_window(col("at"), "5 seconds"), col("user"), expr("id % 2 as p")).agg(expr("count(*) as c"), expr("sum(v) as s"))
      .withColumn("c2", expr("c * 2 + 1")), (rows) => sorted(rows));
    assert.match(result.explain, OUT_BY_POSITION);
    assert.equal(result.rows.reduce((sum, row) => sum + (row.c as number), 0), data.length, "every row in one session");
  });
});

describe("a checkpoint of the session window, written one way and restored the other", () => {
  const folder = useTempFolder("rill-possession-");

  /**
   * Runs the first half with `first`, stops, restarts on the checkpoint with `second` for the rest; the table and each
   * run's explain(). No where() after the session window: it drops complete mode's retractions (their aggregates are
   * null), named or by position, so the table would keep a merged-away session or not as the turns fell.
   */
  async function restarted(first: RowsMode, second: RowsMode, location: string | undefined): Promise<{ rows: string[]; explains: string[] }> {
    const build = (input: DataFrame): DataFrame => input.groupBy(col("user"), session_window(col("at"), "3 seconds")).agg(expr("count(*) as c"), expr("sum(v) as s"))
      .withColumn("mean", expr("s / c")).selectExpr("s", "session_window", "c", "user", "mean");
    return runAcrossSwitch(testSession, STAGE_SETTINGS, { schema, data, name: `possession_restart_${runs++}`, build, read: (rows): string[] => sorted(rows) }, first, second, location);
  }

  for (const [first, second] of [["off", "auto"], ["auto", "off"]] as const) {
    it(`written ${first === "off" ? "named" : "by position"}, restored ${second === "off" ? "named" : "by position"}: the table of a run never stopped`, async () => {
      const reference = await restarted("off", "off", undefined);
      const result = await restarted(first, second, join(folder(), `${first}-${second}`));
      assert.deepStrictEqual(result.rows, reference.rows);
      assert.equal(result.rows.length, new Set(reference.rows).size, "no session twice");
      for (const [index, mode] of [first, second].entries()) {
        if (mode === "auto") assert.match(result.explains[index] as string, OUT_BY_POSITION);
        else assert.doesNotMatch(result.explains[index] as string, /rows by position/);
      }
    });
  }
});
