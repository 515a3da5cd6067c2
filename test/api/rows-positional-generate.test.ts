// Generators by position (rill.rows.positional auto): explode, explode_outer, posexplode and posexplode_outer copy the
// input's columns by index and store the element and its position at their places. Over real NATS, each query runs by
// position and named (off): the same rows. Arrays with nulls, empty and null arrays, missing fields; a generator after
// a filter and before an aggregation, in a chained source stage and in its own actor; after an aggregation (keyed rows,
// the group key last), and a checkpoint of that stage written named and restored by position.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { z } from "zod";
import { MemoryStream, array, col, explode, explode_outer, expr, from_json, posexplode, posexplode_outer, type Column, type DataFrame, type Row } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { useNatsSession } from "../helpers/session.ts";
import { assertRanByPosition, assertRanNamed, operatorActorRows, sourcesPositional, type ActorRows } from "../helpers/positional-actors.ts";
import { feedInParts, runAcrossSwitch, STAGE_SETTINGS, type RowsMode } from "../helpers/positional-run.ts";
import { latestByKey, sortedShows } from "../helpers/rows-canonical.ts";
import { seededInts } from "../helpers/seeded.ts";
import { useTempFolder } from "../helpers/temp-folder.ts";

const server = useNatsServer();
const testSession = useNatsSession(() => server().options);

const schema = z.object({ id: z.number().int(), grp: z.string().nullable(), tags: z.string().nullable() });
type Input = z.input<typeof schema>;

/** Each row's tags: a list with a null element, an empty list, a null list, no list, no JSON at all, one element. */
const TAGS: ReadonlyArray<string | null> = ['{"list": ["x", null, "y"]}', '{"list": []}', '{"list": null}', "{}", null, '{"list": ["z"]}', '{"list": ["y", "y", "x", "w"]}'];

function rowsOf(count: number, seed: number): Input[] {
  const next = seededInts(seed);
  return Array.from({ length: count }, (_, id) => ({ id, grp: next(6) === 0 ? null : `g${next(4)}`, tags: TAGS[next(TAGS.length)] as string | null }));
}

const data = rowsOf(500, 17);

interface RunResult {
  readonly rows: Row[];
  readonly operators: ActorRows[];
  readonly sourcesPositional: boolean[];
  readonly explain: string;
}

let runs = 0;

interface RunOptions {
  readonly chaining: boolean;
  readonly outputMode: "append" | "update";
}

/** The input with its tags parsed into `list` (ARRAY<STRING>). */
function parsed(input: DataFrame): DataFrame {
  return input.withColumn("list", from_json(col("tags"), "list ARRAY<STRING>").getField("list"));
}

async function run(mode: RowsMode, options: RunOptions, build: (input: DataFrame) => DataFrame): Promise<RunResult> {
  const session = testSession.open({ "rill.chaining": String(options.chaining), "rill.rows.positional": mode, ...STAGE_SETTINGS });
  const name = `posgen_${runs++}_${mode}`;
  const input = new MemoryStream(session, schema);
  const query = await build(input.toDF()).writeStream.queryName(name).format("memory").outputMode(options.outputMode).start();
  await feedInParts(input, query, data, 3);
  assert.equal(query.numRecoveries, 0);
  const result = { rows: session.table(name).map((row) => ({ ...row })), operators: operatorActorRows(query), sourcesPositional: sourcesPositional(query), explain: query.explain() };
  await testSession.stop();
  return result;
}

const sorted = (rows: readonly Row[]): string[] => sortedShows(rows);

/** Update mode's rows as the table they describe: each key's last row. */
function latest(keys: readonly string[]): (rows: readonly Row[]) => string[] {
  return (rows) => sortedShows(latestByKey(rows, keys));
}

/** The explain() text of the physical stage that holds the generate step. */
function generateStage(explain: string): string {
  const stage = explain.split(/\n(?=s\d+-)/).find((text) => /\n {4}generate: /.test(text));
  assert.ok(stage !== undefined, `a stage with generate:\n${explain}`);
  return stage;
}

/**
 * Both ways: the same rows; by position, the generator's stage says "rows by position" and ran every row by position
 * (its own actors unchained; the source's actor, which holds it, chained).
 */
async function bothWays(options: RunOptions, build: (input: DataFrame) => DataFrame, normalize: (rows: readonly Row[]) => string[] = sorted): Promise<RunResult> {
  const positional = await run("auto", options, build);
  const named = await run("off", options, build);
  assert.ok(named.rows.length > 0, "the query has rows");
  assert.deepStrictEqual(normalize(positional.rows), normalize(named.rows), "the same rows by position and named");
  assert.match(generateStage(positional.explain), /\n {4}rows by position/, positional.explain);
  assert.doesNotMatch(named.explain, /rows by position/);
  assertRanNamed(named.operators);
  const stage = generateStage(positional.explain).split(/\s/)[0] as string;
  if (stage.includes("-source-")) {
    assert.ok(positional.sourcesPositional.length > 0 && positional.sourcesPositional.every(Boolean), "the source stage holding the generator runs by position");
  } else {
    assertRanByPosition(positional.operators.filter((actor) => actor.name.startsWith(`${stage}.`)), undefined, positional.operators);
  }
  return positional;
}

const GENERATORS: ReadonlyArray<readonly [string, (column: Column) => Column]> = [["explode", explode], ["explode_outer", explode_outer], ["posexplode", posexplode], ["posexplode_outer", posexplode_outer]];

/** What Spark gives for one input row: each element (with its position), or one null row for an outer generator. */
function expectedRows(outer: boolean): number {
  return data.filter((row) => row.id % 7 !== 3).reduce((sum, row) => {
    const list = row.tags === null ? null : (JSON.parse(row.tags) as { list?: unknown[] | null }).list;
    const count = Array.isArray(list) ? list.length : 0;
    return sum + (count > 0 ? count : outer ? 1 : 0);
  }, 0);
}

for (const chaining of [false, true]) {
  describe(`generators by position, ${chaining ? "chained into the source's stage" : "each step its own actor"}`, () => {
    it("each generator after a filter, with an expression beside it: nulls in the array, empty and null arrays, the same rows both ways", async () => {
      for (const [name, generator] of GENERATORS) {
        const result = await bothWays({ chaining, outputMode: "append" }, (stream) => parsed(stream.where("id % 7 <> 3"))
          .select(col("id"), generator(col("list")).alias("tag"), expr("upper(grp) as g"), col("grp")));
        const outer = name.endsWith("_outer");
        assert.equal(result.rows.length, expectedRows(outer), name);
        assert.deepEqual(Object.keys(result.rows[0] ?? {}), name.startsWith("pos") ? ["id", "pos", "tag", "g", "grp"] : ["id", "tag", "g", "grp"], name);
        assert.ok(result.rows.some((row) => row.tag === null), `${name}: a null element (or an outer row) is kept`);
        if (outer) assert.ok(result.rows.some((row) => row.tag === null && (!name.startsWith("pos") || row.pos === null)), `${name}: an outer row`);
      }
    });

    it("withColumn replacing the array by its elements, selectExpr('*', posexplode_outer(...)), and a filter and projection after", async () => {
      await bothWays({ chaining, outputMode: "append" }, (stream) => parsed(stream).withColumn("list", explode_outer(col("list"))).where("list is null or list <> 'y'").selectExpr("list", "id + 1 as next"));
      await bothWays({ chaining, outputMode: "append" }, (stream) => parsed(stream).drop("tags").selectExpr("*", "posexplode_outer(list)").where("pos is null or pos > 0"));
    });

    it("a generator after a filter and before an aggregation: the same counts both ways", async () => {
      const result = await bothWays({ chaining, outputMode: "update" }, (stream) => parsed(stream.where("grp is not null"))
        .select(col("grp"), explode_outer(col("list")).alias("tag")).groupBy("tag").count(), latest(["tag"]));
      const tags = new Set(latest(["tag"])(result.rows));
      assert.ok(tags.size >= 5, [...tags].join("; "));
    });
  });
}

describe("a generator after an aggregation (keyed rows, the group key last)", () => {
  it("update mode: posexplode over an array of aggregates, run through the aggregation's output by position", async () => {
    const build = (stream: DataFrame): DataFrame => stream.groupBy("grp").agg(expr("count(*) as c"), expr("min(id) as lo"), expr("max(id) as hi"))
      .select(col("grp"), col("c"), posexplode(array(col("lo"), col("hi"))).alias("bound")).where("bound >= 0");
    const result = await bothWays({ chaining: true, outputMode: "update" }, build, latest(["grp", "pos"]));
    assert.match(result.explain, /rows by position into aggregate \(its input read by index\) and out of it by position/);
    const table = latest(["grp", "pos"])(result.rows);
    assert.equal(table.length, 2 * new Set(data.map((row) => row.grp)).size, table.join("\n"));
  });
});

describe("a checkpoint of the aggregation with a generator after it, written one way and restored the other", () => {
  const folder = useTempFolder("rill-posgen-");

  /** Runs the first half with `first`, stops, restarts on the checkpoint with `second` for the rest; the table and each run's explain(). */
  async function restarted(first: RowsMode, second: RowsMode, location: string | undefined): Promise<{ rows: string[]; explains: string[] }> {
    const build = (input: DataFrame): DataFrame => parsed(input).select(col("grp"), explode(col("list")).alias("tag")).groupBy("grp").agg(expr("count(*) as c"), expr("max(tag) as top"))
      .select(col("grp"), explode_outer(array(col("top"), expr("cast(c as string)"))).alias("v"));
    return runAcrossSwitch(testSession, STAGE_SETTINGS, { schema, data, name: `posgen_restart_${runs++}`, build, read: (rows): string[] => sorted(rows) }, first, second, location);
  }

  for (const [first, second] of [["off", "auto"], ["auto", "off"]] as const) {
    it(`written ${first === "off" ? "named" : "by position"}, restored ${second === "off" ? "named" : "by position"}: the table of a run never stopped`, async () => {
      const reference = await restarted("off", "off", undefined);
      const result = await restarted(first, second, join(folder(), `${first}-${second}`));
      assert.deepStrictEqual(result.rows, reference.rows);
      assert.ok(result.rows.length > 0);
      for (const [index, mode] of [first, second].entries()) {
        const explain = result.explains[index] as string;
        if (mode === "auto") {
          for (const stage of explain.split(/\n(?=s\d+-)/).filter((text) => /\n {4}generate: /.test(text))) assert.match(stage, /\n {4}rows by position/, explain);
        } else {
          assert.doesNotMatch(explain, /rows by position/);
        }
      }
    });
  }
});
