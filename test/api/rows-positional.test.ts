// Rows by position (rill.rows.positional): the same queries over real NATS with every operator in its own actor
// (rill.chaining=false, where frames sit between stateless operators), once by position and once named; the outputs,
// dead letters and the operators they name must be the same, and equal to plain code.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { MemoryStream, expr, type DataFrame, type Row, type StreamingQuery } from "../../src/index.ts";
import { watchDeadLetters } from "../helpers/dead-letters.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { useNatsSession } from "../helpers/session.ts";
import { assertRanNamed, operatorActorRows, type ActorRows } from "../helpers/positional-actors.ts";
import { feedInParts, type RowsMode } from "../helpers/positional-run.ts";
import { seededInts } from "../helpers/seeded.ts";

const server = useNatsServer();
const testSession = useNatsSession(() => server().options);

const schema = z.object({
  id: z.number().int(),
  a: z.string().nullable(),
  b: z.string().nullable(),
  big: z.union([z.bigint(), z.number().int()]).nullable(),
  d: z.number().nullable(),
  flag: z.boolean().nullable(),
  at: z.date().nullable(),
  p: z.string(),
});
type Input = z.input<typeof schema>;

const VALID = ["a+", "^b", "c$", "x|y"];
const INVALID = ["(", "[a"];

/** Deterministic rows with a null in every nullable column now and then, longs past 2^53, and bad patterns. */
function rowsOf(count: number, seed: number): Input[] {
  const next = seededInts(seed);
  const texts = ["aaa", "bcd", "abc", "xy", "z12", "ccc"];
  const maybe = <T>(value: T): T | null => (next(6) === 0 ? null : value);
  return Array.from({ length: count }, (_, id) => ({
    id,
    a: maybe(texts[next(texts.length)] as string),
    b: maybe(`b${next(50)}`),
    big: maybe(next(2) === 0 ? 2n ** 60n + BigInt(id) : id * 1000),
    d: maybe((next(2000) - 1000) / 8),
    flag: maybe(next(2) === 0),
    at: maybe(new Date(Date.UTC(2026, 0, 1) + id * 1000)),
    p: next(12) === 0 ? (INVALID[next(INVALID.length)] as string) : (VALID[next(VALID.length)] as string),
  }));
}

interface Letter {
  readonly operator: string;
  readonly source: string;
  readonly reason: string;
  readonly raw: string;
}

interface RunResult {
  readonly rows: Row[];
  readonly letters: Letter[];
  /** Each operator actor: whether it runs by position, its rows by position, its rows of frames it ran named. */
  readonly actors: ActorRows[];
  readonly explain: string;
}

let runs = 0;

/** Runs `build` over `data` (fed in two parts) with rill.rows.positional = `mode`, every operator its own actor. */
async function run(mode: RowsMode, data: readonly Input[], build: (input: DataFrame) => DataFrame, expectedLetters = 0): Promise<RunResult> {
  const session = testSession.open({ "rill.chaining": "false", "rill.rows.positional": mode, "rill.flow.maxFrameRows": 64 });
  const name = `positional_${runs++}_${mode}`;
  const watch = await watchDeadLetters<Letter>(server().options, name, expectedLetters);
  try {
    const input = new MemoryStream(session, schema);
    const query: StreamingQuery = await build(input.toDF()).writeStream.queryName(name).format("memory").outputMode("append").start();
    await feedInParts(input, query, data, 2);
    if (expectedLetters > 0) {
      // Letters travel on the session's connection after the commit: bounded, so a missing one fails with the count.
      await watch.arrived();
      assert.equal(watch.letters.length, expectedLetters, `dead letters (${mode})`);
    }
    const actors = operatorActorRows(query);
    assert.equal(query.numRecoveries, 0);
    return { rows: session.table(name), letters: watch.letters, actors, explain: query.explain() };
  } finally {
    await watch.close();
  }
}

/** Both ways: the same rows in the same order, and the same dead letters. Returns the positional run. */
async function bothWays(data: readonly Input[], build: (input: DataFrame) => DataFrame, expectedLetters = 0): Promise<RunResult> {
  const positional = await run("auto", data, build, expectedLetters);
  await testSession.stop();
  const named = await run("off", data, build, expectedLetters);
  assert.deepStrictEqual(positional.rows, named.rows, "the same rows by position and named");
  const letterOf = (letter: Letter) => ({ operator: letter.operator.replace(/^positional_\d+_\w+/, ""), reason: letter.reason, raw: letter.raw });
  assert.deepStrictEqual(positional.letters.map(letterOf), named.letters.map(letterOf), "the same dead letters");
  assertRanNamed(named.actors, "off: nothing runs by position");
  assert.ok(!named.explain.includes("rows by position"));
  return positional;
}

function positionalActors(result: RunResult): RunResult["actors"] {
  return result.actors.filter((actor) => actor.positional);
}

const data = rowsOf(400, 7);
const valid = (row: Input) => !INVALID.includes(row.p);

describe("rows by position in operator actors (rill.rows.positional)", () => {
  it("filter then select with two string columns swapped: plain code's rows, the same both ways", async () => {
    const result = await bothWays(data, (input) => input.where("d > 0 or flag").select("b", "a", "id", "big"));
    const expected = data.filter((row) => (row.d !== null && row.d > 0) || row.flag === true).map((row) => ({ b: row.b, a: row.a, id: row.id, big: row.big }));
    assert.deepStrictEqual(result.rows.map((row) => ({ ...row })), expected);
    assert.ok(expected.some((row) => row.a !== null && row.b !== null && row.a !== row.b), "the swapped columns hold different values");
    assert.ok(positionalActors(result).length >= 2, JSON.stringify(result.actors));
    assert.ok(positionalActors(result).every((actor) => actor.byPosition > 0 && actor.named === 0), JSON.stringify(result.actors));
    assert.match(result.explain, /rows by position/);
  });

  it("withColumn adding a column and replacing one from another of the same type, nulls kept", async () => {
    const result = await bothWays(data, (input) => input.withColumn("c", expr("concat(a, '-', b)")).where("id % 3 != 0").withColumn("a", expr("upper(b)")).select("id", "a", "b", "c"));
    const expected = data.filter((row) => row.id % 3 !== 0).map((row) => ({ id: row.id, a: row.b === null ? null : row.b.toUpperCase(), b: row.b, c: row.a === null || row.b === null ? null : `${row.a}-${row.b}` }));
    assert.deepStrictEqual(result.rows.map((row) => ({ ...row })), expected);
    assert.ok(expected.some((row) => row.c === null) && expected.some((row) => row.a === null), "nulls in the output");
    assert.ok(positionalActors(result).length >= 2 && positionalActors(result).every((actor) => actor.named === 0), JSON.stringify(result.actors));
  });

  it("every column type (string, long as bigint, double, boolean, timestamp, struct, array) crosses frames by position", async () => {
    const result = await bothWays(data, (input) => input
      .selectExpr("id", "at", "big", "d", "flag", "a", "named_struct('x', a, 'y', big) as st", "array(d, id) as arr")
      .where("id % 2 = 0"));
    assert.ok(positionalActors(result).length >= 2 && positionalActors(result).every((actor) => actor.byPosition > 0 && actor.named === 0), JSON.stringify(result.actors));
    const expected = data.filter((row) => row.id % 2 === 0);
    assert.equal(result.rows.length, expected.length);
    for (const [index, row] of result.rows.entries()) {
      const source = expected[index] as Input;
      assert.equal(row.id, source.id);
      assert.equal(row.at, source.at === null ? null : (source.at as Date).getTime());
      assert.deepStrictEqual(row.big, source.big);
      assert.equal(row.d, source.d);
      assert.equal(row.flag, source.flag);
      assert.equal(row.a, source.a);
      assert.deepStrictEqual(row.st, { x: source.a, y: source.big });
      assert.deepStrictEqual(row.arr, [source.d, source.id]);
    }
    assert.ok(result.rows.some((row) => typeof row.big === "bigint"), "longs past 2^53 as bigints");
  });

  it("a bad record (an invalid pattern from the record) goes to the dead letter as a named row, naming its operator, both ways", async () => {
    // A null text never reaches the pattern: only the bad rows with a text fail.
    const bad = data.filter((row) => !valid(row) && row.a !== null);
    assert.ok(bad.length > 10, `bad rows: ${bad.length}`);
    const result = await bothWays(data, (input) => input.selectExpr("id", "b", "a", "p").where("a rlike p").select("a", "b", "id"), bad.length);
    const expected = data.filter((row) => valid(row) && row.a !== null && new RegExp(row.p).test(row.a)).map((row) => ({ a: row.a, b: row.b, id: row.id }));
    assert.deepStrictEqual(result.rows.map((row) => ({ ...row })), expected);
    assert.equal(result.letters.length, bad.length);
    const filterStage = positionalActors(result).find((actor) => actor.name.includes("filter"));
    assert.ok(filterStage && filterStage.byPosition > 0, JSON.stringify(result.actors));
    for (const letter of result.letters) {
      assert.match(letter.operator, /^s\d+-filter\.0-filter\.p0$/, letter.operator);
      const raw = JSON.parse(letter.raw) as Record<string, unknown>;
      const source = data[raw.id as number] as Input;
      assert.ok(!valid(source));
      // The filter runs first (pushed below the selection): its input is the source's row, every column named.
      assert.deepStrictEqual(Object.keys(raw), ["id", "a", "b", "big", "d", "flag", "at", "p"], "the row as the filter's input names it");
      // A long past 2^53 is written digit for digit (before, a row holding one came out as "[object Object]").
      assert.ok(letter.raw.includes(`"big":${source.big === null ? "null" : String(source.big)}`), letter.raw);
      assert.equal(raw.a, source.a);
      assert.equal(raw.b, source.b);
      assert.equal(raw.p, source.p);
    }
  });

  it("frames whose columns come in another order than the schema's (a map's rows) run named, never mixed up", async () => {
    // The map's rows put b before a: the frames of the first half name [b, a, id], not the schema's [id, a, b], and
    // reading them by the schema's positions would swap a and b (and read id from b). In the second half every fifth
    // row puts id first, so those frames mix key orders and travel as msgpack with named rows.
    const mapped = z.object({ id: z.number().int(), a: z.string().nullable(), b: z.string().nullable() });
    const result = await bothWays(data, (input) => input
      .map((row) => (Number(row.id) >= 200 && Number(row.id) % 5 === 0 ? { id: row.id, b: row.b, a: row.a } : { b: row.b, a: row.a, id: row.id }), mapped)
      .where("id % 2 = 1").select("a", "b"));
    const expected = data.filter((row) => row.id % 2 === 1).map((row) => ({ a: row.a, b: row.b }));
    assert.deepStrictEqual(result.rows.map((row) => ({ ...row })), expected);
    const filter = result.actors.find((actor) => actor.name.includes("filter"));
    assert.ok(filter && filter.positional && filter.named === data.length && filter.byPosition === 0, JSON.stringify(result.actors));
  });

  it("a chain with a step that has no positional form (map) keeps that stage named", async () => {
    const result = await run("auto", data.slice(0, 50), (input) => input.where("id > 10").map((row) => ({ id: row.id }), z.object({ id: z.number().int() })));
    const map = result.actors.find((actor) => actor.name.includes("map"));
    assert.ok(map && !map.positional, JSON.stringify(result.actors));
    assert.deepStrictEqual(result.rows.map((row) => row.id), data.slice(11, 50).map((row) => row.id));
  });
});
