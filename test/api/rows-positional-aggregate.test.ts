// The streaming aggregation by position in the default chained layout (rill.rows.positional auto): its actor decodes
// frames into arrays and reads the group key and aggregate inputs by index. Over real NATS, each query runs by
// position and named (off); the results must be the same, and plain code's. Keys hold nulls, NaN, -0, longs past
// 2^53, strings with U+0000 and structs; state written one way is restored the other way.
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

const schema = z.object({
  id: z.number().int(),
  k: z.string().nullable(),
  n: z.union([z.bigint(), z.number().int()]).nullable(),
  d: z.number().nullable(),
  at: z.date(),
});
type Input = z.input<typeof schema>;

const TEXTS = ["a", "a\u0000b", "\u0000", "a\u0000", "b\u0002\u0000c", "bb"];
const START = Date.UTC(2026, 0, 1);

/** Deterministic rows, in event-time order but for a few late ones in the second half. */
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
      k: next(7) === 0 ? null : (TEXTS[next(TEXTS.length)] as string),
      n: next(8) === 0 ? null : next(2) === 0 ? 2n ** 60n + BigInt(next(3)) : next(4),
      d: next(9) === 0 ? null : (next(400) - 200) / 4,
      at: new Date(START + (late ? id * 250 - 60_000 : id * 250)),
    };
  });
}

/** d with NaN and -0 mixed in (zod's number refuses NaN, so the query makes them). */
const WITH_ODD_DOUBLES = "case when id % 11 = 0 then cast('NaN' as double) when id % 13 = 0 then cast('-0' as double) when id % 17 = 0 then cast(0 as double) else d end as d";

interface RunResult {
  readonly rows: Row[];
  /** The aggregation's actors: whether they run by position, rows by position, rows run named. */
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

/** Runs `build` over `data` (in three parts) chained (the default), with rill.rows.positional = `mode`. */
async function run(mode: "auto" | "off", outputMode: "update" | "complete" | "append", data: readonly Input[], build: (input: DataFrame) => DataFrame): Promise<RunResult> {
  session = natsSession(server().options, { "rill.rows.positional": mode, "rill.shuffle.partitions": 2, "rill.flow.maxFrameRows": 32 });
  const name = `posagg_${runs++}_${mode}`;
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

/** Text that tells apart what deepStrictEqual does (NaN, -0, 5 and 5n, U+0000 in strings). */
const show = (value: unknown): string => inspect(value, { depth: 8, breakLength: Number.POSITIVE_INFINITY });

/** Update mode's rows as the table they describe: each group's last row (a group's rows come from one partition, in order). */
function latest(rows: readonly Row[], keys: readonly string[]): Row[] {
  const table = new Map<string, Row>();
  for (const row of rows) table.set(show(keys.map((key) => row[key])), row);
  return [...table.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

function sorted(rows: readonly Row[]): Row[] {
  return [...rows].sort((a, b) => (show(a) < show(b) ? -1 : show(a) > show(b) ? 1 : 0));
}

/** Both ways: the same rows (as `normalize` orders them); the positional run's aggregation ran every row by position. */
async function bothWays(outputMode: "update" | "complete" | "append", data: readonly Input[], build: (input: DataFrame) => DataFrame, normalize: (rows: readonly Row[]) => Row[]): Promise<RunResult> {
  const positional = await run("auto", outputMode, data, build);
  const named = await run("off", outputMode, data, build);
  assert.deepStrictEqual(normalize(positional.rows), normalize(named.rows), "the same rows by position and named");
  assert.ok(named.aggregates.every((actor) => !actor.positional && actor.byPosition === 0), JSON.stringify(named.aggregates));
  assert.ok(positional.aggregates.length === 2 && positional.aggregates.every((actor) => actor.positional && actor.named === 0), JSON.stringify(positional.aggregates));
  assert.ok(positional.aggregates.reduce((sum, actor) => sum + actor.byPosition, 0) > 0, JSON.stringify(positional.aggregates));
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

const data = rowsOf(600, 11);
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
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-posagg-"));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  /** Runs the first half with `first`, stops, restarts on the checkpoint with `second` for the rest; the complete table. */
  async function restarted(first: "auto" | "off", second: "auto" | "off", location: string | undefined): Promise<{ rows: Row[]; aggregates: RunResult["aggregates"] }> {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2, "rill.flow.maxFrameRows": 32 });
    const input = new MemoryStream(session, schema);
    const name = `posagg_restart_${runs++}`;
    const start = async (mode: "auto" | "off") => {
      session?.conf.set("rill.rows.positional", mode);
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
    const result = { rows: sorted(session.table(name).map((row) => ({ ...row }))), aggregates: aggregateActors(query) };
    await session.stop();
    session = undefined;
    return result;
  }

  for (const [first, second] of [["off", "auto"], ["auto", "off"]] as const) {
    it(`written ${first === "off" ? "named" : "by position"}, restored ${second === "off" ? "named" : "by position"}: the table of a run never stopped, no group twice`, async () => {
      const reference = await restarted("off", "off", undefined);
      const result = await restarted(first, second, join(folder, `${first}-${second}`));
      assert.deepStrictEqual(result.rows, reference.rows);
      assert.equal(result.rows.reduce((sum, row) => sum + (row.c as number), 0), data.length, "every row counted once");
      assert.equal(new Set(result.rows.map((row) => show([row.window, row.k, row.n]))).size, result.rows.length, "no group twice");
      assert.ok(result.aggregates.every((actor) => actor.positional === (second === "auto")), JSON.stringify(result.aggregates));
      if (second === "auto") assert.ok(result.aggregates.reduce((sum, actor) => sum + actor.byPosition, 0) > 0, JSON.stringify(result.aggregates));
    });
  }
});
