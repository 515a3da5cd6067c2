// SQL common table expressions (WITH), NATURAL JOIN and subqueries in FROM over static views and a stream, against
// plain code on seeded data; parse errors name the line, column and token.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { AnalysisError, MemoryStream, ParseError, z, type Row, type Session } from "../../src/index.ts";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { inProcessSession } from "../helpers/session.ts";

interface Employee { id: number; dept: string | null; name: string; salary: number }
interface Dept { dept: string | null; region: string }

function employees(count: number, seed: number): Employee[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, (_, id) => ({ id, dept: random() < 0.05 ? null : `d${Math.floor(random() * 6)}`, name: `e${id}`, salary: 1000 + Math.floor(random() * 40) * 50 }));
}
const DEPTS: Dept[] = [{ dept: "d0", region: "north" }, { dept: "d1", region: "south" }, { dept: "d2", region: "north" }, { dept: "d3", region: "east" }, { dept: "d9", region: "west" }, { dept: null, region: "nowhere" }];

function canonical(rows: readonly Row[]): string[] {
  return rows.map((row) => JSON.stringify(Object.fromEntries(Object.entries(row).sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => [key, typeof value === "bigint" ? Number(value) : value ?? null])))).sort();
}

describe("SQL WITH, NATURAL JOIN and subqueries in FROM", () => {
  let session: Session;
  const staff = employees(400, 1401);
  before(() => {
    session = inProcessSession();
    session.createDataFrame(staff as unknown as Row[], "id INT, dept STRING, name STRING, salary LONG").createOrReplaceTempView("staff");
    session.createDataFrame(DEPTS as unknown as Row[], "dept STRING, region STRING").createOrReplaceTempView("depts");
  });
  after(async () => {
    await session.stop();
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  it("NATURAL [INNER | LEFT | RIGHT | FULL] JOIN joins on every shared column name, kept once, as JOIN ... USING", async () => {
    for (const [keyword, how] of [["NATURAL JOIN", "inner"], ["NATURAL LEFT OUTER JOIN", "left"], ["NATURAL RIGHT JOIN", "right"], ["NATURAL FULL JOIN", "full"], ["NATURAL LEFT ANTI JOIN", "anti"]] as const) {
      const rows = await session.sql(`SELECT * FROM staff ${keyword} depts`).collect();
      const expected: Row[] = [];
      const matched = new Set<Dept>();
      for (const employee of staff) {
        const matches = DEPTS.filter((dept) => dept.dept !== null && dept.dept === employee.dept);
        for (const match of matches) matched.add(match);
        if (how === "anti") {
          if (matches.length === 0) expected.push({ ...employee });
          continue;
        }
        for (const match of matches) expected.push({ ...employee, region: match.region });
        if (matches.length === 0 && (how === "left" || how === "full")) expected.push({ ...employee, region: null });
      }
      if (how === "right" || how === "full") for (const dept of DEPTS) if (!matched.has(dept)) expected.push({ dept: dept.dept, id: null, name: null, salary: null, region: dept.region });
      assert.deepEqual(canonical(rows), canonical(expected), keyword);
      const using = await session.sql(`SELECT * FROM staff ${keyword.replace("NATURAL ", "")} depts USING (dept)`).collect();
      assert.deepEqual(canonical(rows), canonical(using), `${keyword} equals USING (dept)`);
    }
    // No shared column: a NATURAL JOIN is the Cartesian product, as in Spark.
    session.createDataFrame([{ k: 1 }, { k: 2 }], "k INT").createOrReplaceTempView("ks");
    assert.equal(await session.sql("SELECT * FROM depts NATURAL JOIN ks").count(), DEPTS.length * 2);
  });

  it("WITH: each CTE sees the ones before it, hides a view of its name, and is visible in subqueries; subqueries in FROM nest", async () => {
    const rows = await session.sql(`
      WITH paid AS (SELECT dept, sum(salary) AS total, count(*) AS n FROM staff WHERE dept IS NOT NULL GROUP BY dept),
           big AS (SELECT dept, total FROM paid WHERE n >= 60),
           depts AS (SELECT dept, upper(region) AS region FROM depts WHERE region <> 'east')
      SELECT b.dept, b.total, d.region FROM big b LEFT JOIN (SELECT * FROM depts) d ON b.dept = d.dept`).collect();
    const totals = new Map<string, { total: number; n: number }>();
    for (const employee of staff) {
      if (employee.dept === null) continue;
      const entry = totals.get(employee.dept) ?? { total: 0, n: 0 };
      entry.total += employee.salary;
      entry.n++;
      totals.set(employee.dept, entry);
    }
    const expected = [...totals].filter(([, entry]) => entry.n >= 60).map(([dept, entry]) => ({ dept, total: entry.total, region: DEPTS.find((candidate) => candidate.dept === dept && candidate.region !== "east")?.region.toUpperCase() ?? null }));
    assert.ok(expected.length >= 2 && expected.length < totals.size, "the data leaves some departments out");
    assert.deepEqual(canonical(rows), canonical(expected));
    // A subquery in FROM with its own WITH, and a nested subquery of a subquery.
    const nested = await session.sql("SELECT count(*) AS c FROM (WITH rich AS (SELECT * FROM staff WHERE salary > 2000) SELECT * FROM (SELECT id FROM rich) r) x").collect();
    assert.deepEqual(nested.map((row) => Number(row.c)), [staff.filter((employee) => employee.salary > 2000).length]);
  });

  it("WITH over a stream gives a streaming DataFrame whose result equals plain code", async () => {
    const stream = new MemoryStream(session, z.object({ id: z.number().int(), dept: z.string().nullable(), name: z.string(), salary: z.number().int() }));
    stream.addData(staff);
    stream.toDF().createOrReplaceTempView("live");
    const frame = session.sql("WITH tagged AS (SELECT l.id, l.salary, region FROM live l JOIN depts d ON l.dept = d.dept) SELECT region, count(*) AS n FROM tagged GROUP BY region");
    assert.equal(frame.isStreaming, true);
    const query = await frame.writeStream.format("memory").queryName("with_stream").outputMode("complete").start();
    await query.processAllAvailable();
    const expected = new Map<string, number>();
    for (const employee of staff) for (const dept of DEPTS) if (dept.dept !== null && dept.dept === employee.dept) expected.set(dept.region, (expected.get(dept.region) ?? 0) + 1);
    assert.deepEqual(canonical(session.table("with_stream")), canonical([...expected].map(([region, n]) => ({ region, n }))));
  });

  it("refuses duplicate CTE names, NATURAL with ON, and NATURAL CROSS JOIN, naming the line, column and token", () => {
    assert.throws(() => session.sql("WITH a AS (SELECT * FROM staff),\n  a AS (SELECT * FROM depts) SELECT * FROM a"), (error: unknown) => error instanceof ParseError && error.line === 2 && error.column === 3 && /CTE definition can't have duplicate names: 'a'/.test(error.message));
    assert.throws(() => session.sql("SELECT * FROM staff NATURAL JOIN depts ON staff.dept = depts.dept"), (error: unknown) => error instanceof ParseError && error.column === 40 && /a NATURAL JOIN takes no ON/.test(error.message));
    assert.throws(() => session.sql("SELECT * FROM staff NATURAL CROSS JOIN depts"), (error: unknown) => error instanceof ParseError && /NATURAL CROSS JOIN is not supported/.test(error.message));
    assert.throws(() => session.sql("WITH a AS SELECT * FROM staff SELECT * FROM a"), (error: unknown) => error instanceof ParseError && error.column === 11 && /SELECT/.test(error.message));
    assert.throws(() => session.sql("WITH a AS (SELECT * FROM staff) SELECT * FROM b"), (error: unknown) => error instanceof AnalysisError && /Table or view not found: 'b'/.test(error.message) && /Views and memory tables: a, /.test(error.message));
    // A CTE is not visible outside its query.
    assert.throws(() => session.sql("SELECT * FROM (WITH inner_cte AS (SELECT 1 AS one FROM staff) SELECT * FROM inner_cte) x JOIN inner_cte y ON x.one = y.one"), (error: unknown) => error instanceof AnalysisError && /'inner_cte'/.test(error.message));
  });
});
