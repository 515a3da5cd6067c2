// session.sql: each clause against plain code over generated activity data, on a real nats-server.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { AnalysisError, MemoryStream, ParseError, activitySchema, col, generateActivity, type OutputMode, type Row, type Session } from "../../src/index.ts";
import type { DataFrame } from "../../src/api/dataframe.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const ROWS = generateActivity({ seed: 14, count: 3000, rowsPerSecond: 2 });
const OTHER = generateActivity({ seed: 15, count: 500, rowsPerSecond: 2 });

/** Rows as sorted JSON lines, so two multisets compare with deepEqual. */
function canonical(rows: readonly Row[], columns: readonly string[]): string[] {
  return rows.map((row) => JSON.stringify(columns.map((column) => normalise(row[column])))).sort();
}

function normalise(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number" && !Number.isInteger(value)) return Number(value.toPrecision(12));
  return value ?? null;
}

function groupBy<K>(rows: readonly Row[], key: (row: Row) => K): Map<K, Row[]> {
  const groups = new Map<K, Row[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}

describe("session.sql", () => {
  let session: Session;
  let counter = 0;
  before(() => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 3 });
    const activity = new MemoryStream(session, activitySchema);
    activity.addData(ROWS);
    activity.toDF().createOrReplaceTempView("activity");
    const other = new MemoryStream(session, activitySchema);
    other.addData(OTHER);
    other.toDF().createOrReplaceTempView("other_activity");
  });
  after(async () => {
    await session.stop();
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  async function run(frame: DataFrame, outputMode: OutputMode = "append"): Promise<Row[]> {
    const name = `sql_${++counter}`;
    const query = await frame.writeStream.queryName(name).format("memory").outputMode(outputMode).start();
    await query.processAllAvailable();
    const rows = session.table(name);
    await query.stop();
    return rows;
  }

  it("projects, computes and filters: aliases, qualifiers, CASE, CAST, IN, BETWEEN, LIKE, RLIKE, IS NULL, comments", async () => {
    const frame = session.sql(`
      -- the stairs, with a coarse label
      SELECT a.gt, upper(a.Model) AS model_upper, \`User\` AS who,
             CASE WHEN x > 0.5 THEN 'high' WHEN x < -0.5 THEN 'low' ELSE 'mid' END AS band,
             cast(Arrival_Time / 1000 AS long) AS seconds /* whole seconds */
      FROM activity AS a
      WHERE a.gt IS NOT NULL AND (gt LIKE 'stairs%' OR gt RLIKE '^b.k') AND User IN ('a', 'b', 'c', 'd')
        AND Index BETWEEN 100 AND 2500 AND NOT gt = 'bike'`);
    assert.deepEqual(frame.columns, ["gt", "model_upper", "who", "band", "seconds"]);
    const expected = ROWS
      .filter((row) => row.gt !== null && (String(row.gt).startsWith("stairs") || /^b.k/.test(String(row.gt))) && ["a", "b", "c", "d"].includes(String(row.User)) && Number(row.Index) >= 100 && Number(row.Index) <= 2500 && row.gt !== "bike")
      .map((row) => {
        const x = row.x as number;
        return { gt: row.gt, model_upper: String(row.Model).toUpperCase(), who: row.User, band: x > 0.5 ? "high" : x < -0.5 ? "low" : "mid", seconds: Math.trunc(Number(row.Arrival_Time) / 1000) };
      });
    assert.ok(expected.length > 50, `the filter keeps enough rows to mean something (${expected.length})`);
    const columns = ["gt", "model_upper", "who", "band", "seconds"];
    assert.deepEqual(canonical(await run(frame), columns), canonical(expected, columns));
  });

  it("reads subqueries in FROM, SELECT * and t.*", async () => {
    const frame = session.sql("SELECT s.*, y * 2 AS y2 FROM (SELECT gt, x, y FROM activity WHERE x > 0) AS s WHERE s.y < 0");
    assert.deepEqual(frame.columns, ["gt", "x", "y", "y2"]);
    const expected = ROWS.filter((row) => (row.x as number) > 0 && (row.y as number) < 0).map((row) => ({ gt: row.gt, x: row.x, y: row.y, y2: (row.y as number) * 2 }));
    assert.deepEqual(canonical(await run(frame), ["gt", "x", "y", "y2"]), canonical(expected, ["gt", "x", "y", "y2"]));
  });

  it("aggregates with GROUP BY, every aggregate function, HAVING, ORDER BY and LIMIT (complete mode)", async () => {
    const frame = session.sql(`
      SELECT gt, count(*) AS n, count(Model) AS models, sum(Index) AS total, avg(x) AS mean_x, min(y) AS min_y, max(z) AS max_z,
             count(DISTINCT User) AS users, size(collect_set(Device)) AS devices, size(collect_list(Device)) AS listed,
             approx_count_distinct(User) AS approx_users, round(max(x) - min(x), 6) AS spread
      FROM activity
      GROUP BY gt
      HAVING count(*) > 50 AND n < 100000
      ORDER BY n DESC, gt
      LIMIT 4`);
    const rows = await run(frame, "complete");
    const expected = [...groupBy(ROWS, (row) => row.gt)]
      .map(([gt, group]) => ({
        gt,
        n: group.length,
        models: group.filter((row) => row.Model !== null).length,
        total: group.reduce((sum, row) => sum + Number(row.Index), 0),
        mean_x: group.reduce((sum, row) => sum + (row.x as number), 0) / group.length,
        min_y: Math.min(...group.map((row) => row.y as number)),
        max_z: Math.max(...group.map((row) => row.z as number)),
        users: new Set(group.map((row) => row.User)).size,
        devices: new Set(group.map((row) => row.Device)).size,
        listed: group.length,
        approx_users: new Set(group.map((row) => row.User)).size,
        spread: Number((Math.max(...group.map((row) => row.x as number)) - Math.min(...group.map((row) => row.x as number))).toFixed(6)),
      }))
      .filter((row) => row.n > 50)
      .sort((a, b) => b.n - a.n || String(a.gt).localeCompare(String(b.gt)))
      .slice(0, 4);
    const columns = Object.keys(expected[0] as object);
    assert.deepEqual(rows.map((row) => columns.map((column) => normalise(row[column]))), expected.map((row) => columns.map((column) => normalise((row as Row)[column]))));
  });

  it("groups by ordinals, aliases and expressions; GROUP BY without aggregates gives the distinct keys", async () => {
    const byExpression = await run(session.sql("SELECT upper(gt) AS label, count(*) AS n FROM activity GROUP BY 1"), "complete");
    const expected = [...groupBy(ROWS, (row) => (row.gt === null ? null : String(row.gt).toUpperCase()))].map(([label, group]) => ({ label, n: group.length }));
    assert.deepEqual(canonical(byExpression, ["label", "n"]), canonical(expected, ["label", "n"]));
    const byAlias = await run(session.sql("SELECT Index % 3 AS bucket, sum(x) + 1 AS shifted FROM activity GROUP BY bucket"), "complete");
    const buckets = [...groupBy(ROWS, (row) => Number(row.Index) % 3)].map(([bucket, group]) => ({ bucket, shifted: group.reduce((sum, row) => sum + (row.x as number), 0) + 1 }));
    assert.deepEqual(canonical(byAlias, ["bucket", "shifted"]), canonical(buckets, ["bucket", "shifted"]));
    const keys = await run(session.sql("SELECT gt, Model FROM activity GROUP BY gt, Model"), "complete");
    assert.deepEqual(keys.map((row) => Object.keys(row)).at(0), ["gt", "Model"]);
    assert.deepEqual(canonical(keys, ["gt", "Model"]), canonical([...groupBy(ROWS, (row) => `${String(row.gt)}|${String(row.Model)}`).values()].map((group) => group[0] as Row), ["gt", "Model"]));
  });

  it("SELECT DISTINCT drops repeated rows (append mode: each distinct row once)", async () => {
    const rows = await run(session.sql("SELECT DISTINCT gt, User FROM activity WHERE gt IS NOT NULL"));
    const expected = [...new Set(ROWS.filter((row) => row.gt !== null).map((row) => JSON.stringify([row.gt, row.User])))].sort();
    assert.deepEqual(canonical(rows, ["gt", "User"]), expected);
  });

  it("UNION ALL keeps every row of both views; UNION drops duplicates", async () => {
    const all = await run(session.sql("SELECT gt, User FROM activity WHERE x > 1 UNION ALL SELECT gt, User FROM other_activity WHERE x > 1"));
    const expected = [...ROWS, ...OTHER].filter((row) => (row.x as number) > 1);
    assert.deepEqual(canonical(all, ["gt", "User"]), canonical(expected, ["gt", "User"]));
    const distinct = await run(session.sql("SELECT gt, User FROM activity UNION SELECT gt, User FROM other_activity"));
    assert.deepEqual(canonical(distinct, ["gt", "User"]), [...new Set([...ROWS, ...OTHER].map((row) => JSON.stringify([normalise(row.gt), row.User])))].sort());
  });

  it("the seed's 21.4.1 and 21.4.2 written in SQL equal the DataFrame queries", async () => {
    const stairsSql = session.sql("SELECT gt, model, arrival_time, creation_time FROM activity WHERE gt LIKE '%stairs%' AND gt IS NOT NULL");
    const stairsApi = session.sql("SELECT * FROM activity").withColumn("stairs", col("gt").like("%stairs%")).where("stairs").where("gt is not null").select("gt", "model", "arrival_time", "creation_time");
    const columns = stairsApi.columns;
    assert.deepEqual(stairsSql.columns, columns);
    assert.deepEqual(canonical(await run(stairsSql), columns), canonical(await run(stairsApi), columns));
    const cubeSql = session.sql("SELECT gt, model, avg(x), avg(y), avg(z) FROM activity GROUP BY CUBE(gt, model)");
    const cubeApi = session.sql("SELECT gt, model, x, y, z FROM activity").cube("gt", "model").avg();
    assert.deepEqual(cubeSql.columns, cubeApi.columns);
    const cubeColumns = cubeApi.columns;
    assert.deepEqual(canonical(await run(cubeSql, "complete"), cubeColumns), canonical(await run(cubeApi, "complete"), cubeColumns));
  });

  it("window() and session_window() in GROUP BY: the seed's 22.5 in SQL against plain code", async () => {
    const input = new MemoryStream(session, activitySchema);
    input.addData(ROWS);
    input.toDF().selectExpr("*", "cast(cast(Creation_Time as double)/1000000000 as timestamp) as event_time").createOrReplaceTempView("events");
    const sliding = await run(session.sql("SELECT window.start AS start, User, count(*) AS count FROM events GROUP BY window(event_time, '10 minutes', '5 minutes'), User"), "complete");
    const expected = new Map<string, number>();
    for (const row of ROWS) {
      const time = Number(row.Creation_Time as bigint) / 1_000_000;
      for (let start = time - (time % 300_000); start > time - 600_000; start -= 300_000) {
        const key = `${start}|${String(row.User)}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
    }
    assert.deepEqual(new Map(sliding.map((row): [string, unknown] => [`${String(row.start)}|${String(row.User)}`, row.count]).sort()), new Map([...expected].sort()));
    const sessions = await run(session.sql("SELECT User, session_window.start AS s, session_window.end AS e, count(*) AS n FROM events GROUP BY session_window(event_time, '5 seconds'), User"), "complete");
    const plain: string[] = [];
    for (const [user, group] of groupBy(ROWS, (row) => row.User)) {
      // cast(cast(Creation_Time as double)/1000000000 as timestamp): microseconds, as Spark keeps them.
      const times = group.map((row) => Math.trunc((Number(row.Creation_Time as bigint) / 1e9) * 1e6) / 1000).sort((a, b) => a - b);
      let start = times[0] as number;
      let end = start + 5_000;
      let n = 0;
      for (const time of times) {
        // Spark merges a session whose start is at or before the current end.
        if (time > end) {
          plain.push(JSON.stringify([user, start, end, n]));
          start = time;
          n = 0;
        }
        end = Math.max(end, time + 5_000);
        n++;
      }
      plain.push(JSON.stringify([user, start, end, n]));
    }
    assert.ok(plain.length > 100, `the gap cuts many sessions (${plain.length})`);
    assert.deepEqual(sessions.map((row) => JSON.stringify([row.User, row.s, row.e, row.n])).sort(), plain.sort());
  });

  it("answers questions about a running query's memory table (the seed's 21.1 and 21.3)", async () => {
    const input = new MemoryStream(session, activitySchema);
    const counts = await input.toDF().groupBy("gt").count().writeStream.queryName("activity_counts").format("memory").outputMode("complete").start();
    input.addData(ROWS.slice(0, 1000));
    await counts.processAllAvailable();
    const ask = async () => {
      const query = await session.sql("SELECT gt, count FROM activity_counts WHERE count > 100").writeStream.queryName(`answer_${++counter}`).format("memory").trigger({ availableNow: true }).start();
      await query.awaitTermination();
      return session.table(query.name as string);
    };
    const plain = (rows: readonly Row[]) => [...groupBy(rows, (row) => row.gt)].map(([gt, group]) => ({ gt, count: group.length })).filter((row) => row.count > 100);
    assert.deepEqual(canonical(await ask(), ["gt", "count"]), canonical(plain(ROWS.slice(0, 1000)), ["gt", "count"]));
    input.addData(ROWS.slice(1000));
    await counts.processAllAvailable();
    assert.deepEqual(canonical(await ask(), ["gt", "count"]), canonical(plain(ROWS), ["gt", "count"]));
    assert.equal(counts.isActive, true);
    assert.ok(session.catalog.tableExists("activity_counts"));
  });

  it("keeps temporary views by name: createTempView refuses a taken name, dropTempView removes one", () => {
    const frame = session.sql("SELECT gt FROM activity");
    assert.equal(frame.isStreaming, true);
    frame.createTempView("gts");
    assert.throws(() => frame.createTempView("GTS"), (error: unknown) => error instanceof AnalysisError && /Temporary view 'GTS' already exists/.test(error.message));
    frame.createOrReplaceTempView("GTS");
    assert.deepEqual(session.sql("SELECT * FROM gts").columns, ["gt"]);
    assert.ok(session.catalog.listTables().includes("GTS"));
    assert.equal(session.catalog.dropTempView("gts"), true);
    assert.equal(session.catalog.dropTempView("gts"), false);
    assert.throws(() => session.sql("SELECT * FROM gts"), /Table or view not found: 'gts'/);
  });

  it("fails at sql() naming the unknown view or column, with a hint and the position", () => {
    assert.throws(() => session.sql("SELECT gt\nFROM activty"), (error: unknown) => error instanceof AnalysisError && error.message.startsWith("Table or view not found: 'activty' at line 2, column 6:") && error.message.includes("Did you mean 'activity'?"));
    assert.throws(() => session.sql("SELECT gt, modle FROM activity"), (error: unknown) => error instanceof AnalysisError && error.message.startsWith("Column 'modle' does not exist in the SELECT list at line 1, column 12:") && error.message.includes("Did you mean 'Model'?"));
    assert.throws(() => session.sql("SELECT gt FROM activity WHERE gtt = 'bike'"), /Column 'gtt' does not exist in WHERE at line 1, column 31:[\s\S]*Did you mean 'gt'\?/);
    assert.throws(() => session.sql("SELECT User, count(*) FROM activity GROUP BY gt"), /expression 'User' is neither present in the group by, nor is it an aggregate function at line 1, column 8/);
    assert.throws(() => session.sql("SELECT gt FROM activity WHERE count(*) > 1"), /aggregate functions are not allowed in WHERE at line 1, column 31/);
    assert.throws(() => session.sql("SELECT * FROM activity GROUP BY gt"), /SELECT \* cannot be used with GROUP BY/);
    assert.throws(() => session.sql("SELECT sum(count(x)) FROM activity"), /count\(x\) is an aggregate inside another aggregate/);
    assert.throws(() => session.sql("SELECT gt FROM activity ORDER BY 3"), /ORDER BY position 3 is not in the select list/);
    assert.throws(() => session.sql("SELECT gt FROM activity GROUP BY 2"), /GROUP BY position 2 is not in the select list/);
    assert.throws(() => session.sql("SELECT 1"), /SELECT without FROM has no stream to read/);
    assert.throws(() => session.sql("SELECT gt FROM activity WHERE"), (error: unknown) => error instanceof ParseError && error.column === 30);
  });

  it("plans a stream-stream JOIN at sql(); Spark's rules on it wait for start() (test/sql/sql-join-stream.test.ts runs them)", async () => {
    const frame = session.sql("SELECT * FROM activity a\n  LEFT JOIN other_activity b ON a.User = b.User");
    assert.equal(frame.isStreaming, true);
    await assert.rejects(frame.writeStream.queryName("sql_ss_refused").format("memory").outputMode("append").start(), (error: unknown) => error instanceof AnalysisError && /^Stream-stream LeftOuter join between two streaming DataFrame\/Datasets is not supported/.test(error.message));
  });

  it("applies Spark's rules on streams at start(): sorting only after an aggregation in complete mode, no limit in update mode", async () => {
    await assert.rejects(session.sql("SELECT gt FROM activity ORDER BY gt").writeStream.queryName("sorted").format("memory").start(), /Sorting is not supported on streaming DataFrames\/Datasets, unless it is on aggregated DataFrame\/Dataset in Complete output mode/);
    await assert.rejects(session.sql("SELECT gt, count(*) FROM activity GROUP BY gt LIMIT 2").writeStream.queryName("limited").format("memory").outputMode("update").start(), /Limits are not supported on streaming DataFrames\/Datasets in Update output mode/);
    const firstRows = await run(session.sql("SELECT Index FROM activity LIMIT 7"));
    assert.equal(firstRows.length, 7);
  });
});
