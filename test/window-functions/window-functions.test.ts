// Window functions over static DataFrames, in SQL (OVER (...)) and through Window / col.over(w), against plain-code
// oracles on seeded data with ties and nulls; refused on streams at start() with Spark's message.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AnalysisError, MemoryStream, ParseError, Window, avg, col, count, cume_dist, dense_rank, desc, lag, lead, ntile, percent_rank, rank, row_number, sum, z, type Row, type Session } from "../../src/index.ts";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { inProcessSession } from "../helpers/session.ts";

interface Employee { id: number; dept: string | null; salary: number | null }

/** Salaries on a coarse grid (many ties), some depts null, a few salaries null. */
function employees(count: number, seed: number): Employee[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, (_, id) => ({ id, dept: random() < 0.06 ? null : `d${Math.floor(random() * 5)}`, salary: random() < 0.04 ? null : 1000 + Math.floor(random() * 12) * 100 }));
}

/** Rows split by dept, each sorted by `compare` (ties broken by nothing: the oracle's functions must not depend on it). */
function partitions(rows: readonly Employee[], compare: (a: Employee, b: Employee) => number): Employee[][] {
  const groups = new Map<string | null, Employee[]>();
  for (const row of rows) groups.set(row.dept, [...(groups.get(row.dept) ?? []), row]);
  return [...groups.values()].map((group) => [...group].sort(compare));
}

/** Ascending with nulls first (Spark's default for ASC). */
const bySalary = (a: Employee, b: Employee) => (a.salary === b.salary ? 0 : a.salary === null ? -1 : b.salary === null ? 1 : a.salary - b.salary);
const bySalaryDesc = (a: Employee, b: Employee) => (a.salary === b.salary ? 0 : a.salary === null ? 1 : b.salary === null ? -1 : b.salary - a.salary);
const byId = (a: Employee, b: Employee) => a.id - b.id;

/** Per id: what each window function gives, computed directly. */
function oracle(rows: readonly Employee[]): Map<number, Row> {
  const out = new Map<number, Row>(rows.map((row) => [row.id, {}]));
  const set = (row: Employee, values: Row) => Object.assign(out.get(row.id) as Row, values);
  for (const group of partitions(rows, bySalaryDesc)) {
    group.forEach((row, index) => {
      const first = group.findIndex((other) => bySalaryDesc(other, row) === 0);
      const last = group.length - 1 - [...group].reverse().findIndex((other) => bySalaryDesc(other, row) === 0);
      const distinctBefore = new Set(group.slice(0, first).map((other) => other.salary)).size;
      set(row, { rk: first + 1, dr: distinctBefore + 1, pr: group.length === 1 ? 0 : first / (group.length - 1), cd: (last + 1) / group.length });
      void index;
    });
    const size = Math.floor(group.length / 3);
    const larger = group.length % 3;
    // ntile depends on the order among ties, so the oracle checks bucket sizes instead (below).
    set(group[0] as Employee, { ntileSizes: [0, 1, 2].map((bucket) => size + (bucket < larger ? 1 : 0)) });
  }
  for (const group of partitions(rows, byId)) {
    group.forEach((row, index) => {
      const window = group.slice(Math.max(0, index - 2), index + 1).map((other) => other.salary).filter((salary): salary is number => salary !== null);
      set(row, {
        rn: index + 1,
        prev: index >= 1 ? group[index - 1]?.salary ?? null : null,
        next2: index + 2 < group.length ? group[index + 2]?.salary ?? null : -1,
        moving: window.length === 0 ? null : window.reduce((a, b) => a + b, 0),
        n: group.length,
      });
    });
  }
  for (const group of partitions(rows, bySalary)) {
    for (const row of group) {
      const upTo = group.filter((other) => bySalary(other, row) <= 0).map((other) => other.salary).filter((salary): salary is number => salary !== null);
      const near = row.salary === null ? [] : group.filter((other) => other.salary !== null && Math.abs(other.salary - (row.salary as number)) <= 100).map((other) => other.salary as number);
      // A null salary's RANGE frame is its null peers, whose salaries count(salary) skips.
      set(row, { running: upTo.length === 0 ? null : upTo.reduce((a, b) => a + b, 0), nearby: near.length });
    }
  }
  const salaries = rows.map((row) => row.salary).filter((salary): salary is number => salary !== null);
  for (const row of rows) set(row, { overall: salaries.reduce((a, b) => a + b, 0) / salaries.length });
  return out;
}

describe("window functions", () => {
  let session: Session;
  const staff = employees(600, 1402);
  const expected = oracle(staff);
  before(() => {
    session = inProcessSession();
    session.createDataFrame(staff as unknown as Row[], "id INT, dept STRING, salary LONG").createOrReplaceTempView("staff");
  });
  after(async () => {
    await session.stop();
  });

  function check(rows: readonly Row[], columns: readonly string[]): void {
    assert.equal(rows.length, staff.length);
    for (const row of rows) {
      const want = expected.get(row.id as number) as Row;
      for (const column of columns) {
        const actual = typeof row[column] === "bigint" ? Number(row[column]) : row[column];
        if (typeof want[column] === "number" && !Number.isInteger(want[column])) assert.ok(Math.abs((actual as number) - (want[column] as number)) < 1e-9, `${column} of id ${String(row.id)}: ${String(actual)} vs ${String(want[column])}`);
        else assert.deepEqual(actual, want[column], `${column} of id ${String(row.id)}`);
      }
    }
  }

  it("SQL: row_number, rank, dense_rank, percent_rank, cume_dist, lag, lead, running and moving sums, count and avg over windows equal plain code", async () => {
    const rows = await session.sql(`
      SELECT id, dept, salary,
        row_number() OVER (PARTITION BY dept ORDER BY id) AS rn,
        rank() OVER (PARTITION BY dept ORDER BY salary DESC) AS rk,
        dense_rank() OVER (PARTITION BY dept ORDER BY salary DESC) AS dr,
        percent_rank() OVER (PARTITION BY dept ORDER BY salary DESC) AS pr,
        cume_dist() OVER (PARTITION BY dept ORDER BY salary DESC) AS cd,
        lag(salary) OVER (PARTITION BY dept ORDER BY id) AS prev,
        lead(salary, 2, -1) OVER (PARTITION BY dept ORDER BY id) AS next2,
        sum(salary) OVER (PARTITION BY dept ORDER BY salary) AS running,
        sum(salary) OVER (PARTITION BY dept ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS moving,
        count(*) OVER (PARTITION BY dept) AS n,
        count(salary) OVER (PARTITION BY dept ORDER BY salary RANGE BETWEEN 100 PRECEDING AND 100 FOLLOWING) AS nearby,
        avg(salary) OVER () AS overall
      FROM staff`).collect();
    check(rows, ["rn", "rk", "dr", "pr", "cd", "prev", "next2", "running", "moving", "n", "nearby", "overall"]);
    const frame = session.sql("SELECT rank() OVER (PARTITION BY dept ORDER BY salary DESC) AS rk, sum(salary) OVER (PARTITION BY dept ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM staff");
    assert.deepEqual(frame.schema.fields.map((field) => [field.name, field.type]), [["rk", "int"], ["sum(salary) OVER (PARTITION BY dept ORDER BY id ASC NULLS FIRST ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)", "long"]]);
  });

  it("the DataFrame API (Window.partitionBy(...).orderBy(...), col.over(w)) gives the same, and ntile cuts buckets as Spark", async () => {
    const byDept = Window.partitionBy("dept");
    const bySalaryDown = byDept.orderBy(desc("salary"));
    const byIdWindow = byDept.orderBy("id");
    const rows = await session.sql("SELECT * FROM staff").select(
      "id", "dept", "salary",
      row_number().over(byIdWindow).alias("rn"),
      rank().over(bySalaryDown).alias("rk"),
      dense_rank().over(bySalaryDown).alias("dr"),
      percent_rank().over(bySalaryDown).alias("pr"),
      cume_dist().over(bySalaryDown).alias("cd"),
      lag("salary").over(byIdWindow).alias("prev"),
      lead(col("salary"), 2, -1).over(byIdWindow).alias("next2"),
      sum("salary").over(byDept.orderBy("salary")).alias("running"),
      sum("salary").over(byIdWindow.rowsBetween(-2, Window.currentRow)).alias("moving"),
      count("*").over(byDept).alias("n"),
      avg("salary").over().alias("overall"),
      ntile(3).over(bySalaryDown).alias("tile"),
    ).collect();
    check(rows, ["rn", "rk", "dr", "pr", "cd", "prev", "next2", "running", "moving", "n", "overall"]);
    for (const dept of new Set(staff.map((row) => row.dept))) {
      const tiles = rows.filter((row) => row.dept === dept).sort((a, b) => (a.tile as number) - (b.tile as number));
      const sizes = [1, 2, 3].map((tile) => tiles.filter((row) => row.tile === tile).length);
      const first = staff.filter((row) => row.dept === dept).sort(bySalaryDesc)[0] as Employee;
      assert.deepEqual(sizes, expected.get(first.id)?.ntileSizes, `ntile sizes of ${String(dept)}`);
    }
    // withColumn and a window inside an expression keep the other columns; rangeBetween by value.
    const ranked = await session.sql("SELECT * FROM staff").withColumn("gap", col("salary").minus(lag("salary").over(byIdWindow))).where("gap IS NOT NULL").collect();
    assert.equal(ranked.length, [...expected.entries()].filter(([id, row]) => row.prev !== null && staff[id]?.salary !== null).length);
    assert.deepEqual(Object.keys(ranked[0] ?? {}), ["id", "dept", "salary", "gap"]);
  });

  it("a window over a GROUP BY result ranks the groups (window after aggregation, as Spark plans it)", async () => {
    const rows = await session.sql("SELECT dept, sum(salary) AS total, rank() OVER (ORDER BY sum(salary) DESC) AS place FROM staff WHERE dept IS NOT NULL GROUP BY dept").collect();
    const totals = new Map<string, number>();
    for (const row of staff) if (row.dept !== null && row.salary !== null) totals.set(row.dept, (totals.get(row.dept) ?? 0) + row.salary);
    const order = [...totals].sort((a, b) => b[1] - a[1]);
    assert.deepEqual(rows.map((row) => [row.dept, Number(row.total), row.place]).sort((a, b) => (a[2] as number) - (b[2] as number)), order.map(([dept, total]) => [dept, total, order.findIndex(([, other]) => other === total) + 1]));
  });

  it("refuses window functions on a stream at start() with Spark's message, in SQL and in the DataFrame API", async () => {
    const stream = new MemoryStream(session, z.object({ id: z.number().int(), dept: z.string().nullable(), salary: z.number().int().nullable() }));
    stream.toDF().createOrReplaceTempView("live");
    const fromSql = session.sql("SELECT id, row_number() OVER (PARTITION BY dept ORDER BY id) AS rn FROM live");
    assert.equal(fromSql.isStreaming, true);
    await assert.rejects(fromSql.writeStream.format("memory").queryName("refused_sql").start(), (error: unknown) => error instanceof AnalysisError && error.message.startsWith("Non-time-based windows are not supported on streaming DataFrames/Datasets") && /row_number\(\) OVER/.test(error.message));
    const fromApi = stream.toDF().select(col("id"), sum("salary").over(Window.partitionBy("dept")).alias("total"));
    await assert.rejects(fromApi.writeStream.format("memory").queryName("refused_api").outputMode("append").start(), (error: unknown) => error instanceof AnalysisError && /^Non-time-based windows are not supported on streaming DataFrames\/Datasets/.test(error.message));
  });

  it("wrong windows fail naming the function, the position and the token", async () => {
    assert.throws(() => session.sql("SELECT row_number() OVER (PARTITION BY dept) FROM staff"), (error: unknown) => error instanceof AnalysisError && /Window function row_number\(\) requires window to be ordered, please add ORDER BY clause/.test(error.message));
    assert.throws(() => session.sql("SELECT rank() OVER (PARTITION dept ORDER BY id) FROM staff"), (error: unknown) => error instanceof ParseError && error.line === 1 && error.column === 31 && /'dept'/.test(error.message));
    assert.throws(() => session.sql("SELECT\n  sum(salary) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND 2 PRECEDING) FROM staff"), (error: unknown) => error instanceof ParseError && error.line === 2 && error.column === 46 && /lower bound of a window frame must be less than or equal to the upper bound/.test(error.message));
    assert.throws(() => session.sql("SELECT sum(salary) OVER w FROM staff"), (error: unknown) => error instanceof ParseError && error.column === 25 && /named windows/.test(error.message));
    assert.throws(() => session.sql("SELECT upper(dept) OVER (ORDER BY id) FROM staff"), (error: unknown) => error instanceof AnalysisError && /upper\(\) is not a window function/.test(error.message));
    assert.throws(() => session.sql("SELECT id FROM staff WHERE rank() OVER (ORDER BY id) = 1"), (error: unknown) => error instanceof AnalysisError && /can only be a column of select/.test(error.message));
    assert.throws(() => Window.orderBy("id").rowsBetween(1, -1), (error: unknown) => error instanceof AnalysisError && /lower bound of a window frame/.test(error.message));
  });
});
