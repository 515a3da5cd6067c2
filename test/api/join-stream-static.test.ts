// Stream-static joins: the seed's 21.4.3 and 22.4 as written, each join type against plain code, Spark's refusals at
// start(), and a static side reloaded on its refresh interval. Against a real nats-server.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AnalysisError, MemoryStream, expr, generateActivity, z, type DataFrame, type Row, type Session } from "../../src/index.ts";
import { jsonWithLongs } from "../../src/core/long.ts";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const ACTIVITY = generateActivity({ seed: 2114, count: 3000 });

const readingSchema = z.object({ id: z.number().int(), device: z.string().nullable(), v: z.number() });
interface Reading { id: number; device: string | null; v: number }
interface Device { device: string | null; model: string; limit: number }

/** Readings of devices d0..d7 (some null), out of order by id; the static table knows d0..d5 and d2 twice, plus a null and an unknown device. */
function readings(count: number, seed: number): Reading[] {
  const random = mulberry32(seed);
  const rows = Array.from({ length: count }, (_, id) => ({ id, device: random() < 0.05 ? null : `d${Math.floor(random() * 8)}`, v: Math.round(random() * 1000) / 10 }));
  for (let index = rows.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [rows[index], rows[other]] = [rows[other] as Reading, rows[index] as Reading];
  }
  return rows;
}
const DEVICES: Device[] = [
  { device: "d0", model: "m-a", limit: 50 }, { device: "d1", model: "m-b", limit: 10 }, { device: "d2", model: "m-a", limit: 90 },
  { device: "d2", model: "m-c", limit: 20 }, { device: "d3", model: "m-b", limit: 70 }, { device: "d4", model: "m-c", limit: 40 },
  { device: "d5", model: "m-a", limit: 60 }, { device: null, model: "m-null", limit: 0 }, { device: "d9", model: "m-z", limit: 1 },
];

function canonical(rows: readonly Row[]): string[] {
  return rows.map((row) => jsonWithLongs(Object.fromEntries(Object.entries(row).sort(([a], [b]) => a.localeCompare(b))))).sort();
}

describe("stream-static joins over NATS", () => {
  let session: Session;
  let folder: string;
  before(async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 3 });
    folder = await mkdtemp(join(tmpdir(), "rill-join-"));
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("seed 21.4.3 and 22.4 as written: cube(gt, model).avg() joined with the static groupBy(gt, model).avg() equals plain code", async () => {
    const dir = join(folder, "activity-data");
    await mkdir(dir);
    for (let part = 0; part < 3; part++) await writeFile(join(dir, `part-${part}.json`), `${ACTIVITY.slice(part * 1000, part * 1000 + 1000).map((row) => jsonWithLongs(row)).join("\n")}\n`);
    // 22.4
    session.conf.set("spark.sql.shuffle.partitions", 5);
    const staticFrame = session.read.json(dir);
    const streaming = session
      .readStream
      .schema(staticFrame.schema)
      .option("maxFilesPerTrigger", 10)
      .json(dir);
    // 21.4.3
    const historicalAgg = staticFrame.groupBy("gt", "model").avg();
    const deviceModelStats = await streaming.drop("Arrival_Time", "Creation_Time", "Index")
      .cube("gt", "model").avg()
      .join(historicalAgg, ["gt", "model"])
      .writeStream.queryName("device_counts").format("memory")
      .outputMode("complete")
      .start();
    await deviceModelStats.processAllAvailable();

    const actual = session.table("device_counts");
    assert.deepEqual(Object.keys(actual[0] ?? {}), ["gt", "Model", "avg(x)", "avg(y)", "avg(z)", "avg(Arrival_Time)", "avg(Creation_Time)", "avg(Index)", "avg(x)_right", "avg(y)_right", "avg(z)_right"]);
    const expected = seedJoin(ACTIVITY);
    assert.ok(expected.length >= 8, "the join keeps every (gt, model) pair with a non-null gt");
    assert.equal(actual.length, expected.length);
    const byKey = new Map(actual.map((row) => [`${String(row.gt)}|${String(row.Model)}`, row]));
    for (const want of expected) {
      const got = byKey.get(`${String(want.gt)}|${String(want.Model)}`);
      assert.ok(got, `missing ${String(want.gt)}|${String(want.Model)}`);
      for (const [column, value] of Object.entries(want)) {
        if (typeof value === "number") assert.ok(Math.abs((got[column] as number) - value) <= Math.abs(value) * 1e-12 + 1e-9, `${column}: ${String(got[column])} vs ${value}`);
        else assert.equal(got[column], value);
      }
    }
    await deviceModelStats.stop();
  });

  it("inner, left outer, left semi and left anti joins on a column list equal plain code (append mode, several matches, null keys)", async () => {
    const devices = session.createDataFrame(DEVICES as unknown as Row[], "device STRING, model STRING, limit LONG");
    const input = readings(1500, 7);
    for (const how of ["inner", "left", "left_outer", "semi", "left_anti"] as const) {
      const stream = new MemoryStream(session, readingSchema);
      const name = `join_${how}`;
      const query = await stream.toDF().join(devices, ["device"], how).writeStream.queryName(name).format("memory").outputMode("append").start();
      stream.addData(input.slice(0, 700));
      stream.addData(input.slice(700));
      await query.processAllAvailable();
      assert.deepEqual(canonical(session.table(name)), canonical(joinOracle(input, how)), `join type ${how}`);
      await query.stop();
    }
  });

  it("joins on an expression over aliased sides, the equality hashed and the rest a condition; static on the left for inner and right outer", async () => {
    const devices = session.createDataFrame(DEVICES as unknown as Row[], "device STRING, model STRING, limit LONG");
    const input = readings(1200, 8);
    const stream = new MemoryStream(session, readingSchema);
    const condition = expr("r.device = d.device and r.v > d.limit");
    const query = await stream.toDF().alias("r").join(devices.alias("d"), condition, "left_outer").writeStream.queryName("join_expr").format("memory").outputMode("append").start();
    const right = await devices.alias("d").join(stream.toDF().alias("r"), condition, "right_outer").writeStream.queryName("join_static_left").format("memory").outputMode("append").start();
    stream.addData(input);
    await query.processAllAvailable();
    await right.processAllAvailable();
    const expected: Row[] = [];
    for (const reading of input) {
      const matches = DEVICES.filter((device) => device.device !== null && device.device === reading.device && reading.v > device.limit);
      if (matches.length === 0) expected.push({ ...reading, device_right: null, model: null, limit: null });
      for (const match of matches) expected.push({ ...reading, device_right: match.device, model: match.model, limit: match.limit });
    }
    assert.deepEqual(canonical(session.table("join_expr")), canonical(expected));
    const staticLeft = expected.map((row) => ({ device: row.device_right, model: row.model, limit: row.limit, id: row.id, device_right: row.device, v: row.v }));
    assert.deepEqual(canonical(session.table("join_static_left")), canonical(staticLeft));
    await query.stop();
    await right.stop();
  });

  it("joins after a streaming aggregation in update and complete mode", async () => {
    const devices = session.createDataFrame(DEVICES as unknown as Row[], "device STRING, model STRING, limit LONG");
    const input = readings(900, 9);
    for (const mode of ["update", "complete"] as const) {
      const stream = new MemoryStream(session, readingSchema);
      const name = `agg_join_${mode}`;
      const query = await stream.toDF().groupBy("device").agg("count(*) as n", "max(v) as top").join(devices, "device", "left").writeStream.queryName(name).format("memory").outputMode(mode).start();
      stream.addData(input.slice(0, 400));
      await query.processAllAvailable();
      stream.addData(input.slice(400));
      await query.processAllAvailable();
      const groups = new Map<string | null, { n: number; top: number }>();
      for (const reading of input) {
        const group = groups.get(reading.device) ?? { n: 0, top: Number.NEGATIVE_INFINITY };
        group.n++;
        group.top = Math.max(group.top, reading.v);
        groups.set(reading.device, group);
      }
      const expected: Row[] = [];
      for (const [device, group] of groups) {
        const matches = DEVICES.filter((entry) => entry.device !== null && entry.device === device);
        if (matches.length === 0) expected.push({ device, n: group.n, top: group.top, model: null, limit: null });
        for (const match of matches) expected.push({ device, n: group.n, top: group.top, model: match.model, limit: match.limit });
      }
      const rows = session.table(name);
      // Update mode keeps each result row's latest version; both modes end with the whole result.
      const latest = mode === "update" ? [...new Map(rows.map((row) => [`${String(row.device)}|${String(row.model)}`, row])).values()] : rows;
      assert.deepEqual(canonical(latest), canonical(expected), `output mode ${mode}`);
      await query.stop();
    }
  });

  it("refuses at start() the joins Spark refuses, naming the join and the rule; join() itself does not throw", async () => {
    const devices = session.createDataFrame(DEVICES as unknown as Row[], "device STRING, model STRING, limit LONG");
    const stream = new MemoryStream(session, readingSchema).toDF();
    const refused: Array<[DataFrame, RegExp]> = [
      [stream.join(devices, "device", "right"), /Right outer join with a streaming DataFrame\/Dataset on the left and a static DataFrame\/Dataset on the right is not supported \(join type right_outer\)/],
      [stream.join(devices, "device", "full_outer"), /Full outer joins with a streaming DataFrame\/Dataset on the left .* \(join type full_outer\)/],
      [devices.join(stream, "device", "left"), /Left outer join with a streaming DataFrame\/Dataset on the right .* \(join type left_outer\)/],
      [devices.join(stream, "device", "left_anti"), /Left anti joins with a streaming DataFrame\/Dataset on the right/],
      [stream.join(devices, expr("device = device")), /Reference 'device' is ambiguous/],
      [stream.join(devices, ["model"]), /USING column 'model' cannot be resolved on the left side/],
    ];
    for (const [frame, message] of refused) {
      await assert.rejects(frame.writeStream.format("memory").queryName("refused").start(), (error: unknown) => error instanceof AnalysisError && message.test(error.message) && (!/outer|anti/.test(error.message) || /no unmatched static row is ever final/.test(error.message)), String(message));
    }
    assert.throws(() => stream.join(devices, "device", "sideways"), (error: unknown) => error instanceof AnalysisError && /Unsupported join type 'sideways'/.test(error.message));
  });

  it("fails start() naming the static side when it cannot be read, and explain() shows the join step", async () => {
    const dir = join(folder, "vanishing");
    await mkdir(dir);
    await writeFile(join(dir, "devices.json"), `${JSON.stringify({ device: "d0", model: "m" })}\n{not json\n`);
    const logged: string[] = [];
    const previous = session.log;
    const dimension = session.read.json(dir);
    const stream = new MemoryStream(session, readingSchema);
    Object.assign(session, { log: (message: string) => logged.push(message) });
    try {
      const query = await stream.toDF().join(dimension, "device").writeStream.queryName("explained").format("memory").outputMode("append").start();
      assert.match(query.explain(), /join: inner with StaticFiles\[json, .*vanishing\] \(static right\)/);
      assert.ok(logged.some((line) => /1 bad record went to the dead-letter stream RILL_DEADLETTERS \(subject rill._static-rill-test.deadletter\) \(the first: .*devices.json:2: not valid JSON/.test(line)), logged.join("\n"));
      await query.stop();
    } finally {
      Object.assign(session, { log: previous });
    }
    await rm(dir, { recursive: true });
    await assert.rejects(stream.toDF().join(dimension, "device").writeStream.queryName("vanished").format("memory").outputMode("append").start(), (error: unknown) => error instanceof Error && error.name === "ConfigError" && /Cannot load the static side StaticFiles\[json, .*vanishing\] of a join: Path does not exist/.test(error.message));
  });

  it("joins two static frames with every join type, right and full outer included", async () => {
    const devices = session.createDataFrame(DEVICES as unknown as Row[], "device STRING, model STRING, limit LONG");
    const input = readings(300, 10);
    const frame = session.createDataFrame(input as unknown as Row[], "id LONG, device STRING, v DOUBLE");
    for (const how of ["inner", "left", "right", "full", "semi", "anti"] as const) {
      const rows = await frame.join(devices, ["device"], how).collect();
      assert.deepEqual(canonical(rows), canonical(joinOracle(input, how)), `static join ${how}`);
    }
    assert.equal(await frame.crossJoin(devices).count(), input.length * DEVICES.length);
  });

  it("reloads the static side on option(\"refreshInterval\"), whole: new rows join against the new table", async () => {
    const dir = join(folder, "dimension");
    await mkdir(dir);
    const write = async (model: string) => {
      await writeFile(join(dir, ".next.json"), `${["d0", "d1"].map((device) => JSON.stringify({ device, model })).join("\n")}\n`);
      await rename(join(dir, ".next.json"), join(dir, "devices.json"));
    };
    await write("v1");
    const dimension = session.read.option("refreshInterval", "100 milliseconds").json(dir);
    const stream = new MemoryStream(session, readingSchema);
    const query = await stream.toDF().join(dimension, "device").writeStream.queryName("refreshed").format("memory").outputMode("append").start();
    stream.addData([{ id: 1, device: "d0", v: 1 }]);
    await query.processAllAvailable();
    assert.deepEqual(session.table("refreshed").map((row) => row.model), ["v1"]);
    await write("v2");
    const deadline = Date.now() + 60_000;
    let id = 2;
    for (;;) {
      stream.addData([{ id, device: "d1", v: 1 }]);
      await query.processAllAvailable();
      const last = session.table("refreshed").at(-1);
      assert.ok(last?.model === "v1" || last?.model === "v2", "each row joins against one whole version");
      if (last?.model === "v2") break;
      assert.ok(Date.now() < deadline, "the static side was not reloaded within a minute");
      await new Promise((resolve) => setTimeout(resolve, 50));
      id++;
    }
    await query.stop();
  });
});

/** The join of readings with DEVICES on device, as Spark defines each type (null keys never match). */
function joinOracle(input: readonly Reading[], how: string): Row[] {
  const rows: Row[] = [];
  const matched = new Set<Device>();
  for (const reading of input) {
    const matches = DEVICES.filter((device) => device.device !== null && device.device === reading.device);
    for (const match of matches) matched.add(match);
    if (how === "semi" || how === "left_semi") {
      if (matches.length > 0) rows.push({ ...reading });
      continue;
    }
    if (how === "left_anti" || how === "anti") {
      if (matches.length === 0) rows.push({ ...reading });
      continue;
    }
    if (matches.length === 0 && (how === "left" || how === "left_outer" || how === "full")) rows.push({ ...reading, model: null, limit: null });
    for (const match of matches) rows.push({ ...reading, model: match.model, limit: match.limit });
  }
  if (how === "right" || how === "full") for (const device of DEVICES) if (!matched.has(device)) rows.push({ device: device.device, id: null, v: null, model: device.model, limit: device.limit });
  return rows;
}

/** Seed 21.4.3 in plain code: cube(gt, Model) averages of x, y, z, inner-joined on both keys with groupBy(gt, Model) averages of every numeric column. */
function seedJoin(rows: readonly Row[]): Row[] {
  const cube = new Map<string, { gt: unknown; Model: unknown; sums: number[]; n: number }>();
  const groups = new Map<string, { sums: number[]; n: number }>();
  for (const row of rows) {
    for (const [keepGt, keepModel] of [[true, true], [true, false], [false, true], [false, false]] as const) {
      const gt = keepGt ? (row.gt ?? null) : null;
      const model = keepModel ? row.Model : null;
      const key = `${keepGt}|${keepModel}|${String(gt)}|${String(model)}`;
      const entry = cube.get(key) ?? { gt, Model: model, sums: [0, 0, 0], n: 0 };
      ["x", "y", "z"].forEach((column, index) => (entry.sums[index] = (entry.sums[index] as number) + (row[column] as number)));
      entry.n++;
      cube.set(key, entry);
    }
    const key = `${String(row.gt ?? null)}|${String(row.Model)}`;
    const group = groups.get(key) ?? { sums: [0, 0, 0, 0, 0, 0], n: 0 };
    ["Arrival_Time", "Creation_Time", "Index", "x", "y", "z"].forEach((column, index) => (group.sums[index] = (group.sums[index] as number) + Number(row[column])));
    group.n++;
    groups.set(key, group);
  }
  const result: Row[] = [];
  for (const entry of cube.values()) {
    if (entry.gt === null || entry.Model === null) continue;
    const group = groups.get(`${String(entry.gt)}|${String(entry.Model)}`);
    if (!group) continue;
    const [ax, ay, az] = entry.sums.map((sum) => sum / entry.n) as [number, number, number];
    const [at, ct, ix, sx, sy, sz] = group.sums.map((sum) => sum / group.n) as [number, number, number, number, number, number];
    result.push({ gt: entry.gt, Model: entry.Model, "avg(x)": ax, "avg(y)": ay, "avg(z)": az, "avg(Arrival_Time)": at, "avg(Creation_Time)": ct, "avg(Index)": ix, "avg(x)_right": sx, "avg(y)_right": sy, "avg(z)_right": sz });
  }
  return result;
}
