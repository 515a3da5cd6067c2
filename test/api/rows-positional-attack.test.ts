// Rows by position and frame layout 2 under hostile inputs, over real NATS: every query runs by position and named,
// with frames written in layout 2 and in layout 1, at frame sizes around layout 2's threshold (3, 4 and 5 rows), and
// every run must give the rows plain code gives (Spark's answer for these pass-through and projection queries).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import { z } from "zod";
import { setFrameLayout } from "../../src/actors/codec.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { OperatorActor } from "../../src/actors/operator-actor.ts";
import type { QueryRuntime } from "../../src/actors/runtime.ts";
import { MemoryStream, expr, type DataFrame, type Row, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();

let session: Session | undefined;
afterEach(async () => {
  await session?.stop();
  session = undefined;
  setFrameLayout(2);
});

interface Setting {
  readonly mode: "auto" | "off";
  readonly layout: 1 | 2;
  readonly frameRows: number;
}

interface Result {
  readonly rows: Row[];
  readonly positionalRows: number;
}

let runs = 0;

async function run<S extends z.ZodRawShape>(setting: Setting, schema: z.ZodObject<S>, data: ReadonlyArray<z.input<z.ZodObject<S>>>, build: (input: DataFrame) => DataFrame, config: Record<string, string | number> = {}): Promise<Result> {
  setFrameLayout(setting.layout);
  session = natsSession(server().options, { "rill.chaining": "false", "rill.rows.positional": setting.mode, "rill.flow.maxFrameRows": setting.frameRows, ...config });
  const name = `attack_${runs++}`;
  try {
    const input = new MemoryStream(session, schema);
    const query = await build(input.toDF()).writeStream.queryName(name).format("memory").outputMode("append").start();
    input.addData(data.slice(0, data.length >> 1));
    await query.processAllAvailable();
    input.addData(data.slice(data.length >> 1));
    await query.processAllAvailable();
    assert.equal(query.numRecoveries, 0);
    const runtime = (query as unknown as { runtime: QueryRuntime }).runtime;
    const positionalRows = runtime.actors.filter((actor): actor is OperatorActor => actor instanceof OperatorActor).reduce((sum, actor) => sum + actor.positionalRows, 0);
    return { rows: session.table(name).map((row) => ({ ...row })), positionalRows };
  } finally {
    await session.stop();
    session = undefined;
    setFrameLayout(2);
  }
}

const SETTINGS: readonly Setting[] = [3, 4, 5].flatMap((frameRows) => (["auto", "off"] as const).flatMap((mode) => ([2, 1] as const).map((layout) => ({ mode, layout, frameRows }))));

/** Every setting gives `expected`; by position at least once where positional rows are expected. */
async function everyWay<S extends z.ZodRawShape>(schema: z.ZodObject<S>, data: ReadonlyArray<z.input<z.ZodObject<S>>>, build: (input: DataFrame) => DataFrame, expected: readonly Row[], settings: readonly Setting[] = SETTINGS): Promise<void> {
  const failures: string[] = [];
  for (const setting of settings) {
    const result = await run(setting, schema, data, build);
    try {
      assert.deepStrictEqual(result.rows, expected);
    } catch {
      const wrong = result.rows.length !== expected.length ? [`${result.rows.length} rows for ${expected.length}`] : result.rows.flatMap((row, index) => {
        try {
          assert.deepStrictEqual(row, expected[index]);
          return [];
        } catch {
          return [`${describeRow(row)} for ${describeRow(expected[index] as Row)}`];
        }
      });
      failures.push(`${JSON.stringify(setting)}: ${wrong.length} wrong: ${wrong.slice(0, 4).join("; ")}`);
    }
    if (setting.mode === "auto") assert.ok(result.positionalRows > 0, `rows by position with ${JSON.stringify(setting)}`);
    else assert.equal(result.positionalRows, 0);
  }
  assert.deepStrictEqual(failures, [], failures.join("\n"));
}

function describeRow(row: Row): string {
  return `{${Object.entries(row).map(([key, value]) => `${key}: ${Object.is(value, -0) ? "-0" : typeof value === "bigint" ? `${value}n` : typeof value === "number" ? String(value) : JSON.stringify(value)}`).join(", ")}}`;
}

/** Values of every kind a column of type any can hold, in runs of equal kind, so frames see a column change kind. */
const ODD_VALUES: readonly unknown[] = [
  0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 1.5,
  Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, -(2 ** 60), 5e-324,
  2n ** 60n, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n,
  "", "é", "𝄞 clef", "\u0000", "a\u0000b", "x".repeat(300), "日本語", "",
  true, false, true, false,
  null, null, null, null,
  { x: 1, y: [1, 2, { z: "q" }] }, [1, "a", null], [], {}, { nested: { deeper: [[1], [2, [3]]] } },
];

describe("rows by position and frame layout 2, attacked", () => {
  it("a column of type any whose kind changes from frame to frame (ints, -0, NaN, longs past 2^53, strings, nulls, nested values) passes a positional filter and projection unchanged", async () => {
    const schema = z.object({ id: z.number().int(), v: z.unknown(), s: z.string().nullable() });
    // Runs of one kind (each value 4 times), then a mixed tail: frames of one kind and frames of many.
    const data = [
      ...ODD_VALUES.flatMap((value, index) => Array.from({ length: 4 }, (_, copy) => ({ id: index * 4 + copy, v: value, s: copy === 3 ? null : `s${index % 3}` }))),
      ...ODD_VALUES.map((value, index) => ({ id: 1000 + index, v: value, s: "" })),
    ];
    const expected: Row[] = data
      .filter((row) => row.id % 7 !== 3)
      .map((row) => {
        // A bigint within 2^53 is a long that travels as a number (src/core/long.ts).
        const v = typeof row.v === "bigint" && row.v <= BigInt(Number.MAX_SAFE_INTEGER) && row.v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(row.v) : row.v;
        return { id: row.id, v, w: v, s2: row.s, id2: row.id * 2 };
      });
    await everyWay(schema, data, (input) => input
      .where("id % 7 != 3")
      .withColumn("w", expr("v"))
      .withColumn("id2", expr("id * 2"))
      .drop("nonexistent")
      .withColumnRenamed("s", "s2")
      .select("id", "v", "w", "s2", "id2"), expected);
  });
});

describe("rows by position and frame layout 2, attacked (more)", () => {
  it("doubles: -0, NaN and infinities through a positional filter and projection keep their bits, and compare as Spark's", async () => {
    // NaN and the infinities are not valid zod numbers: they come from cast(text as double), in the positional stage.
    const schema = z.object({ id: z.number().int(), d: z.number().nullable(), t: z.string() });
    const doubles = [0, -0, 1.5, -2.25, null, 2 ** 31, -(2 ** 31), 2 ** 53, 1e308, 5e-324];
    const texts = ["NaN", "Infinity", "-Infinity", "-0", "0", "1e400", "x"];
    const data = Array.from({ length: 96 }, (_, id) => ({ id, d: doubles[(id * 5) % doubles.length] as number | null, t: texts[id % texts.length] as string }));
    const cast = (text: string): number | null => (text === "x" ? null : Number(text));
    const expected = data.filter((row) => row.id % 5 !== 1).map((row) => {
      const e = cast(row.t);
      return { d: row.d, neg: row.d === null ? null : -row.d, id: row.id, zero: row.d === null ? null : row.d === 0, e, nege: e === null ? null : -e };
    });
    await everyWay(schema, data, (input) => input
      .where("id % 5 != 1")
      .selectExpr("d", "-d as neg", "id", "d = 0 as zero", "cast(t as double) as e")
      .withColumn("nege", expr("-e")), expected);
  });

  it("=, !=, <, <=, >, >= between doubles holding NaN, in a positional filter and projection, answer as Spark's (NaN = NaN, NaN above all)", async () => {
    const schema = z.object({ id: z.number().int(), t: z.string(), u: z.string() });
    const texts = ["NaN", "1", "-Infinity", "Infinity", "x", "0", "-0"];
    // Every pair of texts, twice: NaN against NaN, against each number, against null.
    const data = Array.from({ length: 98 }, (_, id) => ({ id, t: texts[id % 7] as string, u: texts[Math.floor(id / 7) % 7] as string }));
    const cast = (text: string): number | null => (text === "x" ? null : Number(text));
    // Spark's order of doubles: NaN after every other value and equal to itself.
    const order = (a: number, b: number): number => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a < b ? -1 : a > b ? 1 : 0);
    const expected = data.flatMap((row) => {
      const e = cast(row.t);
      const f = cast(row.u);
      const o = e === null || f === null ? null : order(e, f);
      const is = (test: (o: number) => boolean): boolean | null => (o === null ? null : test(o));
      if (o === null || o > 0) return [];
      return [{ id: row.id, eq: is((x) => x === 0), ne: is((x) => x !== 0), lt: is((x) => x < 0), le: is((x) => x <= 0), gt: is((x) => x > 0), ge: is((x) => x >= 0) }];
    });
    await everyWay(schema, data, (input) => input
      .selectExpr("id", "cast(t as double) as e", "cast(u as double) as f")
      .where("e <= f")
      .selectExpr("id", "e = f as eq", "e != f as ne", "e < f as lt", "e <= f as le", "e > f as gt", "e >= f as ge"), expected);
  });

  it("rows of 300 columns (past 255, and past the gather slots) through a positional projection, filter and select", async () => {
    const schema = z.object({ id: z.number().int(), s: z.string().nullable() });
    const data = Array.from({ length: 40 }, (_, id) => ({ id, s: id % 4 === 0 ? null : `s${id % 9}` }));
    const WIDTH = 300;
    const columns = Array.from({ length: WIDTH }, (_, column) => (column % 3 === 0 ? `id + ${column} as c${column}` : column % 3 === 1 ? `concat(s, '${column}') as c${column}` : `id * ${column} / 2 as c${column}`));
    const picked = [299, 0, 256, 255, 1, 128, 2];
    const expected = data.filter((row) => row.id % 3 !== 0).map((row) => Object.fromEntries(picked.map((column) => [`c${column}`, column % 3 === 0 ? row.id + column : column % 3 === 1 ? (row.s === null ? null : `${row.s}${column}`) : (row.id * column) / 2])));
    await everyWay(schema, data, (input) => input
      .selectExpr(...columns)
      .where("c0 % 3 != 0")
      .select(...picked.map((column) => `c${column}`)), expected, SETTINGS.filter((setting) => setting.frameRows !== 3));
  });

  it("a frame with more than 65,535 distinct strings (wide codes) passes a positional stage intact", async () => {
    // Each half of the input is one frame of 35,000 rows and 70,000 distinct strings (short, to stay under 1 MB).
    const schema = z.object({ a: z.string(), b: z.string().nullable() });
    const ROWS = 70_000;
    const data = Array.from({ length: ROWS }, (_, id) => ({ a: String(id), b: id % 1000 === 7 ? null : `-${id}` }));
    const expected = data.filter((row) => !row.a.endsWith("9")).map((row) => ({ b: row.b, a: row.a }));
    for (const layout of [2, 1] as const) {
      for (const mode of ["auto", "off"] as const) {
        const result = await run({ mode, layout, frameRows: ROWS }, schema, data, (input) => input.where("a not like '%9'").select("b", "a"), { "rill.flow.window": ROWS * 2 });
        assert.equal(result.rows.length, expected.length);
        assert.deepStrictEqual(result.rows, expected, `layout ${layout}, ${mode}`);
      }
    }
  });

  it("withColumn over an existing column with another type, drop of a missing column, rename to another case, case-insensitive references", async () => {
    const schema = z.object({ id: z.number().int(), a: z.string().nullable(), n: z.number().nullable() });
    const data = Array.from({ length: 60 }, (_, id) => ({ id, a: id % 6 === 0 ? null : `v${id % 4}`, n: id % 7 === 0 ? null : id / 4 }));
    const expected = data.filter((row) => row.id > 2).map((row) => ({ ID: row.id, a: row.a === null ? null : row.a.length + row.id, N2: row.n === null ? null : row.n * 2 }));
    await everyWay(schema, data, (input) => input
      .where("ID > 2")
      .withColumn("a", expr("length(A) + Id"))
      .drop("missing", "also_missing")
      .withColumn("N2", expr("N * 2"))
      .drop("n")
      .withColumnRenamed("id", "ID")
      .select("ID", "a", "N2"), expected);
  });

  it("unionByName of two sources with their columns in other orders, then a positional filter and projection", async () => {
    const left = z.object({ id: z.number().int(), a: z.string().nullable(), d: z.number() });
    const right = z.object({ d: z.number(), a: z.string().nullable(), id: z.number().int() });
    for (const mode of ["auto", "off"] as const) {
      for (const layout of [2, 1] as const) {
        setFrameLayout(layout);
        session = natsSession(server().options, { "rill.chaining": "false", "rill.rows.positional": mode, "rill.flow.maxFrameRows": 4 });
        const name = `attack_union_${runs++}`;
        const first = new MemoryStream(session, left);
        const second = new MemoryStream(session, right);
        const query = await first.toDF().unionByName(second.toDF()).where("id % 2 = 0").select("a", "id", "d").writeStream.queryName(name).format("memory").outputMode("append").start();
        first.addData(Array.from({ length: 30 }, (_, id) => ({ id, a: `L${id}`, d: id + 0.5 })));
        second.addData(Array.from({ length: 30 }, (_, id) => ({ d: -id - 0.25, a: id % 5 === 0 ? null : `R${id}`, id: 100 + id })));
        await query.processAllAvailable();
        const rows = session.table(name).map((row) => ({ ...row })).sort((x, y) => (x.id as number) - (y.id as number));
        const expected = [
          ...Array.from({ length: 15 }, (_, index) => ({ a: `L${index * 2}`, id: index * 2, d: index * 2 + 0.5 })),
          ...Array.from({ length: 15 }, (_, index) => ({ a: (index * 2) % 5 === 0 ? null : `R${index * 2}`, id: 100 + index * 2, d: -index * 2 - 0.25 })),
        ];
        assert.deepStrictEqual(rows, expected, `${mode}, layout ${layout}`);
        await session.stop();
        session = undefined;
      }
    }
  });
});

describe("union by position", () => {
  it("of two sources whose string columns come in swapped order puts the second's values by position, as Spark does, through positional stages", async () => {
    const left = z.object({ id: z.number().int(), a: z.string(), b: z.string().nullable() });
    const right = z.object({ id: z.number().int(), b: z.string().nullable(), a: z.string() });
    const expected = [
      ...Array.from({ length: 20 }, (_, id) => ({ id, a: `La${id}`, b: id % 4 === 0 ? null : `Lb${id}` })),
      // Spark's union matches columns by position: the second input's b lands in a, its a in b.
      ...Array.from({ length: 20 }, (_, id) => ({ id: 100 + id, a: id % 4 === 0 ? null : `Rb${id}`, b: `Ra${id}` })),
    ].filter((row) => row.id % 3 !== 0).map((row) => ({ b: row.b, a: row.a, id: row.id }));
    for (const mode of ["auto", "off"] as const) {
      for (const layout of [2, 1] as const) {
        setFrameLayout(layout);
        session = natsSession(server().options, { "rill.chaining": "false", "rill.rows.positional": mode, "rill.flow.maxFrameRows": 4 });
        const name = `attack_union_position_${runs++}`;
        const first = new MemoryStream(session, left);
        const second = new MemoryStream(session, right);
        const query = await first.toDF().union(second.toDF()).where("id % 3 != 0").select("b", "a", "id").writeStream.queryName(name).format("memory").outputMode("append").start();
        first.addData(Array.from({ length: 20 }, (_, id) => ({ id, a: `La${id}`, b: id % 4 === 0 ? null : `Lb${id}` })));
        second.addData(Array.from({ length: 20 }, (_, id) => ({ id: 100 + id, b: id % 4 === 0 ? null : `Rb${id}`, a: `Ra${id}` })));
        await query.processAllAvailable();
        const rows = session.table(name).map((row) => ({ ...row })).sort((x, y) => (x.id as number) - (y.id as number));
        assert.deepStrictEqual(rows, expected, `${mode}, layout ${layout}`);
        await session.stop();
        session = undefined;
      }
    }
  });
});

describe("positional stages before a shuffle", () => {
  // The aggregation's key projection runs named and routes; a positional stage's own routing is tested with dropDuplicates below.
  it("a 3-partition aggregation after positional stages (keys of mixed kinds) has plain code's groups", async () => {
    const schema = z.object({ id: z.number().int(), k: z.unknown(), x: z.number() });
    const keys: readonly unknown[] = [0, -0, 1, 1.5, "1", "", "é", null, true, 2n ** 60n, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, "k"];
    const data = Array.from({ length: 260 }, (_, id) => ({ id, k: keys[(id * 7) % keys.length], x: id % 9 }));
    const groups = new Map<string, { k: unknown; n: number; total: number }>();
    for (const row of data.filter((candidate) => candidate.x !== 4)) {
      // Spark groups 0 and -0 together (normalized); a long and a double of one value are one number here too.
      const label = typeof row.k === "string" ? `s${row.k}` : row.k === null ? "null" : `${typeof row.k}:${String(row.k)}`;
      const group = groups.get(label) ?? { k: Object.is(row.k, -0) ? 0 : row.k, n: 0, total: 0 };
      group.n++;
      group.total += row.x * 2;
      groups.set(label, group);
    }
    const order = (rows: readonly Row[]) => [...rows].sort((a, b) => (a.n as number) - (b.n as number) || (a.total as number) - (b.total as number));
    for (const mode of ["auto", "off"] as const) {
      for (const layout of [2, 1] as const) {
        setFrameLayout(layout);
        session = natsSession(server().options, { "rill.chaining": "false", "rill.rows.positional": mode, "rill.flow.maxFrameRows": 5, "rill.shuffle.partitions": 3 });
        const name = `attack_agg_${runs++}`;
        const input = new MemoryStream(session, schema);
        const query = await input.toDF().where("x != 4").selectExpr("k", "x * 2 as x2").groupBy("k").agg("count(*) as n", "sum(x2) as total").writeStream.queryName(name).format("memory").outputMode("complete").start();
        input.addData(data.slice(0, 130));
        await query.processAllAvailable();
        input.addData(data.slice(130));
        await query.processAllAvailable();
        const runtime = (query as unknown as { runtime: QueryRuntime }).runtime;
        const positional = runtime.actors.filter((actor): actor is OperatorActor => actor instanceof OperatorActor).reduce((sum, actor) => sum + actor.positionalRows, 0);
        assert.ok(mode === "off" ? positional === 0 : positional > 0, `${mode}: ${positional} rows by position`);
        const rows = order(session.table(name).map((row) => ({ k: row.k, n: row.n, total: row.total })));
        assert.deepStrictEqual(rows, order([...groups.values()]), `${mode}, layout ${layout}`);
        await session.stop();
        session = undefined;
      }
    }
  });
});

describe("bad records from a positional projection", () => {
  it("go to the dead letter named by the projection's input columns, with the projection's id and the reason, the same by position and named in both layouts", async () => {
    const schema = z.object({ id: z.number().int(), a: z.string().nullable(), p: z.string() });
    const patterns = ["a+", "(", "^b", "[x", "c$"];
    const data = Array.from({ length: 80 }, (_, id) => ({ id, a: id % 11 === 0 ? null : ["aaa", "bcd", "ccc"][id % 3] as string, p: patterns[id % patterns.length] as string }));
    const bad = data.filter((row) => row.a !== null && (row.p === "(" || row.p === "[x") && row.id % 4 !== 0);
    const good = data.filter((row) => row.id % 4 !== 0 && !bad.includes(row));
    const expectedRows = good.map((row) => ({ p: row.p, a: row.a, id: row.id, m: row.a === null ? null : new RegExp(row.p).test(row.a) }));
    let reference: string[] | undefined;
    for (const mode of ["auto", "off"] as const) {
      for (const layout of [2, 1] as const) {
        setFrameLayout(layout);
        session = natsSession(server().options, { "rill.chaining": "false", "rill.rows.positional": mode, "rill.flow.maxFrameRows": 6 });
        const name = `attack_letters_${runs++}`;
        const watcher = await NatsTransport.connect(server().options);
        const letters: Array<{ operator: string; reason: string; raw: string }> = [];
        let arrived: () => void = () => undefined;
        const all = new Promise<void>((resolve) => (arrived = resolve));
        watcher.subscribe(`rill.${name}.deadletter`, (payload) => {
          letters.push(JSON.parse(new TextDecoder().decode(payload)) as { operator: string; reason: string; raw: string });
          if (letters.length >= bad.length) arrived();
        });
        await watcher.flush();
        try {
          const input = new MemoryStream(session, schema);
          const query = await input.toDF().where("id % 4 != 0").selectExpr("p", "a", "id").withColumn("m", expr("a rlike p")).writeStream.queryName(name).format("memory").outputMode("append").start();
          input.addData(data);
          await query.processAllAvailable();
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, 10_000)))]);
          clearTimeout(timer);
          assert.deepStrictEqual(session.table(name).map((row) => ({ ...row })), expectedRows, `${mode}, layout ${layout}`);
          assert.equal(letters.length, bad.length, `${mode}, layout ${layout}`);
          const runtime = (query as unknown as { runtime: QueryRuntime }).runtime;
          const positional = runtime.actors.filter((actor): actor is OperatorActor => actor instanceof OperatorActor).reduce((sum, actor) => sum + actor.positionalRows, 0);
          assert.ok(mode === "off" ? positional === 0 : positional > 0);
          const described = letters.map((letter) => `${letter.operator.replace(/^.*?(s\d+-)/, "$1")} | ${letter.reason} | ${letter.raw}`).sort();
          for (const letter of letters) {
            assert.match(letter.operator, /s\d+-project\.0-project\.p0$/, letter.operator);
            const raw = JSON.parse(letter.raw) as Record<string, unknown>;
            assert.deepStrictEqual(Object.keys(raw), ["p", "a", "id"], letter.raw);
            assert.ok(bad.some((row) => row.id === raw.id && row.a === raw.a && row.p === raw.p), letter.raw);
            assert.match(letter.reason, /Invalid regular expression/);
          }
          reference ??= described;
          assert.deepStrictEqual(described, reference, `${mode}, layout ${layout}: the letters of the first run`);
        } finally {
          await watcher.close();
          await session.stop();
          session = undefined;
        }
      }
    }
  });
});

describe("column names that look like array indexes", () => {
  it("columns named '1' and '0' after a named one keep their values through positional stages", async () => {
    const schema = z.object({ id: z.number().int(), a: z.string() });
    const data = Array.from({ length: 24 }, (_, id) => ({ id, a: `a${id}` }));
    const expected = data.filter((row) => row.id % 3 !== 0).map((row) => ({ b: row.a, 1: row.id, 0: row.id * 2 }));
    await everyWay(schema, data, (input) => input
      .withColumn("twice", expr("id * 2"))
      .withColumnRenamed("a", "b")
      .withColumnRenamed("id", "1")
      .withColumnRenamed("twice", "0")
      .select("b", "1", "0")
      .where("b != 'a0' and b != 'a3' and b != 'a6' and b != 'a9' and b != 'a12' and b != 'a15' and b != 'a18' and b != 'a21'"), expected);
  });
});

describe("known faults (todo: pre-existing, not from rows by position or layout 2)", () => {
  it("-0.0 inside an array (a packed column, msgpack) keeps its sign, as Spark's array(d) does", { todo: "msgpackr packs -0 as the integer 0: packed columns (arrays, structs, mixed any columns) lose the sign" }, async () => {
    const schema = z.object({ id: z.number().int(), d: z.number() });
    const data = Array.from({ length: 8 }, (_, id) => ({ id, d: id % 2 === 0 ? -0 : 1.5 }));
    const expected = data.map((row) => ({ id: row.id, arr: [row.d, 2.5] }));
    await everyWay(schema, data, (input) => input.selectExpr("id", "array(d, 2.5) as arr").where("id >= 0"), expected, SETTINGS.filter((setting) => setting.frameRows === 4));
  });
});

describe("param() in a positional stage", () => {
  it("takes the parameter's declared type, as the named stage does: int arithmetic wraps at 32 bits, long arithmetic stays exact past 2^53", async () => {
    // The positional forms were compiled when the actors were made, after analysis, where param() is typed any: an
    // int param's product no longer wrapped and a long param's product was rounded to a double.
    const schema = z.object({ id: z.number().int() });
    const data = Array.from({ length: 12 }, (_, id) => ({ id }));
    const INT = 2 ** 30;
    const LONG = 2 ** 52 + 1;
    const wrap = (value: number) => value | 0;
    const exact = (value: bigint): number | bigint => (value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);
    const expected = data.filter((row) => row.id !== 5).map((row) => ({ id: row.id, wrapped: row.id + wrap(INT * 2), product: exact(BigInt(row.id) * BigInt(LONG)), kept: row.id * 2 < wrap(INT * 2) }));
    for (const mode of ["auto", "off"] as const) {
      session = natsSession(server().options, { "rill.chaining": "false", "rill.rows.positional": mode, "rill.flow.maxFrameRows": 4, "rill.params.bucket": `attack_params_${runs}` });
      session.params.declare("small", { type: "int", default: INT });
      session.params.declare("big", { type: "long", default: LONG });
      const name = `attack_params_${runs++}`;
      const input = new MemoryStream(session, schema);
      const query = await input.toDF()
        .where("id != 5")
        .selectExpr("id", "id + param('small') * 2 as wrapped", "id * param('big') as product", "id * 2 < param('small') * 2 as kept")
        .writeStream.queryName(name).format("memory").outputMode("append").start();
      input.addData(data);
      await query.processAllAvailable();
      const runtime = (query as unknown as { runtime: QueryRuntime }).runtime;
      const positional = runtime.actors.filter((actor): actor is OperatorActor => actor instanceof OperatorActor).reduce((sum, actor) => sum + actor.positionalRows, 0);
      assert.ok(mode === "off" ? positional === 0 : positional > 0);
      assert.deepStrictEqual(session.table(name).map((row) => ({ ...row })), expected, mode);
      await session.stop();
      session = undefined;
    }
  });
});

describe("nested values through positional stages", () => {
  it("structs and arrays built in one stage, read by field and index in the next ones", async () => {
    const schema = z.object({ id: z.number().int(), a: z.string().nullable(), d: z.number() });
    const data = Array.from({ length: 30 }, (_, id) => ({ id, a: id % 5 === 0 ? null : `a${id}`, d: id / 2 }));
    const expected = data.filter((row) => row.id > 3).map((row) => ({
      x: row.a,
      first: row.d,
      fromMap: row.a,
      st: { x: row.a, y: row.id, inner: { z: [row.d] } },
      id: row.id,
    }));
    await everyWay(schema, data, (input) => input
      .selectExpr("named_struct('x', a, 'y', id, 'inner', named_struct('z', array(d))) as st", "array(d, id) as arr", "array(a, 'z') as m", "id")
      .where("st.y > 3")
      .selectExpr("st.x as x", "element_at(arr, 1) as first", "element_at(m, 1) as fromMap", "st", "id"), expected, SETTINGS.filter((setting) => setting.frameRows !== 5));
  });
});

describe("a positional stage routing into dropDuplicates", () => {
  for (const [before, afterRestart] of [["auto", "off"], ["off", "auto"]] as const) {
    it(`sends each key to the partition the named route picks: state written ${before}, restarted ${afterRestart === "auto" ? "by position" : "named"}, no duplicate passes`, async () => {
      // A key's state is restored to the partition that owns its key group; if rows by position were routed to
      // another partition than named rows, a key seen before the restart would pass again after it.
      const folder = await mkdtemp(join(tmpdir(), "rill-positional-dedupe-"));
      const schema = z.object({ k: z.unknown(), n: z.number().int() });
      const keys: readonly unknown[] = [0, 1, 1.5, "1", "", "é", null, true, false, 2n ** 60n, 2 ** 53 + 2, "k", "k2", -7, 1e21, "𝄞", "x".repeat(40)];
      try {
        session = natsSession(server().options, { "rill.chaining": "false", "rill.flow.maxFrameRows": 4, "rill.shuffle.partitions": 3 });
        const input = new MemoryStream(session, schema);
        const seen: Row[] = [];
        const start = (mode: "auto" | "off") => {
          (session as Session).conf.set("rill.rows.positional", mode);
          return input.toDF().where("n >= 0").selectExpr("n", "k").dropDuplicates(["k"]).writeStream.queryName("attack_dedupe").option("checkpointLocation", folder)
            .foreachBatch((rows) => void seen.push(...rows.map((row) => ({ ...row })))).start();
        };
        const first = await start(before);
        input.addData(keys.map((k, n) => ({ k, n })));
        await first.processAllAvailable();
        const runtime = (first as unknown as { runtime: QueryRuntime }).runtime;
        const positional = runtime.actors.filter((actor): actor is OperatorActor => actor instanceof OperatorActor).reduce((sum, actor) => sum + actor.positionalRows, 0);
        assert.ok(before === "off" ? positional === 0 : positional > 0, `${before}: ${positional} rows by position`);
        await first.stop();
        assert.equal(seen.length, keys.length);
        seen.length = 0;
        const second = await start(afterRestart);
        // Every old key again (twice), and three new ones.
        input.addData([...keys, ...keys, "new1", 99, 2n ** 61n].map((k, n) => ({ k, n: 100 + n })));
        await second.processAllAvailable();
        await second.stop();
        // Three partitions: the new keys arrive in any order.
        const text = (value: unknown) => `${typeof value}:${String(value)}`;
        assert.deepStrictEqual(seen.map((row) => text(row.k)).sort(), ["new1", 99, 2n ** 61n].map(text).sort());
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
    });
  }
});

describe("frames past the broker's payload limit", () => {
  it("a positional stage's frame of large rows is split and arrives whole, in order, in both layouts", async () => {
    const schema = z.object({ id: z.number().int(), a: z.string() });
    // 200,000 characters a row, 400,000 after the projection: a frame of four is past the test server's 1 MB limit.
    const data = Array.from({ length: 12 }, (_, id) => ({ id, a: String.fromCharCode(97 + (id % 26)).repeat(200_000) }));
    const expected = data.filter((row) => row.id !== 6).map((row) => ({ id: row.id, big: row.a + row.a, n: 400_000 }));
    for (const setting of SETTINGS.filter((candidate) => candidate.frameRows === 4)) {
      const result = await run(setting, schema, data, (input) => input.where("id != 6").selectExpr("id", "concat(a, a) as big").withColumn("n", expr("length(big)")));
      assert.equal(result.rows.length, expected.length, JSON.stringify(setting));
      assert.ok(result.rows.every((row, index) => row.id === expected[index]?.id && row.big === expected[index]?.big && row.n === 400_000), JSON.stringify(setting));
    }
  });
});

describe("window structs through positional stages", () => {
  it("select(window(t, ...)) then a filter and a projection on window.start and window.end", async () => {
    const schema = z.object({ id: z.number().int(), t: z.date() });
    const base = Date.UTC(2026, 0, 1);
    const data = Array.from({ length: 40 }, (_, id) => ({ id, t: new Date(base + id * 3_000) }));
    const expected = data.map((row) => {
      const start = Math.floor((row.t.getTime() - base) / 10_000) * 10_000 + base;
      return { id: row.id, window: { start, end: start + 10_000 }, s: start, e: start + 10_000 };
    }).filter((row) => row.s > base);
    await everyWay(schema, data, (input) => input
      .select(expr("window(t, '10 seconds')"), expr("id"))
      .where(`window.start > cast(${base / 1000} as timestamp)`)
      .selectExpr("id", "window", "window.start as s", "window.end as e"), expected, SETTINGS.filter((setting) => setting.frameRows === 4));
  });
});

describe("layouts mixed in one run", () => {
  it("frames of layout 2 then layout 1 (and back) reach positional stages in one query, as a rolling upgrade sends them", async () => {
    const schema = z.object({ id: z.number().int(), v: z.unknown(), s: z.string().nullable() });
    const data = ODD_VALUES.flatMap((value, index) => Array.from({ length: 5 }, (_, copy) => ({ id: index * 5 + copy, v: value, s: copy === 2 ? null : `s${index % 4}` })));
    const normal = (value: unknown) => (typeof value === "bigint" && value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value);
    const expected = data.filter((row) => row.id % 4 !== 1).map((row) => ({ s: row.s, v: normal(row.v), id: row.id }));
    for (const mode of ["auto", "off"] as const) {
      for (const [first, second] of [[2, 1], [1, 2]] as const) {
        setFrameLayout(first);
        session = natsSession(server().options, { "rill.chaining": "false", "rill.rows.positional": mode, "rill.flow.maxFrameRows": 6 });
        const name = `attack_mixed_${runs++}`;
        const input = new MemoryStream(session, schema);
        const query = await input.toDF().where("id % 4 != 1").select("s", "v", "id").writeStream.queryName(name).format("memory").outputMode("append").start();
        const thirds = [0, 60, 120, data.length];
        for (let part = 0; part < 3; part++) {
          setFrameLayout(part === 1 ? second : first);
          input.addData(data.slice(thirds[part], thirds[part + 1]));
          await query.processAllAvailable();
        }
        assert.deepStrictEqual(session.table(name).map((row) => ({ ...row })), expected, `${mode}, layouts ${first}/${second}`);
        await session.stop();
        session = undefined;
        setFrameLayout(2);
      }
    }
  });
});
