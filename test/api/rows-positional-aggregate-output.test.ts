// The streaming aggregation's output by position (rill.rows.positional auto): its actor reads its input by index and
// emits arrays in its output column order (grouping columns, aggregates, the group key of a keyed row), so the
// select/filter/withColumn after it run by position and its frames leave encoded from arrays. Over real NATS, each
// query runs by position and named (off): the same rows. State written one way is restored the other way.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { after, afterEach, before, describe, it } from "node:test";
import { z } from "zod";
import { MemoryStream, expr, type DataFrame, type Row, type Session, type StreamingQuery } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";
import { operatorActorRows } from "../helpers/positional-actors.ts";

const server = useNatsServer();

const schema = z.object({ id: z.number().int(), k: z.string().nullable(), n: z.union([z.bigint(), z.number().int()]).nullable(), d: z.number().nullable(), at: z.date() });
type Input = z.input<typeof schema>;

const START = Date.UTC(2026, 0, 1);

/** Deterministic rows in event-time order, but for a few late ones in the second half. */
function rowsOf(count: number, seed: number): Input[] {
  let state = seed;
  const next = (bound: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 16) % bound;
  };
  return Array.from({ length: count }, (_, id) => {
    const late = id > count / 2 && id % 23 === 0;
    return {
      id,
      k: next(7) === 0 ? null : ["a", "a\u0000b", "bb", "c"][next(4)] as string,
      n: next(8) === 0 ? null : next(2) === 0 ? 2n ** 60n + BigInt(next(3)) : next(4),
      d: next(9) === 0 ? null : (next(400) - 200) / 4,
      at: new Date(START + (late ? id * 250 - 60_000 : id * 250)),
    };
  });
}

const data = rowsOf(600, 29);
const OUT_BY_POSITION = /rows by position into aggregate \(its input read by index\) and out of it by position/;

interface RunResult {
  readonly rows: Row[];
  readonly aggregates: Array<{ name: string; positional: boolean; byPosition: number; named: number }>;
  readonly explain: string;
}

let session: Session | undefined;
afterEach(async () => {
  await session?.stop();
  session = undefined;
});

let runs = 0;

function aggregateActors(query: StreamingQuery): RunResult["aggregates"] {
  return operatorActorRows(query, "aggregate");
}

async function run(mode: "auto" | "off", outputMode: "update" | "complete" | "append", build: (input: DataFrame) => DataFrame): Promise<RunResult> {
  session = natsSession(server().options, { "rill.rows.positional": mode, "rill.shuffle.partitions": 2, "rill.flow.maxFrameRows": 32 });
  const name = `posout_${runs++}_${mode}`;
  const input = new MemoryStream(session, schema);
  const query = await build(input.toDF()).writeStream.queryName(name).format("memory").outputMode(outputMode).start();
  const third = Math.ceil(data.length / 3);
  for (let part = 0; part < 3; part++) {
    input.addData(data.slice(part * third, (part + 1) * third));
    await query.processAllAvailable();
  }
  assert.equal(query.numRecoveries, 0);
  const result = { rows: session.table(name).map((row) => ({ ...row })), aggregates: aggregateActors(query), explain: query.explain() };
  await session.stop();
  session = undefined;
  return result;
}

const show = (value: unknown): string => inspect(value, { depth: 8, breakLength: Number.POSITIVE_INFINITY });

function sorted(rows: readonly Row[]): Row[] {
  return [...rows].sort((a, b) => (show(a) < show(b) ? -1 : show(a) > show(b) ? 1 : 0));
}

/** Update mode's rows as the table they describe: each group's last row (a group's rows come from one partition, in order). */
function latest(keys: readonly string[]): (rows: readonly Row[]) => Row[] {
  return (rows) => {
    const table = new Map<string, Row>();
    for (const row of rows) table.set(show(keys.map((key) => row[key])), row);
    return sorted([...table.values()]);
  };
}

/** Both ways: the same rows; by position, the aggregation read every row by index and wrote its output by position. */
async function bothWays(outputMode: "update" | "complete" | "append", build: (input: DataFrame) => DataFrame, normalize: (rows: readonly Row[]) => Row[]): Promise<RunResult> {
  const positional = await run("auto", outputMode, build);
  const named = await run("off", outputMode, build);
  assert.ok(named.rows.length > 0, "the query has rows");
  assert.deepStrictEqual(normalize(positional.rows), normalize(named.rows), "the same rows by position and named");
  assert.match(positional.explain, OUT_BY_POSITION);
  assert.doesNotMatch(named.explain, /rows by position/);
  assert.ok(positional.aggregates.length === 2 && positional.aggregates.every((actor) => actor.positional && actor.named === 0), JSON.stringify(positional.aggregates));
  assert.ok(positional.aggregates.reduce((sum, actor) => sum + actor.byPosition, 0) > 0, JSON.stringify(positional.aggregates));
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
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-posout-"));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  /** Runs the first half with `first`, stops, restarts on the checkpoint with `second` for the rest; the complete table and each run's explain(). */
  async function restarted(first: "auto" | "off", second: "auto" | "off", location: string | undefined): Promise<{ rows: Row[]; explains: string[] }> {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2, "rill.flow.maxFrameRows": 32 });
    const input = new MemoryStream(session, schema);
    const name = `posout_restart_${runs++}`;
    const start = async (mode: "auto" | "off") => {
      session?.conf.set("rill.rows.positional", mode);
      const writer = input.toDF().withWatermark("at", "1 hour").groupBy(expr("window(at, '10 seconds')"), "k", "n").agg("count(*) as c", "sum(d) as s", "collect_list(n) as ns")
        .where("c > 0").withColumn("avg", expr("s / c")).writeStream.queryName(name).format("memory").outputMode("complete");
      return (location === undefined ? writer : writer.option("checkpointLocation", location)).start();
    };
    const half = data.length >> 1;
    let query = await start(first);
    const explains = [query.explain()];
    input.addData(data.slice(0, half));
    await query.processAllAvailable();
    if (location !== undefined) {
      await query.stop();
      query = await start(second);
      explains.push(query.explain());
    }
    input.addData(data.slice(half));
    await query.processAllAvailable();
    const result = { rows: sorted(session.table(name).map((row) => ({ ...row }))), explains };
    await session.stop();
    session = undefined;
    return result;
  }

  for (const [first, second] of [["off", "auto"], ["auto", "off"]] as const) {
    it(`written ${first === "off" ? "named" : "by position"}, restored ${second === "off" ? "named" : "by position"}: the table of a run never stopped`, async () => {
      const reference = await restarted("off", "off", undefined);
      const result = await restarted(first, second, join(folder, `${first}-${second}`));
      assert.deepStrictEqual(result.rows, reference.rows);
      assert.equal(result.rows.reduce((sum, row) => sum + (row.c as number), 0), data.length, "every row counted once");
      for (const [index, mode] of [first, second].entries()) {
        if (mode === "auto") assert.match(result.explains[index] as string, OUT_BY_POSITION);
        else assert.doesNotMatch(result.explains[index] as string, /rows by position/);
      }
    });
  }
});
