// The stream-static join by position (rill.rows.positional auto): its actor reads the probe row's key and condition
// columns by index, holds the static rows as arrays and builds each output row as an array. Over real NATS, each
// query runs by position and named (off); the results must be the same. Every join type Spark allows on a stream,
// several matches, null keys, a column both sides name, conditions beyond the key, the static side on the left, and
// the YSB chain (filter, selectExpr, withWatermark, join, windowed count) with the join after other steps.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { z } from "zod";
import { jsonWithLongs } from "../../src/core/long.ts";
import { MemoryStream, col, expr, window, type DataFrame, type Row, type Session, type StreamingQuery } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { useNatsSession } from "../helpers/session.ts";
import { assertRanByPosition, assertRanNamed, operatorActorRows, sourcesPositional, type ActorRows } from "../helpers/positional-actors.ts";
import { feedInParts, type RowsMode } from "../helpers/positional-run.ts";
import { canonical, latestByKey } from "../helpers/rows-canonical.ts";
import { seededInts } from "../helpers/seeded.ts";
import { useTempFolder } from "../helpers/temp-folder.ts";

const server = useNatsServer();
const testSession = useNatsSession(() => server().options);

const readingSchema = z.object({ id: z.number().int(), device: z.string().nullable(), model: z.string().nullable(), v: z.number(), at: z.date() });
type Reading = z.input<typeof readingSchema>;
const START = Date.UTC(2026, 0, 1);

/**
 * Readings of devices d0..d7 (some null), each with a model of its own (a column the static side names too). A few rows
 * of the second half are 120 s late: behind the watermark the first half left (its last row's time less 10 s), so they
 * are late whatever the timing. (Rows only 15 s late were late or not depending on where the watermark stood when they
 * arrived, which made one way count a row the other dropped.)
 */
function readings(count: number, seed: number): Reading[] {
  const next = seededInts(seed);
  return Array.from({ length: count }, (_, id) => ({
    id,
    device: next(20) === 0 ? null : `d${next(8)}`,
    model: next(5) === 0 ? null : `r${next(3)}`,
    v: next(1000) / 10,
    at: new Date(START + id * 200 - (id >= count >> 1 && id % 17 === 0 ? 120_000 : 0)),
  }));
}

/** The static table: d2 twice, a null device, an unknown one; its columns in another order than the stream's. */
const DEVICES: Row[] = [
  { limit: 50, device: "d0", model: "m-a" }, { limit: 10, device: "d1", model: "m-b" }, { limit: 90, device: "d2", model: "m-a" },
  { limit: 20, device: "d2", model: "m-c" }, { limit: 70, device: "d3", model: "m-b" }, { limit: 40, device: "d4", model: "m-c" },
  { limit: 60, device: "d5", model: "m-a" }, { limit: 0, device: null, model: "m-null" }, { limit: 1, device: "d9", model: "m-z" },
];
const DEVICES_DDL = "limit LONG, device STRING, model STRING";

interface RunResult {
  readonly rows: Row[];
  /** The join's actors (their own stage when not chained): whether they run by position, rows by position, rows run named. */
  readonly joins: ActorRows[];
  readonly sourcesPositional: boolean[];
  readonly explain: string;
}

let runs = 0;

interface RunOptions {
  readonly chaining: boolean;
  readonly outputMode: "append" | "update";
  /** Reads the stream; a MemoryStream of `data` fed in two parts by default. */
  readonly read?: (session: Session) => DataFrame;
}

async function run(mode: RowsMode, options: RunOptions, data: readonly Reading[], build: (input: DataFrame, devices: DataFrame) => DataFrame): Promise<RunResult> {
  const session = testSession.open({ "rill.chaining": String(options.chaining), "rill.rows.positional": mode, "rill.shuffle.partitions": 2, "rill.flow.maxFrameRows": 64 });
  const name = `posjoin_${runs++}_${mode}`;
  const devices = session.createDataFrame(DEVICES, DEVICES_DDL);
  const input = options.read ? undefined : new MemoryStream(session, readingSchema);
  const stream = options.read ? options.read(session) : (input as MemoryStream<typeof readingSchema>).toDF();
  const query: StreamingQuery = await build(stream, devices).writeStream.queryName(name).format("memory").outputMode(options.outputMode).start();
  if (input) await feedInParts(input, query, data, 2);
  else await query.processAllAvailable();
  assert.equal(query.numRecoveries, 0);
  const result = { rows: session.table(name).map((row) => ({ ...row })), joins: operatorActorRows(query, "join"), sourcesPositional: sourcesPositional(query), explain: query.explain() };
  await testSession.stop();
  return result;
}

/** The explain() lines of the stage that holds the join step. */
function joinStage(explain: string): string {
  return stagesOf(explain).find((stage) => /\n\s+join: /.test(stage)) ?? "";
}

/** The explain() text of each physical stage (from its `s<n>-` line to the next's). */
function stagesOf(explain: string): string[] {
  const physical = explain.slice(explain.indexOf("== Physical plan"));
  return physical.split(/\n(?=\s*s\d+-)/).slice(1).map((stage) => stage.trim());
}

/** Both ways, the join in its own actors (rill.chaining=false): the same rows; the positional run's join ran every row by position. */
async function bothWays(data: readonly Reading[], build: (input: DataFrame, devices: DataFrame) => DataFrame, outputMode: "append" | "update" = "append", normalize: (rows: readonly Row[]) => string[] = canonical): Promise<RunResult> {
  const positional = await run("auto", { chaining: false, outputMode }, data, build);
  const named = await run("off", { chaining: false, outputMode }, data, build);
  assert.deepStrictEqual(normalize(positional.rows), normalize(named.rows), "the same rows by position and named");
  assert.ok(positional.rows.length > 0, "some rows");
  assert.ok(named.joins.length > 0, JSON.stringify(named.joins));
  assertRanNamed(named.joins);
  assertRanByPosition(positional.joins);
  assert.match(joinStage(positional.explain), /rows by position/, positional.explain);
  assert.doesNotMatch(named.explain, /rows by position/);
  return positional;
}

/** Update mode's rows as the table they describe: each key's last row. */
function latestRows(rows: readonly Row[], keys: readonly string[]): Row[] {
  return latestByKey(rows, keys, (key) => jsonWithLongs(key));
}

/** latestRows in canonical form, to compare. */
function latest(keys: readonly string[]): (rows: readonly Row[]) => string[] {
  return (rows) => canonical(latestRows(rows, keys));
}

const data = readings(900, 5);

describe("the stream-static join by position", () => {
  it("inner, left outer, left semi and left anti on a column list: several matches, null keys, a column both sides name; the same rows both ways", async () => {
    for (const how of ["inner", "left_outer", "left_semi", "left_anti"] as const) {
      const result = await bothWays(data, (stream, devices) => stream.join(devices, ["device"], how));
      const columns = Object.keys(result.rows[0] ?? {});
      assert.deepEqual(columns, how === "left_semi" || how === "left_anti" ? ["device", "id", "model", "v", "at"] : ["device", "id", "model", "v", "at", "limit", "model_right"], how);
      if (how === "left_outer") assert.ok(result.rows.some((row) => row.device === null && row.limit === null), "a null key kept, unmatched");
      if (how === "inner") assert.equal(result.rows.filter((row) => row.device === "d2").length, 2 * data.filter((row) => row.device === "d2").length, "d2 matches twice");
    }
  });

  it("conditions beyond the key over aliased sides (hashed equality and the rest), with no equality at all, and the static side on the left", async () => {
    const beyond = expr("r.device = d.device and r.v > d.limit and d.model <> r.model");
    await bothWays(data, (stream, devices) => stream.alias("r").join(devices.alias("d"), beyond, "left_outer"));
    await bothWays(data, (stream, devices) => stream.alias("r").join(devices.alias("d"), expr("r.v < d.limit and d.model = 'm-a'"), "inner"));
    await bothWays(data, (stream, devices) => devices.alias("d").join(stream.alias("r"), beyond, "inner"));
    await bothWays(data, (stream, devices) => devices.alias("d").join(stream.alias("r"), beyond, "right_outer"));
    // A USING key with the static side on the left: the key column is read from the static row where it matched.
    await bothWays(data, (stream, devices) => devices.join(stream, ["device"], "right_outer"));
    await bothWays(data, (stream, devices) => devices.join(stream.selectExpr("cast(id % 7 as long) as limit", "v"), ["limit"], "inner"));
  });

  it("the YSB chain, the join after a filter and a projection, into a windowed count: with and without withWatermark, the same counts both ways", async () => {
    const chain = (watermark: boolean) => (stream: DataFrame, devices: DataFrame): DataFrame => {
      const projected = stream.where("v > 5").selectExpr("device", "at");
      return (watermark ? projected.withWatermark("at", "10 seconds") : projected).join(devices, "device")
        .groupBy(window(col("at"), "10 seconds"), col("model")).count();
    };
    const matches = (row: Reading): number => DEVICES.filter((device) => device.device !== null && device.device === row.device).length;
    const lateRow = (row: Reading): boolean => row.id >= data.length >> 1 && row.id % 17 === 0;
    for (const watermark of [false, true]) {
      const result = await bothWays(data, chain(watermark), "update", latest(["window", "model"]));
      assert.ok(result.rows.some((row) => row.model === "m-c"), `watermark ${watermark}`);
      const counted = latestRows(result.rows, ["window", "model"]).reduce((sum, row) => sum + Number(row.count), 0);
      const expected = data.filter((row) => row.v > 5 && !(watermark && lateRow(row))).reduce((sum, row) => sum + matches(row), 0);
      assert.equal(counted, expected, `every joined row counted once, the late ones only without a watermark (watermark ${watermark})`);
    }
  });
});

describe("the stream-static join by position in a source stage (chained after a CSV source read by position)", () => {
  const folder = useTempFolder("rill-posjoin-");

  it("filter, selectExpr, join in the source's actor: the same rows both ways; with withWatermark in the chain, the same rows", async () => {
    const csv = (value: unknown): string => (value === null ? "" : value instanceof Date ? value.toISOString() : String(value));
    await writeFile(join(folder(), "part-0.csv"), `${data.map((row) => [row.id, row.device, row.model, row.v, row.at].map(csv).join(",")).join("\n")}\n`);
    const read = (s: Session) => s.readStream.schema("id INT, device STRING, model STRING, v DOUBLE, at TIMESTAMP").csv(folder());
    for (const watermark of [false, true]) {
      const build = (stream: DataFrame, devices: DataFrame): DataFrame => {
        const projected = stream.where("v > 5").selectExpr("at", "device", "v * 2 as v2");
        return (watermark ? projected.withWatermark("at", "10 seconds") : projected).join(devices, ["device"], "left_outer");
      };
      const positional = await run("auto", { chaining: true, outputMode: "append", read }, [], build);
      const named = await run("off", { chaining: true, outputMode: "append", read }, [], build);
      assert.deepStrictEqual(canonical(positional.rows), canonical(named.rows), `the same rows (watermark ${watermark})`);
      assert.equal(positional.rows.length, data.filter((row) => row.v > 5).length + data.filter((row) => row.v > 5 && row.device === "d2").length);
      const source = stagesOf(positional.explain).find((stage) => stage.startsWith("s0-")) ?? "";
      assert.match(source, /join: /);
      // withWatermark has a positional form (decision 67): the whole source stage runs by position either way.
      assert.match(source, /rows by position/, positional.explain);
      assert.ok(positional.sourcesPositional.every(Boolean));
    }
  });
});
