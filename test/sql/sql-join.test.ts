// SQL JOIN: a stream joined with a static view (each join type, USING and ON, qualified columns, a windowed aggregation
// after it), static-static joins, Spark's refusals at start(), and the seed's 21.4.3 in SQL, against plain code on a
// real nats-server.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { AnalysisError, MemoryStream, generateActivity, z, type OutputMode, type Row, type Session } from "../../src/index.ts";
import type { DataFrame } from "../../src/api/dataframe.ts";
import { jsonWithLongs } from "../../src/core/long.ts";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const ACTIVITY = generateActivity({ seed: 2114, count: 3000 });
const BASE = Date.UTC(2026, 0, 1);

const readingSchema = z.object({ id: z.number().int(), device: z.string().nullable(), v: z.number(), ts: z.date() });
interface Reading { id: number; device: string | null; v: number; ts: Date }
interface Device { device: string | null; model: string; cap: number }

/** Readings of devices d0..d7 (some null), out of order by id, one a second; the static view knows d0..d5 (d2 twice), a null and an unknown device. */
function readings(count: number, seed: number): Reading[] {
  const random = mulberry32(seed);
  const rows = Array.from({ length: count }, (_, id) => ({ id, device: random() < 0.05 ? null : `d${Math.floor(random() * 8)}`, v: Math.round(random() * 1000) / 10, ts: new Date(BASE + id * 1000) }));
  for (let index = rows.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [rows[index], rows[other]] = [rows[other] as Reading, rows[index] as Reading];
  }
  return rows;
}
const DEVICES: Device[] = [
  { device: "d0", model: "m-a", cap: 50 }, { device: "d1", model: "m-b", cap: 10 }, { device: "d2", model: "m-a", cap: 90 },
  { device: "d2", model: "m-c", cap: 20 }, { device: "d3", model: "m-b", cap: 70 }, { device: "d4", model: "m-c", cap: 40 },
  { device: "d5", model: "m-a", cap: 60 }, { device: null, model: "m-null", cap: 0 }, { device: "d9", model: "m-z", cap: 1 },
];

function canonical(rows: readonly Row[]): string[] {
  return rows.map((row) => jsonWithLongs(Object.fromEntries(Object.entries(row).sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => [key, value instanceof Date ? value.getTime() : value])))).sort();
}

/** join(devices, ["device"], how) in plain code: the key, the reading's columns, then the device's. */
function usingOracle(input: readonly Reading[], how: "inner" | "left" | "semi" | "anti" | "right" | "full"): Row[] {
  const rows: Row[] = [];
  const matched = new Set<Device>();
  for (const reading of input) {
    const matches = DEVICES.filter((device) => device.device !== null && device.device === reading.device);
    for (const match of matches) matched.add(match);
    if (how === "semi") {
      if (matches.length > 0) rows.push({ ...reading });
    } else if (how === "anti") {
      if (matches.length === 0) rows.push({ ...reading });
    } else {
      for (const match of matches) rows.push({ ...reading, model: match.model, cap: match.cap });
      if (matches.length === 0 && (how === "left" || how === "full")) rows.push({ ...reading, model: null, cap: null });
    }
  }
  if (how === "right" || how === "full") for (const device of DEVICES) if (!matched.has(device)) rows.push({ device: device.device, id: null, v: null, ts: null, model: device.model, cap: device.cap });
  return rows;
}

describe("SQL joins over NATS", () => {
  let session: Session;
  let folder: string;
  let counter = 0;
  before(async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 3 });
    folder = await mkdtemp(join(tmpdir(), "rill-sql-join-"));
    session.createDataFrame(DEVICES as unknown as Row[], "device STRING, model STRING, cap LONG").createOrReplaceTempView("devices");
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  /** A fresh stream view `readings` holding `input`, the SQL query run to the end in a memory sink, and its rows. */
  async function runOver(input: readonly Reading[], sql: string, outputMode: OutputMode = "append"): Promise<Row[]> {
    const stream = new MemoryStream(session, readingSchema);
    stream.toDF().createOrReplaceTempView("readings");
    const name = `sql_join_${++counter}`;
    const query = await session.sql(sql).writeStream.queryName(name).format("memory").outputMode(outputMode).start();
    stream.addData(input.slice(0, Math.floor(input.length / 2)));
    stream.addData(input.slice(Math.floor(input.length / 2)));
    await query.processAllAvailable();
    const rows = session.table(name);
    await query.stop();
    return rows;
  }

  it("INNER, LEFT OUTER, LEFT SEMI and LEFT ANTI JOIN ... USING of a stream with a static view equal plain code", async () => {
    const input = readings(1200, 31);
    const cases: Array<[string, "inner" | "left" | "semi" | "anti"]> = [
      ["JOIN", "inner"], ["INNER JOIN", "inner"], ["LEFT OUTER JOIN", "left"], ["LEFT JOIN", "left"], ["LEFT SEMI JOIN", "semi"], ["LEFT ANTI JOIN", "anti"], ["ANTI JOIN", "anti"],
    ];
    for (const [keyword, how] of cases) {
      const rows = await runOver(input, `SELECT * FROM readings r ${keyword} devices d USING (device)`);
      assert.deepEqual(canonical(rows), canonical(usingOracle(input, how)), keyword);
      const expectedColumns = how === "semi" || how === "anti" ? ["device", "id", "v", "ts"] : ["device", "id", "v", "ts", "model", "cap"];
      assert.deepEqual(Object.keys(rows[0] ?? {}), expectedColumns, `${keyword}: SELECT * gives the DataFrame join's columns`);
    }
  });

  it("ON with an extra condition and qualified columns: r.device and d.device are both selectable; SELECT * equals the DataFrame join", async () => {
    const input = readings(1000, 32);
    const expected: Row[] = [];
    for (const reading of input) {
      const matches = DEVICES.filter((device) => device.device !== null && device.device === reading.device && reading.v > device.cap);
      if (matches.length === 0) expected.push({ id: reading.id, device: reading.device, device_right: null, model: null, over: null });
      for (const match of matches) expected.push({ id: reading.id, device: reading.device, device_right: match.device, model: match.model, over: reading.v - match.cap });
    }
    const sql = "SELECT r.id, r.device, d.device, d.model, r.v - d.cap AS over FROM readings AS r LEFT OUTER JOIN devices AS d ON r.device = d.device AND r.v > d.cap";
    const rows = await runOver(input, sql);
    assert.deepEqual(Object.keys(rows[0] ?? {}), ["id", "device", "device_right", "model", "over"]);
    assert.deepEqual(canonical(rows), canonical(expected));

    // SELECT * and d.* against the DataFrame API's join of the same sides.
    const star = await runOver(input, "SELECT * FROM readings r JOIN devices d ON r.device = d.device AND r.v > d.cap");
    const stream = new MemoryStream(session, readingSchema);
    const devices = session.sql("SELECT * FROM devices");
    const api = await stream.toDF().alias("r").join(devices.alias("d"), undefined, "inner").filter("device = device_right and v > cap").writeStream.queryName("api_join").format("memory").outputMode("append").start();
    stream.addData(input);
    await api.processAllAvailable();
    assert.deepEqual(Object.keys(star[0] ?? {}), ["id", "device", "v", "ts", "device_right", "model", "cap"]);
    assert.deepEqual(canonical(star), canonical(session.table("api_join")));
    const onlyDevice = await runOver(input, "SELECT d.*, r.id FROM readings r JOIN devices d ON r.device = d.device AND r.v > d.cap");
    assert.deepEqual(canonical(onlyDevice), canonical(session.table("api_join").map((row) => ({ device_right: row.device_right, model: row.model, cap: row.cap, id: row.id }))));
  });

  it("a join then GROUP BY window(r.ts, ...), d.model equals plain code (complete mode)", async () => {
    const input = readings(900, 33);
    const rows = await runOver(input, "SELECT window.start AS start, d.model, count(*) AS n, sum(r.v) AS total FROM readings r JOIN devices d ON r.device = d.device GROUP BY window(r.ts, '1 minute'), d.model", "complete");
    const expected = new Map<string, { n: number; total: number }>();
    for (const reading of input) {
      for (const device of DEVICES) {
        if (device.device === null || device.device !== reading.device) continue;
        const start = reading.ts.getTime() - (reading.ts.getTime() % 60_000);
        const entry = expected.get(`${start}|${device.model}`) ?? { n: 0, total: 0 };
        entry.n++;
        entry.total += reading.v;
        expected.set(`${start}|${device.model}`, entry);
      }
    }
    const time = (value: unknown) => (value instanceof Date ? value.getTime() : Number(value));
    const actual = new Map(rows.map((row): [string, { n: number; total: number }] => [`${time(row.start)}|${String(row.model)}`, { n: Number(row.n), total: Math.round((row.total as number) * 1000) / 1000 }]));
    assert.deepEqual([...actual].sort(), [...expected].map(([key, value]): [string, { n: number; total: number }] => [key, { n: value.n, total: Math.round(value.total * 1000) / 1000 }]).sort());
  });

  it("joins two static views with collect(): right and full outer, comma joins and CROSS JOIN", async () => {
    const input = readings(300, 34);
    session.createDataFrame(input as unknown as Row[], "id LONG, device STRING, v DOUBLE, ts TIMESTAMP").createOrReplaceTempView("past");
    for (const [keyword, how] of [["JOIN", "inner"], ["LEFT JOIN", "left"], ["RIGHT OUTER JOIN", "right"], ["FULL OUTER JOIN", "full"], ["LEFT SEMI JOIN", "semi"], ["LEFT ANTI JOIN", "anti"]] as const) {
      assert.deepEqual(canonical(await session.sql(`SELECT * FROM past p ${keyword} devices d USING (device)`).collect()), canonical(usingOracle(input, how)), keyword);
    }
    const comma = await session.sql("SELECT p.id, d.device, d.model FROM past p, devices d WHERE p.device = d.device").collect();
    assert.deepEqual(canonical(comma), canonical(usingOracle(input, "inner").map((row) => ({ id: row.id, device_right: row.device, model: row.model }))));
    assert.equal(await session.sql("SELECT * FROM past CROSS JOIN devices").count(), input.length * DEVICES.length);
    // A nested join: the left side is itself a join, its qualifiers p and b still name their columns in ON and SELECT.
    const nested = await session.sql("SELECT p.id, b.model, c.model AS other FROM past p JOIN devices b USING (device) JOIN (SELECT device, model FROM devices WHERE cap > 30) c ON p.device = c.device AND b.model <> c.model").collect();
    const expected: Row[] = [];
    for (const reading of input) {
      for (const b of DEVICES) {
        if (b.device === null || b.device !== reading.device) continue;
        for (const c of DEVICES) if (c.cap > 30 && c.device === reading.device && c.model !== b.model) expected.push({ id: reading.id, model: b.model, other: c.model });
      }
    }
    assert.ok(expected.length > 0);
    assert.deepEqual(canonical(nested), canonical(expected));
  });

  it("refuses at start() what the DataFrame join refuses (RIGHT OUTER with the stream on the left); unknown qualifiers fail at sql() naming them", async () => {
    new MemoryStream(session, readingSchema).toDF().createOrReplaceTempView("readings");
    const refused = session.sql("SELECT * FROM readings r RIGHT OUTER JOIN devices d USING (device)");
    await assert.rejects(refused.writeStream.format("memory").queryName("refused").start(), (error: unknown) => error instanceof AnalysisError && /Right outer join with a streaming DataFrame\/Dataset on the left and a static DataFrame\/Dataset on the right is not supported \(join type right_outer\)/.test(error.message));
    await assert.rejects(session.sql("SELECT * FROM devices d LEFT JOIN readings r USING (device)").writeStream.format("memory").queryName("refused2").start(), (error: unknown) => error instanceof AnalysisError && /Left outer join with a streaming DataFrame\/Dataset on the right/.test(error.message));
    assert.throws(() => session.sql("SELECT x.id FROM readings r JOIN devices d USING (device)"), (error: unknown) => error instanceof AnalysisError && /Column 'x.id' does not exist/.test(error.message) && /No relation named 'x' in FROM \(relations: r, d\)/.test(error.message));
    assert.throws(() => session.sql("SELECT * FROM readings r JOIN devices d ON r.device = x.device"), (error: unknown) => error instanceof AnalysisError && /no relation named 'x' in FROM/.test(error.message));
    assert.throws(() => session.sql("SELECT d.serial FROM readings r JOIN devices d USING (device)"), (error: unknown) => error instanceof AnalysisError && /'d' has no column 'serial'/.test(error.message));
    assert.throws(() => session.sql("SELECT d.model FROM readings r LEFT SEMI JOIN devices d USING (device)"), (error: unknown) => error instanceof AnalysisError && /semi or anti join/.test(error.message));
  });

  it("the seed's 21.4.3 written in SQL equals the DataFrame version", async () => {
    const dir = join(folder, "activity-data");
    await mkdir(dir);
    for (let part = 0; part < 3; part++) await writeFile(join(dir, `part-${part}.json`), `${ACTIVITY.slice(part * 1000, part * 1000 + 1000).map((row) => jsonWithLongs(row)).join("\n")}\n`);
    const staticFrame = session.read.json(dir);
    const streaming = session.readStream.schema(staticFrame.schema).option("maxFilesPerTrigger", 10).json(dir);
    const run = async (frame: DataFrame, name: string) => {
      const query = await frame.writeStream.queryName(name).format("memory").outputMode("complete").start();
      await query.processAllAvailable();
      await query.stop();
      return session.table(name);
    };
    const api = await run(streaming.drop("Arrival_Time", "Creation_Time", "Index").cube("gt", "model").avg().join(staticFrame.groupBy("gt", "model").avg(), ["gt", "model"]), "seed_api");
    streaming.createOrReplaceTempView("activity_stream");
    staticFrame.createOrReplaceTempView("activity_static");
    const sql = await run(session.sql(`
      SELECT * FROM (SELECT gt, Model, avg(x), avg(y), avg(z) FROM activity_stream GROUP BY CUBE(gt, Model)) s
      JOIN (SELECT gt, Model, avg(Arrival_Time), avg(Creation_Time), avg(Index), avg(x), avg(y), avg(z) FROM activity_static GROUP BY gt, Model) h
      USING (gt, Model)`), "seed_sql");
    assert.ok(api.length >= 8, "the join keeps every (gt, Model) pair with a non-null gt");
    assert.deepEqual(Object.keys(sql[0] ?? {}), Object.keys(api[0] ?? {}));
    assert.deepEqual(canonical(sql), canonical(api));
  });
});
