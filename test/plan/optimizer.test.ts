// The optimizer moves filters below projections and merges projections, and the results do not change.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AnalysisError, MemoryStream, activitySchema, col, expr, generateActivity, type DataFrame, type Row, type Session } from "../../src/index.ts";
import { analyze } from "../../src/plan/analyzer.ts";
import { inProcessSession } from "../helpers/session.ts";

const ROWS = generateActivity({ seed: 77, count: 1500 });

describe("the logical optimizer", () => {
  let session: Session;
  let input: MemoryStream<typeof activitySchema>;
  before(() => {
    session = inProcessSession();
    input = new MemoryStream(session, activitySchema);
  });
  after(async () => {
    await session.stop();
  });

  const stepsOf = (frame: DataFrame) => analyze(frame.plan).steps.map((step) => `${step.name}: ${step.detail}`);

  async function rowsOf(frame: DataFrame, name: string): Promise<Row[]> {
    const query = await frame.writeStream.queryName(name).format("memory").start();
    input.addData(ROWS);
    await query.processAllAvailable();
    await query.stop();
    return session.table(name);
  }

  it("filters before projecting and projects once: the seed's 21.4.1 query", () => {
    const frame = input.toDF().withColumn("stairs", expr("gt like '%stairs%'")).where("stairs").where("gt is not null").select("gt", "model", "arrival_time", "creation_time");
    assert.deepEqual(stepsOf(frame), ["filter: gt LIKE %stairs%", "filter: (gt IS NOT NULL)", "project: gt, Model, Arrival_Time, Creation_Time"]);
  });

  it("keeps Spark's output names when it merges projections", () => {
    const frame = input.toDF().withColumn("m", expr("x * 10")).selectExpr("m", "m + 1", "User as who").select("m", "(m + 1)", "who");
    assert.deepEqual(frame.columns, ["m", "(m + 1)", "who"]);
    assert.equal(stepsOf(frame).filter((step) => step.startsWith("project")).length, 1);
  });

  it("gives the same rows as the plan it rewrote", async () => {
    const optimized = await rowsOf(input.toDF().withColumn("x", expr("x * 2")).where("x > 0").select(col("x"), col("User")), "rewritten");
    const expected = ROWS.map((row) => ({ x: row.x * 2, User: row.User })).filter((row) => row.x > 0);
    assert.deepEqual(optimized, expected);
  });

  it("still names a column that a drop removed", () => {
    assert.throws(() => input.toDF().drop("gt").where("gt is not null").schema, (error: unknown) => error instanceof AnalysisError && /'gt' does not exist/.test(error.message));
  });
});
