// Lookup sources for stream-static joins: a static side read from the machine's PostgreSQL and Redis, in a scratch
// database (PostgreSQL) or key prefix and ACL user (Redis) of each run, dropped afterwards. Skipped, saying why, when
// no server is reachable (PGHOST/PGPORT/PGUSER, REDIS_URL; defaults 127.0.0.1:5432 as postgres, 127.0.0.1:6379).
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { createClient } from "redis";
import { ConfigError, MemoryStream, z, type Row, type Session } from "../../src/index.ts";
import { jsonWithLongs } from "../../src/core/long.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { Session as RillSession } from "../../src/index.ts";

const server = useNatsServer();
const RUN = `${process.pid}_${Math.floor(Math.random() * 1e9)}`;
const SECRET = `s3cret-${RUN}`;
const PG_ADMIN = { host: process.env.PGHOST ?? "127.0.0.1", port: Number(process.env.PGPORT ?? 5432), user: process.env.PGUSER ?? "postgres", ...(process.env.PGPASSWORD ? { password: process.env.PGPASSWORD } : {}) };
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const pgSkip = await reachable(async () => {
  const client = new pg.Client({ ...PG_ADMIN, database: process.env.PGDATABASE ?? "postgres", connectionTimeoutMillis: 5000 });
  await client.connect();
  await client.end();
}, `PostgreSQL is not reachable at ${PG_ADMIN.host}:${PG_ADMIN.port} as ${PG_ADMIN.user} (set PGHOST, PGPORT, PGUSER, PGPASSWORD)`);
const redisSkip = await reachable(async () => {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 5000, reconnectStrategy: false } });
  client.on("error", () => undefined);
  await client.connect();
  client.destroy();
}, `Redis is not reachable at ${REDIS_URL} (set REDIS_URL)`);

async function reachable(probe: () => Promise<void>, what: string): Promise<string | false> {
  try {
    await probe();
    return false;
  } catch (error) {
    const reason = `${what}: ${error instanceof Error ? error.message : String(error)}; these lookup-source tests are skipped.`;
    console.log(`# SKIPPED: ${reason}`);
    return reason;
  }
}

const readingSchema = z.object({ id: z.number().int(), device: z.string().nullable(), v: z.number() });
interface Reading { id: number; device: string | null; v: number }
interface Device { device: string; model: string; lim: number }
const DEVICES: Device[] = [
  { device: "d0", model: "m-a", lim: 50 }, { device: "d1", model: "m-b", lim: 10 }, { device: "d2", model: "m-a", lim: 90 },
  { device: "d3", model: "m-b", lim: 70 }, { device: "d4", model: "m-c", lim: 40 }, { device: "d9", model: "m-z", lim: 1 },
];
const READINGS: Reading[] = Array.from({ length: 400 }, (_, id) => ({ id, device: id % 13 === 0 ? null : `d${(id * 7) % 8}`, v: (id * 37) % 100 }));

/** Inner or left outer join of readings with devices on device, in plain code. */
function oracle(readings: readonly Reading[], devices: readonly Device[], how: "inner" | "left"): Row[] {
  return readings.flatMap((reading): Row[] => {
    const matches = devices.filter((device) => device.device === reading.device);
    if (matches.length === 0) return how === "left" ? [{ ...reading, model: null, lim: null }] : [];
    return matches.map((device) => ({ ...reading, model: device.model, lim: device.lim }));
  });
}

function canonical(rows: readonly Row[]): string[] {
  return rows.map((row) => jsonWithLongs(Object.fromEntries(Object.entries(row).sort(([a], [b]) => a.localeCompare(b))))).sort();
}

function newSession(logs: string[]): Session {
  return RillSession.builder().appName(`rill-lookup-${RUN}`).nats(server().options).log((message) => logs.push(message)).config("rill.shuffle.partitions", 2).getOrCreate();
}

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return typeof address === "object" && address !== null ? address.port : 1;
}

/** Adds one reading of `device` at a time until its joined row shows `model`; each row must show one of `allowed`. */
async function waitForModel(session: Session, stream: MemoryStream<typeof readingSchema>, query: { processAllAvailable(): Promise<void> }, table: string, device: string, model: string, allowed: readonly string[], firstId: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  let id = firstId;
  for (;;) {
    stream.addData([{ id, device, v: 0 }]);
    await query.processAllAvailable();
    const last = session.table(table).find((row) => row.id === id);
    assert.ok(last && allowed.includes(String(last.model)), `row ${id} joined against a whole table version: ${JSON.stringify(last)}`);
    if (last.model === model) return id + 1;
    assert.ok(Date.now() < deadline, `the static side did not show model ${model} within a minute`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    id++;
  }
}

describe("PostgreSQL lookup source", { skip: pgSkip }, () => {
  const database = `rill_lookup_${RUN}`;
  let admin: pg.Client;
  /** Connected to the maintenance database: ALTER DATABASE cannot refuse connections to the database it runs in. */
  let root: pg.Client;
  let url: string;
  const logs: string[] = [];
  let session: Session;
  before(async () => {
    root = new pg.Client({ ...PG_ADMIN, database: process.env.PGDATABASE ?? "postgres" });
    await root.connect();
    await root.query(`CREATE DATABASE ${database}`);
    admin = new pg.Client({ ...PG_ADMIN, database });
    await admin.connect();
    await admin.query("CREATE TABLE devices (device text PRIMARY KEY, model text NOT NULL, lim integer, since timestamptz, serial bigint, score numeric, active boolean, day date)");
    for (const [index, device] of DEVICES.entries()) {
      await admin.query("INSERT INTO devices VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", [device.device, device.model, device.lim, `2024-01-0${index + 1} 10:00:00.250+02`, `${9007199254740993n + BigInt(index)}`, index + 0.5, index % 2 === 0, `2024-03-0${index + 1}`]);
    }
    // The password is wrong for nothing (the server may trust the connection) but must never be printed.
    url = `postgresql://${encodeURIComponent(PG_ADMIN.user)}:${SECRET}@${PG_ADMIN.host}:${PG_ADMIN.port}/${database}`;
    session = newSession(logs);
  });
  after(async () => {
    await session?.stop();
    await admin?.end();
    await root?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await root?.end();
    assert.ok(!logs.some((line) => line.includes(SECRET)), "no log line carries the password");
  });

  it("takes the schema from PostgreSQL's column types and reads every value exactly", async () => {
    const devices = await session.read.format("jdbc").option("url", `jdbc:${url}`).option("dbtable", "devices").loadAsync();
    assert.deepEqual(devices.schema.fields.map((field) => `${field.name}:${field.type}`), ["device:string", "model:string", "lim:int", "since:timestamp", "serial:long", "score:double", "active:boolean", "day:date"]);
    const rows = await devices.orderBy("device").collect();
    assert.deepEqual(rows.map((row) => [row.device, row.lim, row.since, row.serial, row.score, row.active, row.day]), DEVICES.map((device, index) => [
      device.device, device.lim, Date.UTC(2024, 0, index + 1, 8, 0, 0, 250), 9007199254740993n + BigInt(index), index + 0.5, index % 2 === 0, Date.UTC(2024, 2, index + 1),
    ]));
  });

  it("enriches a stream by a PostgreSQL table: inner and left outer joins equal plain code", async () => {
    const devices = (await session.read.format("postgres").option("url", url).option("query", "SELECT device, model, lim FROM devices").loadAsync());
    for (const how of ["inner", "left"] as const) {
      const stream = new MemoryStream(session, readingSchema);
      const query = await stream.toDF().join(devices, "device", how).writeStream.queryName(`pg_${how}`).format("memory").outputMode("append").start();
      stream.addData(READINGS);
      await query.processAllAvailable();
      assert.deepEqual(canonical(session.table(`pg_${how}`)), canonical(oracle(READINGS, DEVICES, how)));
      assert.ok(!query.explain().includes(SECRET), "explain does not show the password");
      assert.match(query.explain(), /PostgreSQL/);
      await query.stop();
    }
  });

  it("a refresh picks up a changed row; with the database refusing connections the previous whole table stays in use", async () => {
    const devices = session.read.format("postgres").schema("device STRING, model STRING, lim INT").options({ url, dbtable: "devices", refreshInterval: "100 ms", connectRetries: 0 }).load();
    const stream = new MemoryStream(session, readingSchema);
    const query = await stream.toDF().join(devices, "device").writeStream.queryName("pg_refresh").format("memory").outputMode("append").start();
    let id = await waitForModel(session, stream, query, "pg_refresh", "d1", "m-b", ["m-b"], 0);
    await admin.query("UPDATE devices SET model = 'v2' WHERE device = 'd1'");
    id = await waitForModel(session, stream, query, "pg_refresh", "d1", "v2", ["m-b", "v2"], id);

    // The database goes away for new connections (this admin connection stays): every reload now fails.
    await root.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
    const failures = logs.length;
    await admin.query("UPDATE devices SET model = 'v3' WHERE device = 'd1'");
    const deadline = Date.now() + 60_000;
    while (!logs.slice(failures).some((line) => line.includes("reloading the static side") && line.includes(`PostgreSQL postgresql://${PG_ADMIN.user}@${PG_ADMIN.host}:${PG_ADMIN.port}/${database}`))) {
      assert.ok(Date.now() < deadline, "a failed reload was not logged within a minute");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Every device still joins against the last whole table: v2 for d1, the rest as inserted.
    const batch = READINGS.map((reading) => ({ ...reading, id: reading.id + 100_000 }));
    stream.addData(batch);
    await query.processAllAvailable();
    const expected = oracle(batch, DEVICES.map((device) => (device.device === "d1" ? { ...device, model: "v2" } : device)), "inner");
    assert.deepEqual(canonical(session.table("pg_refresh").filter((row) => Number(row.id) >= 100_000)), canonical(expected));
    assert.ok(query.isActive, "a failed reload does not stop the query");
    const side = query.lastProgress?.staticSides?.[0];
    assert.ok(side && side.failedReloads > 0 && side.lastReloadError?.includes(`PostgreSQL postgresql://${PG_ADMIN.user}@`), `progress reports the failed reloads: ${JSON.stringify(side)}`);
    assert.ok(!JSON.stringify(query.lastProgress).includes(SECRET), "progress does not show the password");

    await root.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
    await waitForModel(session, stream, query, "pg_refresh", "d1", "v3", ["v2", "v3"], id);
    await query.stop();
  });

  it("start() against a database with nothing listening retries with back-off, then fails naming the database, not the password", async () => {
    const port = await deadPort();
    const devices = session.read.format("postgres").schema("device STRING, model STRING").options({ url: `postgresql://rill:${SECRET}@127.0.0.1:${port}/inventory`, dbtable: "devices", connectRetries: 2, retryBackoff: "100 ms" }).load();
    const stream = new MemoryStream(session, readingSchema);
    const started = Date.now();
    await assert.rejects(stream.toDF().join(devices, "device").writeStream.queryName("pg_down").format("memory").start(), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, new RegExp(`PostgreSQL postgresql://rill@127\\.0\\.0\\.1:${port}/inventory: 3 tries over \\d+ ms failed \\(connectRetries 2, retryBackoff 100 ms\\)`));
      assert.ok(!error.message.includes(SECRET) && !String(error.cause).includes(SECRET), error.message);
      return true;
    });
    assert.ok(Date.now() - started >= 300, "waited 100 ms, then 200 ms between the three tries");
  });
});

describe("Redis lookup source", { skip: redisSkip }, () => {
  const prefix = `rill-test:${RUN}:device:`;
  const user = `rill-test-${RUN}`;
  let admin: ReturnType<typeof createClient>;
  let url: string;
  const logs: string[] = [];
  let session: Session;
  before(async () => {
    admin = createClient({ url: REDIS_URL });
    admin.on("error", () => undefined);
    await admin.connect();
    for (const device of DEVICES) await admin.hSet(`${prefix}${device.device}`, { model: device.model, lim: String(device.lim) });
    await admin.hSet(`${prefix}bad`, { model: "m-bad", lim: "not a number" });
    for (const device of DEVICES) await admin.set(`rill-test:${RUN}:json:${device.device}`, JSON.stringify({ model: device.model, lim: device.lim }));
    // A user of its own that can read only this run's keys: switching it off makes the server refuse the reloads.
    await admin.sendCommand(["ACL", "SETUSER", user, "on", `>${SECRET}`, `~rill-test:${RUN}:*`, "+@all"]);
    const base = new URL(REDIS_URL);
    url = `redis://${user}:${SECRET}@${base.hostname}:${base.port || 6379}`;
    session = newSession(logs);
  });
  after(async () => {
    await session?.stop();
    for await (const keys of admin.scanIterator({ MATCH: `rill-test:${RUN}:*`, COUNT: 1000 })) if (keys.length > 0) await admin.del(keys);
    await admin.sendCommand(["ACL", "DELUSER", user]);
    admin.destroy();
    assert.ok(!logs.some((line) => line.includes(SECRET)), "no log line carries the password");
  });

  it("enriches a stream by Redis hashes (a bad value to the dead letter) and by JSON values, equal to plain code", async () => {
    const hashes = session.read.format("redis").schema("device STRING, model STRING, lim INT").options({ url, keyPrefix: prefix, keyColumn: "device" }).load();
    const skipped = logs.length;
    assert.deepEqual(canonical(await hashes.collect()), canonical(DEVICES.map((device): Row => ({ ...device }))));
    assert.ok(logs.slice(skipped).some((line) => line.includes(`key '${prefix}bad'`) && line.includes("field 'lim'")), "the bad hash is reported");
    const json = await session.read.format("redis").options({ url, keyPrefix: `rill-test:${RUN}:json:`, keyColumn: "device", valueType: "json" }).loadAsync();
    assert.deepEqual(json.schema.fields.map((field) => `${field.name}:${field.type}`), ["device:string", "lim:long", "model:string"]);
    for (const [name, frame] of [["redis_hash", hashes], ["redis_json", json]] as const) {
      const stream = new MemoryStream(session, readingSchema);
      const query = await stream.toDF().join(frame, "device", "left").writeStream.queryName(name).format("memory").outputMode("append").start();
      stream.addData(READINGS);
      await query.processAllAvailable();
      assert.deepEqual(canonical(session.table(name)), canonical(oracle(READINGS, DEVICES, "left")));
      assert.ok(!query.explain().includes(SECRET));
      await query.stop();
    }
  });

  it("a refresh picks up a changed hash; with the server refusing the user the previous whole table stays in use", async () => {
    const devices = session.read.format("redis").schema("device STRING, model STRING, lim INT").options({ url, keyPrefix: prefix, keyColumn: "device", refreshInterval: "100 ms", connectRetries: 0 }).load();
    const stream = new MemoryStream(session, readingSchema);
    const query = await stream.toDF().join(devices, "device").writeStream.queryName("redis_refresh").format("memory").outputMode("append").start();
    let id = await waitForModel(session, stream, query, "redis_refresh", "d1", "m-b", ["m-b"], 0);
    await admin.hSet(`${prefix}d1`, "model", "v2");
    id = await waitForModel(session, stream, query, "redis_refresh", "d1", "v2", ["m-b", "v2"], id);

    await admin.sendCommand(["ACL", "SETUSER", user, "off"]);
    await admin.sendCommand(["CLIENT", "KILL", "USER", user]).catch(() => undefined);
    const failures = logs.length;
    await admin.hSet(`${prefix}d1`, "model", "v3");
    await admin.del(`${prefix}d3`);
    const deadline = Date.now() + 60_000;
    while (!logs.slice(failures).some((line) => line.includes("reloading the static side") && line.includes(`Redis redis://${user}@`))) {
      assert.ok(Date.now() < deadline, "a failed reload was not logged within a minute");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const batch = READINGS.map((reading) => ({ ...reading, id: reading.id + 100_000 }));
    stream.addData(batch);
    await query.processAllAvailable();
    const expected = oracle(batch, DEVICES.map((device) => (device.device === "d1" ? { ...device, model: "v2" } : device)), "inner");
    assert.deepEqual(canonical(session.table("redis_refresh").filter((row) => Number(row.id) >= 100_000)), canonical(expected));

    await admin.sendCommand(["ACL", "SETUSER", user, "on"]);
    await waitForModel(session, stream, query, "redis_refresh", "d1", "v3", ["v2", "v3"], id);
    await query.stop();
  });

  it("start() against a Redis with nothing listening fails naming it after the retries", async () => {
    const port = await deadPort();
    const devices = session.read.format("redis").schema("device STRING, model STRING").options({ url: `redis://someone:${SECRET}@127.0.0.1:${port}`, keyPrefix: "x:", keyColumn: "device", connectRetries: 1, retryBackoff: "50 ms" }).load();
    const stream = new MemoryStream(session, readingSchema);
    await assert.rejects(stream.toDF().join(devices, "device").writeStream.queryName("redis_down").format("memory").start(), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, new RegExp(`Redis redis://someone@127\\.0\\.0\\.1:${port}/0: 2 tries`));
      assert.ok(!error.message.includes(SECRET), error.message);
      return true;
    });
  });
});
