// Static DataFrames (session.read, createDataFrame): Spark's schema inference, and the streaming plan's operators run
// whole over bounded input, checked against plain code.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parquetWriteBuffer } from "hyparquet-writer";
import { AnalysisError, ConfigError, MemoryStream, Session, activitySchema, col, count, desc, expr, generateActivity, sum, window, z, type Row } from "../../src/index.ts";
import { jsonWithLongs } from "../../src/core/long.ts";
import { inProcessSession } from "../helpers/session.ts";

const ROWS = generateActivity({ seed: 14, count: 2000 });

describe("static DataFrames", () => {
  let session: Session;
  let folder: string;
  before(async () => {
    session = inProcessSession();
    folder = await mkdtemp(join(tmpdir(), "rill-static-"));
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("infers a JSON schema as Spark does: long, double, string, boolean, nested structs and arrays, fields sorted by name", async () => {
    const dir = join(folder, "infer");
    await mkdirp(dir);
    await writeFile(join(dir, "a.json"), [
      '{"name":"a","n":1,"x":1,"flag":true,"s":{"d":1.5,"e":true},"tags":[1,2]}',
      '{"name":"b","n":2,"x":2.5,"mixed":3,"s":{"d":2,"f":null}}',
      "",
      '{"name":"c","n":null,"mixed":"text","only_null":null}',
    ].join("\n"));
    const frame = session.read.json(dir);
    assert.equal(frame.isStreaming, false);
    assert.deepEqual(frame.schema.fields.map((field) => [field.name, field.type]), [
      ["flag", "boolean"], ["mixed", "string"], ["n", "long"], ["name", "string"], ["only_null", "string"], ["s", "struct"], ["tags", "array"], ["x", "double"],
    ]);
    const struct = frame.schema.fields.find((field) => field.name === "s");
    assert.deepEqual(struct?.fields?.map((field) => [field.name, field.type]), [["d", "double"], ["e", "boolean"], ["f", "string"]]);
    assert.equal(frame.schema.fields.find((field) => field.name === "tags")?.element?.type, "long");
    const rows = await frame.orderBy("name").collect();
    assert.deepEqual(rows.map((row) => [row.name, row.n, row.x, row.mixed]), [["a", 1, 1, null], ["b", 2, 2.5, "3"], ["c", null, null, "text"]]);
    assert.deepEqual(rows[1]?.s, { d: 2, f: null });
    assert.equal(await frame.selectExpr("s.d * 2 as d2").where("d2 > 3").count(), 1);
    let printed = "";
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => ((printed += chunk), true)) as typeof process.stdout.write;
    try {
      frame.select("name", "s").printSchema();
    } finally {
      process.stdout.write = write;
    }
    assert.equal(printed, [
      "root",
      " |-- name: string (nullable = true)",
      " |-- s: struct (nullable = true)",
      " |    |-- d: double (nullable = true)",
      " |    |-- e: boolean (nullable = true)",
      " |    |-- f: string (nullable = true)",
      "",
    ].join("\n"));
  });

  it("reads CSV with header and inferSchema (int, long, double, boolean, timestamp, string), or all strings and _c0.. without", async () => {
    const dir = join(folder, "csv");
    await mkdirp(dir);
    await writeFile(join(dir, "a.csv"), "id,big,x,ok,at,label\n1,5000000000,1.5,true,2024-01-02 03:04:05,a\n2,7,2,false,2024-01-03 00:00:00,\n");
    const inferred = session.read.option("header", true).option("inferSchema", true).csv(dir);
    assert.deepEqual(inferred.schema.fields.map((field) => [field.name, field.type]), [["id", "int"], ["big", "long"], ["x", "double"], ["ok", "boolean"], ["at", "timestamp"], ["label", "string"]]);
    assert.deepEqual(await inferred.collect(), [
      { id: 1, big: 5000000000, x: 1.5, ok: true, at: Date.UTC(2024, 0, 2, 3, 4, 5), label: "a" },
      { id: 2, big: 7, x: 2, ok: false, at: Date.UTC(2024, 0, 3), label: null },
    ]);
    const plain = session.read.csv(dir);
    assert.deepEqual(plain.columns, ["_c0", "_c1", "_c2", "_c3", "_c4", "_c5"]);
    assert.ok(plain.schema.fields.every((field) => field.type === "string"));
    assert.equal(await plain.count(), 3);
  });

  it("reads text and Parquet files, a single file or a folder", async () => {
    const dir = join(folder, "formats");
    await mkdirp(dir);
    await writeFile(join(dir, "lines.txt"), "one\ntwo\nthree\n");
    assert.deepEqual(await session.read.text(join(dir, "lines.txt")).collect(), [{ value: "one" }, { value: "two" }, { value: "three" }]);
    const parquet = parquetWriteBuffer({ columnData: [
      { name: "id", type: "INT64", nullable: false, data: [1n, 2n, 3n] },
      { name: "name", type: "STRING", nullable: true, data: ["a", null, "c"] },
      { name: "x", type: "DOUBLE", nullable: true, data: [0.5, 1.5, 2.5] },
    ] });
    await writeFile(join(dir, "part.parquet"), new Uint8Array(parquet));
    const frame = session.read.parquet(join(dir, "part.parquet"));
    assert.deepEqual(frame.schema.fields.map((field) => [field.name, field.type, field.nullable]), [["id", "long", false], ["name", "string", true], ["x", "double", true]]);
    assert.deepEqual(await frame.where("x > 1").collect(), [{ id: 2, name: null, x: 1.5 }, { id: 3, name: "c", x: 2.5 }]);
  });

  it("runs transformations and aggregations through the streaming operators and equals plain code", async () => {
    const dir = join(folder, "activity");
    await mkdirp(dir);
    await writeFile(join(dir, "part-0.json"), `${ROWS.slice(0, 1000).map((row) => jsonWithLongs(row)).join("\n")}\n`);
    await writeFile(join(dir, "part-1.json"), `${ROWS.slice(1000).map((row) => jsonWithLongs(row)).join("\n")}\n`);
    const activity = session.read.json(dir);
    assert.deepEqual(activity.columns, ["Arrival_Time", "Creation_Time", "Device", "Index", "Model", "User", "gt", "x", "y", "z"]);
    assert.equal(await activity.count(), ROWS.length);
    const counts = await activity.where("gt is not null").groupBy("gt").agg(count("*").alias("n"), sum("x").alias("sx")).orderBy(desc("n"), "gt").collect();
    const expected = new Map<string, { n: number; sx: number }>();
    for (const row of ROWS) {
      if (row.gt === null) continue;
      const entry = expected.get(row.gt) ?? { n: 0, sx: 0 };
      entry.n++;
      entry.sx += row.x;
      expected.set(row.gt, entry);
    }
    const want = [...expected].sort((a, b) => b[1].n - a[1].n || a[0].localeCompare(b[0]));
    assert.deepEqual(counts.map((row) => [row.gt, row.n]), want.map(([gt, entry]) => [gt, entry.n]));
    counts.forEach((row, index) => assert.ok(Math.abs((row.sx as number) - (want[index] as [string, { sx: number }])[1].sx) < 1e-6));
    const users = await activity.select("User").distinct().orderBy("User").collect();
    assert.deepEqual(users.map((row) => row.User), [...new Set(ROWS.map((row) => row.User))].sort());
    const top = await activity.orderBy(desc("x")).limit(3).select("Index", "x").collect();
    assert.deepEqual(top.map((row) => row.x), ROWS.map((row) => row.x).sort((a, b) => b - a).slice(0, 3));
    const both = activity.where("x > 0").union(activity.where("x <= 0"));
    assert.equal(await both.count(), ROWS.length);
    const aggregatedUnion = activity.groupBy("User").count().union(activity.groupBy("User").count());
    assert.equal(await aggregatedUnion.count(), 2 * new Set(ROWS.map((row) => row.User)).size);
  });

  it("runs withWatermark, window, dropDuplicates and groupByKey as Spark's batch queries do: the watermark drops nothing", async () => {
    const frame = session.createDataFrame([{ t: 600_000, k: "c" }, { t: 0, k: "a" }, { t: 30_000, k: "a" }, { t: 70_000, k: "b" }, { t: 70_000, k: "b" }], "t TIMESTAMP, k STRING");
    const windows = await frame.withWatermark("t", "1 minute").groupBy(window(col("t"), "1 minute")).count().orderBy("window").collect();
    assert.deepEqual(windows, [{ window: { start: 0, end: 60_000 }, count: 2 }, { window: { start: 60_000, end: 120_000 }, count: 2 }, { window: { start: 600_000, end: 660_000 }, count: 1 }]);
    assert.equal(await frame.dropDuplicates(["k"]).count(), 3);
    assert.equal(await frame.distinct().count(), 4);
    const perKey = await frame.groupByKey((row) => row.k).mapGroupsWithState((key, rows) => ({ key, n: rows.length }), { outputSchema: z.object({ key: z.string(), n: z.number().int() }) }).collect();
    assert.deepEqual(perKey.sort((a, b) => String(a.key).localeCompare(String(b.key))), [{ key: "a", n: 2 }, { key: "b", n: 2 }, { key: "c", n: 1 }]);
  });

  it("show() prints Spark's table: right-aligned, cut to 20 characters, NULL, 'only showing top n rows'", async () => {
    const frame = session.createDataFrame([{ name: "a", note: "a rather long note that goes on", x: 1 }, { name: "bb", note: null, x: 2.5 }, { name: "c", note: "short", x: 3 }], "name STRING, note STRING, x DOUBLE");
    assert.equal(await frame.showString(2), [
      "+----+--------------------+---+",
      "|name|                note|  x|",
      "+----+--------------------+---+",
      "|   a|a rather long not...|1.0|",
      "|  bb|                NULL|2.5|",
      "+----+--------------------+---+",
      "only showing top 2 rows",
      "",
    ].join("\n"));
    assert.equal(await frame.showString(5, false), [
      "+----+-------------------------------+---+",
      "|name|note                           |x  |",
      "+----+-------------------------------+---+",
      "|a   |a rather long note that goes on|1.0|",
      "|bb  |NULL                           |2.5|",
      "|c   |short                          |3.0|",
      "+----+-------------------------------+---+",
      "",
    ].join("\n"));
  });

  it("refuses streaming-only calls on a static frame, and actions on a stream, with Spark's reasons", async () => {
    const frame = session.createDataFrame([{ a: 1 }], "a LONG");
    assert.throws(() => frame.writeStream, (error: unknown) => error instanceof AnalysisError && /'writeStream' can be called only on streaming Dataset\/DataFrame/.test(error.message));
    const stream = new MemoryStream(session, activitySchema).toDF();
    assert.equal(stream.isStreaming, true);
    await assert.rejects(stream.collect(), (error: unknown) => error instanceof AnalysisError && /Queries with streaming sources must be executed with writeStream.start\(\)/.test(error.message));
    await assert.rejects(stream.count(), AnalysisError);
    await assert.rejects(stream.select("gt").union(session.createDataFrame([{ gt: "x" }], "gt STRING")).writeStream.format("memory").queryName("mixed_union").start(), (error: unknown) => error instanceof AnalysisError && /Union between streaming and batch/.test(error.message));
    assert.throws(() => session.read.json(join(folder, "missing")), (error: unknown) => error instanceof ConfigError && /Path does not exist: '.*missing'/.test(error.message));
    assert.throws(() => session.read.option("headr", true).csv(folder), ConfigError);
  });

  it("readStream.schema(static.schema) reads a stream with the inferred schema (seed 22.4)", async () => {
    const dir = join(folder, "activity");
    const staticFrame = session.read.json(dir);
    const streaming = session.readStream.schema(staticFrame.schema).option("maxFilesPerTrigger", 1).json(dir);
    assert.equal(streaming.isStreaming, true);
    assert.deepEqual(streaming.schema, staticFrame.schema);
    const query = await streaming.groupBy("gt").count().writeStream.queryName("seed_22_4").format("memory").outputMode("complete").start();
    await query.processAllAvailable();
    const expected = new Map<unknown, number>();
    for (const row of ROWS) expected.set(row.gt, (expected.get(row.gt) ?? 0) + 1);
    const actual = new Map(session.table("seed_22_4").map((row: Row) => [row.gt, row.count]));
    assert.deepEqual(new Map([...actual].sort()), new Map([...expected].sort()));
    await query.stop();
    assert.deepEqual(await session.read.schema(z.object({ gt: z.string().nullable() })).json(dir).where(col("gt").isNull()).count(), ROWS.filter((row) => row.gt === null).length);
    assert.equal(await session.read.json(dir).where(expr("x > 100")).count(), 0);
  });
});

async function mkdirp(path: string): Promise<void> {
  await import("node:fs/promises").then((fs) => fs.mkdir(path, { recursive: true }));
}
