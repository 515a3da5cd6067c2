// The seed's chapter 21 queries, written as the seed writes them, against a real nats-server.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStream, activitySchema, expr, generateActivity, type Row, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";
import { jsonWithLongs } from "../../src/core/long.ts";

const server = useNatsServer();
const ROWS = generateActivity({ seed: 21, count: 3000 });

describe("seed 21.4: selection, filtering and aggregation over NATS", () => {
  let session: Session;
  before(() => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 3 });
  });
  after(async () => {
    await session.stop();
  });

  it("21.4.1: withColumn/where/select gives exactly the rows plain code selects", async () => {
    const input = new MemoryStream(session, activitySchema);
    const streaming = input.toDF();
    const simpleTransform = await streaming.withColumn("stairs", expr("gt like '%stairs%'"))
      .where("stairs")
      .where("gt is not null")
      .select("gt", "model", "arrival_time", "creation_time")
      .writeStream
      .queryName("simple_transform")
      .format("memory")
      .outputMode("append")
      .start();
    input.addData(ROWS.slice(0, 1500));
    input.addData(ROWS.slice(1500));
    await simpleTransform.processAllAvailable();

    const expected = ROWS.filter((row) => typeof row.gt === "string" && row.gt.includes("stairs"))
      .map((row) => ({ gt: row.gt, Model: row.Model, Arrival_Time: row.Arrival_Time, Creation_Time: row.Creation_Time }));
    assert.ok(expected.length > 100, "the generator must produce stairs rows for this test to mean something");
    assert.deepEqual(sortRows(session.table("simple_transform")), sortRows(expected));
    await simpleTransform.stop();
  });

  it("21.4.2: cube(gt, model).avg() minus three columns equals the same aggregation in plain code", async () => {
    const input = new MemoryStream(session, activitySchema);
    const streaming = input.toDF();
    const deviceModelStats = await streaming.cube("gt", "model").avg()
      .drop("avg(Arrival_time)")
      .drop("avg(Creation_Time)")
      .drop("avg(Index)")
      .writeStream.queryName("device_counts").format("memory")
      .outputMode("complete")
      .start();
    input.addData(ROWS);
    await deviceModelStats.processAllAvailable();

    const actual = sortByKey(session.table("device_counts"));
    const expected = sortByKey(cubeAverages(ROWS));
    assert.equal(actual.length, expected.length, "one row per grouping set and key");
    actual.forEach((row, index) => {
      const want = expected[index] as Row;
      assert.deepEqual(Object.keys(row).sort(), ["Model", "avg(x)", "avg(y)", "avg(z)", "gt"]);
      assert.equal(row.gt, want.gt);
      assert.equal(row.Model, want.Model);
      for (const column of ["avg(x)", "avg(y)", "avg(z)"]) assert.ok(Math.abs((row[column] as number) - (want[column] as number)) < 1e-9, `${column} of ${jsonWithLongs(row)} vs ${jsonWithLongs(want)}`);
    });
    await deviceModelStats.stop();
  });

  it("groupBy(gt).count() in update mode emits changed counts, and the last per key equals the plain count", async () => {
    const input = new MemoryStream(session, activitySchema);
    const query = await input.toDF().groupBy("gt").count().writeStream.queryName("gt_counts").format("memory").outputMode("update").start();
    input.addData(ROWS);
    await query.processAllAvailable();
    const latest = new Map<unknown, number>();
    for (const row of session.table("gt_counts")) latest.set(row.gt, row.count as number);
    const expected = new Map<unknown, number>();
    for (const row of ROWS) expected.set(row.gt ?? null, (expected.get(row.gt ?? null) ?? 0) + 1);
    assert.deepEqual(new Map([...latest].sort()), new Map([...expected].sort()));
    await query.stop();
  });
});

function sortRows(rows: readonly Row[]): Row[] {
  return [...rows].sort((a, b) => jsonWithLongs(a).localeCompare(jsonWithLongs(b)));
}

function sortByKey(rows: readonly Row[]): Row[] {
  const key = (row: Row) => `${String(row.gt)}|${String(row.Model)}|${(row["avg(x)"] as number).toFixed(6)}`;
  return [...rows].sort((a, b) => key(a).localeCompare(key(b)));
}

/** Spark's cube(gt, Model): every row counts in the sets (gt, Model), (gt), (Model) and (); a set's missing columns are null. */
function cubeAverages(rows: readonly Row[]): Row[] {
  const sums = new Map<string, { gt: unknown; Model: unknown; x: number; y: number; z: number; n: number }>();
  for (const row of rows) {
    for (const [set, keepGt, keepModel] of [[0, true, true], [1, true, false], [2, false, true], [3, false, false]] as const) {
      const gt = keepGt ? (row.gt ?? null) : null;
      const model = keepModel ? row.Model : null;
      const key = `${set}|${String(gt)}|${String(model)}`;
      const sum = sums.get(key) ?? { gt, Model: model, x: 0, y: 0, z: 0, n: 0 };
      sum.x += row.x as number;
      sum.y += row.y as number;
      sum.z += row.z as number;
      sum.n++;
      sums.set(key, sum);
    }
  }
  return [...sums.values()].map((sum) => ({ gt: sum.gt, Model: sum.Model, "avg(x)": sum.x / sum.n, "avg(y)": sum.y / sum.n, "avg(z)": sum.z / sum.n }));
}
