// withWatermark, dropDuplicates / dropDuplicatesWithinWatermark and window() by position (rill.rows.positional auto):
// the stateful pass-through steps read their columns by index into the named operator that keeps their state, and
// their rows go on by position. Over real NATS, each query runs by position and named (off): the same rows, the same
// late rows (named, on the late-data subject) and counts; a checkpoint written one way restores the other.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { z } from "zod";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { MemoryStream, col, expr, window, type DataFrame, type Row, type StreamingQuery } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { useNatsSession } from "../helpers/session.ts";
import { assertRanByPosition, assertRanNamed, operatorActorRows, sourcesPositional, type ActorRows } from "../helpers/positional-actors.ts";
import { feedInParts, STAGE_SETTINGS, type RowsMode } from "../helpers/positional-run.ts";
import { latestByKey, show, sortedShows as sorted } from "../helpers/rows-canonical.ts";
import { seededInts } from "../helpers/seeded.ts";
import { useTempFolder } from "../helpers/temp-folder.ts";

const server = useNatsServer();
const testSession = useNatsSession(() => server().options);

const schema = z.object({ id: z.number().int(), k: z.string().nullable(), n: z.union([z.bigint(), z.number().int()]).nullable(), at: z.date() });
type Input = z.input<typeof schema>;

const TEXTS = ["a", "a\u0000b", "\u0000", "b\u0002\u0000c", "bb"];
const START = Date.UTC(2026, 0, 1);

/**
 * Rows in event-time order, a copy of every fifth row (same key and time, another id), and in the second and third
 * thirds rows 60 s late: late whatever the timing, as the watermark of the third before has passed them.
 */
function rowsOf(count: number, seed: number): Input[] {
  const next = seededInts(seed);
  const rows: Input[] = [];
  for (let id = 0; id < count; id++) {
    const late = id > count / 3 && id % 23 === 0;
    const row = { id, k: next(6) === 0 ? null : (TEXTS[next(TEXTS.length)] as string), n: next(8) === 0 ? null : next(2) === 0 ? 2n ** 60n + BigInt(next(3)) : next(4), at: new Date(START + (late ? id * 250 - 60_000 : id * 250)) };
    rows.push(row);
    if (id % 5 === 0) rows.push({ ...row, id: id + 100_000 });
  }
  return rows;
}

const data = rowsOf(600, 5);

interface RunResult {
  readonly rows: Row[];
  /** The late rows published to the late-data subject: the operator (query name taken out) and the row. */
  readonly late: string[];
  readonly droppedByWatermark: number;
  readonly droppedDuplicates: number;
  readonly eventTimes: string[];
  readonly operators: ActorRows[];
  readonly sources: boolean[];
  readonly explain: string;
}

let runs = 0;

function actorsOf(query: StreamingQuery): { operators: ActorRows[]; sources: boolean[] } {
  return { operators: operatorActorRows(query), sources: sourcesPositional(query) };
}

/** Runs `build` over `data` in three parts, with rill.rows.positional = `mode`; late rows go to a subject of their own. */
async function run(mode: RowsMode, build: (input: DataFrame) => DataFrame, settings: Record<string, string | number> = {}, outputMode: "append" | "update" = "append"): Promise<RunResult> {
  const session = testSession.open({ "rill.rows.positional": mode, ...STAGE_SETTINGS, ...settings });
  const name = `posevt_${runs++}_${mode}`;
  const lateSubject = `posevt.late.${name}`;
  const watcher = await NatsTransport.connect(server().options);
  const late: string[] = [];
  watcher.subscribe(lateSubject, (payload) => {
    const message = JSON.parse(new TextDecoder().decode(payload)) as { operator: string; row: Row };
    late.push(show({ operator: message.operator.replace(/^.*?\.s/, "s"), row: message.row }));
  });
  await watcher.flush();
  try {
    const input = new MemoryStream(session, schema);
    const query = await build(input.toDF()).writeStream.queryName(name).format("memory").outputMode(outputMode).option("lateDataSubject", lateSubject).start();
    await feedInParts(input, query, data, 3);
    await watcher.flush();
    assert.equal(query.numRecoveries, 0);
    const progress = query.recentProgress;
    const droppedByWatermark = progress.reduce((sum, entry) => sum + entry.numRowsDroppedByWatermark, 0);
    const droppedDuplicates = progress.reduce((sum, entry) => sum + entry.stateOperators.reduce((total, operator) => total + (operator.numDroppedDuplicateRows ?? 0), 0), 0);
    // Epochs may cut the input differently from run to run: the earliest and latest event times seen, the last watermark.
    const times = progress.flatMap((entry) => [entry.eventTime.min, entry.eventTime.max]).filter((time): time is string => time !== undefined).sort();
    const eventTimes = [times[0] ?? "none", times[times.length - 1] ?? "none", progress[progress.length - 1]?.eventTime.watermark ?? "none"];
    return { rows: session.table(name).map((row) => ({ ...row })), late, droppedByWatermark, droppedDuplicates, eventTimes, ...actorsOf(query), explain: query.explain() };
  } finally {
    await watcher.close();
  }
}

/** Both ways: the same rows, late rows and counts; `stage` names the operator stage that must run by position. */
async function bothWays(build: (input: DataFrame) => DataFrame, stage: RegExp, settings: Record<string, string | number> = {}): Promise<RunResult> {
  const positional = await run("auto", build, settings);
  await testSession.stop();
  const named = await run("off", build, settings);
  assert.deepStrictEqual(sorted(positional.rows), sorted(named.rows), "the same rows by position and named");
  assert.deepStrictEqual([...positional.late].sort(), [...named.late].sort(), "the same late rows, named");
  assert.equal(positional.droppedByWatermark, named.droppedByWatermark);
  assert.equal(positional.droppedDuplicates, named.droppedDuplicates);
  assert.deepStrictEqual(positional.eventTimes, named.eventTimes, "the same event-time figures in progress (min, max, last watermark)");
  assertRanByPosition(positional.operators.filter((actor) => stage.test(actor.name)), undefined, positional.operators);
  assertRanNamed(named.operators);
  assert.doesNotMatch(named.explain, /rows by position/);
  return positional;
}

/** The stage of `step` in explain's physical plan says it runs its whole chain by position. */
function assertStageByPosition(explain: string, step: string): void {
  const stage = explain.split(/\n(?=s\d+-)/).find((text) => text.includes(`    ${step}: `));
  assert.ok(stage !== undefined, `a stage with ${step}:\n${explain}`);
  assert.match(stage, /\n {4}rows by position(\n|$)/, stage);
}

describe("dropDuplicates by position", () => {
  it("dropDuplicates on a key with the event time: the same rows, late rows (named) and duplicates dropped both ways", async () => {
    const result = await bothWays((input) => input.withWatermark("at", "5 seconds").dropDuplicates(["k", "at"]), /deduplicate/);
    assertStageByPosition(result.explain, "deduplicate");
    assert.ok(result.late.length > 5 && result.droppedDuplicates > 50, `late ${result.late.length}, duplicates ${result.droppedDuplicates}`);
    assert.equal(result.droppedByWatermark, result.late.length);
    assert.match(result.late[0] as string, /row: \{ id: \d+, k: .*, n: .*, at: \d+ \}/, "a late row is reported with its column names");
  });

  it("dropDuplicatesWithinWatermark and a chain after it (where, select): positional through the stage, the same both ways", async () => {
    const result = await bothWays((input) => input.withWatermark("at", "5 seconds").dropDuplicatesWithinWatermark(["k", "n"]).where("id % 3 != 1").select("at", "k", "id"), /deduplicate/);
    assertStageByPosition(result.explain, "deduplicate");
    assert.ok(result.rows.length > 10 && result.droppedDuplicates > 0, `rows ${result.rows.length}, duplicates ${result.droppedDuplicates}`);
    assert.deepStrictEqual(Object.keys(result.rows[0] as Row), ["at", "k", "id"]);
  });

  it("dropDuplicates without a watermark (state kept forever), keys of strings with U+0000 and longs past 2^53", async () => {
    const result = await bothWays((input) => input.dropDuplicates(["k", "n"]), /deduplicate/);
    const keys = new Set(data.map((row) => show([row.k, typeof row.n === "bigint" && row.n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(row.n) : row.n])));
    assert.equal(result.rows.length, keys.size, "one row a key");
  });
});

describe("withWatermark and window() by position", () => {
  it("withWatermark in the middle of a stateless chain, each step its own actor: by position, the same rows and event times", async () => {
    const result = await bothWays((input) => input.where("id % 4 != 3").withWatermark("at", "2 seconds").selectExpr("id", "at", "k"), /watermark/, { "rill.chaining": "false" });
    assertStageByPosition(result.explain, "watermark");
    assert.equal(result.rows.length, data.filter((row) => row.id % 4 !== 3).length);
  });

  it("scenario (b)'s shape after a shuffle: watermark, window and key projection by position before the windowed count", async () => {
    // dropDuplicates puts a shuffle first, so the watermark, the window and the key projection run in an operator stage.
    const build = (input: DataFrame) => input.dropDuplicates(["id"]).selectExpr("*", "cast(id as double) as d").withWatermark("at", "10 seconds")
      .groupBy(window(col("at"), "2 seconds"), col("k")).count();
    const counts = async (mode: RowsMode) => {
      const result = await run(mode, build, {}, "update");
      await testSession.stop();
      return { table: latestByKey(result.rows, ["window", "k"]).map(show), result };
    };
    const positional = await counts("auto");
    const named = await counts("off");
    assert.deepStrictEqual(positional.table, named.table);
    assert.deepStrictEqual(positional.result.eventTimes, named.result.eventTimes);
    assertStageByPosition(positional.result.explain, "deduplicate");
    assert.match(positional.result.explain, /window: window\(at, 2000 ms\)\n {4}project: grouping keys and aggregate inputs\n {4}rows by position\n/);
  });
});

describe("window() and the key projection by position in a CSV source stage", () => {
  const folder = useTempFolder("rill-posevt-csv-");

  it("sliding windows, an expression key and aggregate inputs (a string averaged as a double, an expression): the same table both ways", async () => {
    const T0 = Date.UTC(2026, 0, 1);
    const lines = Array.from({ length: 400 }, (_, id) => `${id},${id % 7 === 0 ? "" : `b${id % 4}`},${id % 9 === 0 ? "" : (id % 13) / 4},${id % 5}.5,${new Date(T0 + id * 137).toISOString()}`);
    await writeFile(join(folder(), "part-0.csv"), `${lines.join("\n")}\n`);
    const tables: string[][] = [];
    for (const mode of ["auto", "off"] as const) {
      const session = testSession.open({ "rill.rows.positional": mode, "rill.shuffle.partitions": 2 });
      const name = `posevt_csv_${runs++}`;
      const query = await session.readStream.schema("id INT, b STRING, d DOUBLE, s STRING, at TIMESTAMP").csv(folder()).withWatermark("at", "10 seconds")
        .groupBy(window(col("at"), "5 seconds", "2 seconds"), col("b"), expr("id % 3 as r")).agg("sum(d) as sd", "avg(s) as av", "count(*) as c", "max(d + id) as m")
        .writeStream.queryName(name).format("memory").outputMode("update").start();
      await query.processAllAvailable();
      tables.push(latestByKey(session.table(name), ["window", "b", "r"]).map(show));
      const explain = query.explain();
      const sourceStage = explain.split(/\n(?=s\d+-)/).find((text) => text.includes("source-csv")) as string;
      if (mode === "auto") {
        assert.deepStrictEqual(actorsOf(query).sources, [true]);
        assert.match(sourceStage, /project: grouping keys and aggregate inputs\n {4}rows by position$/, sourceStage);
      } else assert.doesNotMatch(explain, /rows by position/);
      await testSession.stop();
    }
    assert.ok((tables[0] as string[]).length > 100, `groups: ${(tables[0] as string[]).length}`);
    assert.deepStrictEqual(tables[0], tables[1]);
  });
});

describe("scenario (b) over the activity source", () => {
  it("its source stage (projection with a cast, withWatermark, window, key projection) runs by position; every row counted both ways", async () => {
    const counted: number[] = [];
    for (const mode of ["auto", "off"] as const) {
      const session = testSession.open({ "rill.rows.positional": mode });
      const name = `posevt_b_${runs++}`;
      const activity = session.readStream.format("activity").option("rowsPerSecond", 100_000).option("totalRows", 4000).option("numPartitions", 2).option("seed", 3).load();
      const query = await activity.selectExpr("*", "cast(cast(Creation_Time as double)/1000000000 as timestamp) as event_time").withWatermark("event_time", "10 seconds")
        .groupBy(window(col("event_time"), "1 second"), col("gt")).count().writeStream.queryName(name).format("memory").outputMode("update").start();
      for (let attempt = 0; query.status.numInputRows < 4000; attempt++) {
        assert.ok(attempt < 1000, `read ${query.status.numInputRows} of 4000 rows`);
        await query.processAllAvailable();
      }
      await query.processAllAvailable();
      counted.push(latestByKey(session.table(name), ["window", "gt"]).reduce((sum, row) => sum + (row.count as number), 0));
      const { sources } = actorsOf(query);
      const explain = query.explain();
      const sourceStage = explain.split(/\n(?=s\d+-)/).find((text) => text.includes("source-activity")) as string;
      if (mode === "auto") {
        assert.deepStrictEqual(sources, [true, true]);
        assert.match(sourceStage, /watermark: event_time minus 10000 ms\n {4}window: window\(event_time, 1000 ms\)\n {4}project: grouping keys and aggregate inputs\n {4}rows by position$/, sourceStage);
      } else {
        assert.deepStrictEqual(sources, [false, false]);
        assert.doesNotMatch(explain, /rows by position/);
      }
      await testSession.stop();
    }
    assert.deepStrictEqual(counted, [4000, 4000]);
  });
});

describe("a checkpoint written one way restored the other (withWatermark and dropDuplicates state)", () => {
  const folder = useTempFolder("rill-posevt-");

  const T0 = Date.UTC(2026, 0, 1);
  const line = (id: number, at: number) => `${id},b${id % 50},${new Date(at).toISOString()}`;
  /** 200 rows; then every one of them again (duplicates, within the watermark), 100 new ones and 20 late ones. */
  const first = Array.from({ length: 200 }, (_, id) => line(id, T0 + id * 100));
  const second = [...first.map((text) => `${text.split(",")[0] as string}9,${text.split(",").slice(1).join(",")}`), ...Array.from({ length: 100 }, (_, index) => line(200 + index, T0 + (200 + index) * 100)), ...Array.from({ length: 20 }, (_, index) => line(1000 + index, T0 - 100_000))];

  for (const [before_, after_] of [["off", "auto"], ["auto", "off"]] as const) {
    it(`written ${before_ === "off" ? "named" : "by position"}, restored ${after_ === "off" ? "named" : "by position"}: no key passes twice, late rows dropped, the rows of a run never stopped`, async () => {
      const input = join(folder(), `${before_}-${after_}-input`);
      await mkdir(input);
      await writeFile(join(input, "part-0.csv"), `${first.join("\n")}\n`);
      const seen: Row[] = [];
      const session = testSession.open({ "rill.shuffle.partitions": 2, "rill.flow.maxFrameRows": 16 });
      const start = (mode: RowsMode) => {
        session.conf.set("rill.rows.positional", mode);
        return session.readStream.schema("id INT, b STRING, at TIMESTAMP").csv(input).withWatermark("at", "60 seconds").dropDuplicates(["b", "at"])
          .writeStream.queryName(`posevt_restart_${runs++}`).option("checkpointLocation", join(folder(), `${before_}-${after_}-checkpoint`))
          .foreachBatch((rows) => void seen.push(...rows.map((row) => ({ ...row })))).start();
      };
      const one = await start(before_);
      await one.processAllAvailable();
      assert.ok(actorsOf(one).sources.every((positional) => positional === (before_ === "auto")));
      await one.stop();
      assert.equal(seen.length, 200);
      await writeFile(join(input, "part-1.csv"), `${second.join("\n")}\n`);
      const two = await start(after_);
      await two.processAllAvailable();
      const figures = actorsOf(two);
      assert.ok(figures.sources.every((positional) => positional === (after_ === "auto")), JSON.stringify(figures));
      if (after_ === "auto") assert.ok(figures.operators.filter((actor) => actor.name.includes("deduplicate")).reduce((sum, actor) => sum + actor.byPosition, 0) > 0, JSON.stringify(figures));
      const dropped = two.recentProgress.reduce((sum, entry) => sum + entry.numRowsDroppedByWatermark, 0);
      await two.stop();
      // The duplicates of the first file's keys are dropped by the restored state; the late rows by the restored watermark.
      assert.deepStrictEqual(seen.map((row) => row.id as number).sort((a, b) => a - b), Array.from({ length: 300 }, (_, id) => id));
      assert.equal(dropped, 20);
    });
  }
});
