// Load time of a lookup table: 100,000 PostgreSQL rows and 20,000 Redis hashes read whole (loadAsync + count), 3 runs.
// Needs the machine's PostgreSQL (postgres@127.0.0.1:5432) and Redis (127.0.0.1:6379); makes and drops its own database and keys.
// Run: npx tsx bench/lookup/load.ts
import pg from "pg";
import { createClient } from "redis";
import { Session } from "../../src/index.ts";
const db = `rill_lookup_bench_${process.pid}`;
const root = new pg.Client({ host: "127.0.0.1", user: "postgres", database: "postgres" });
await root.connect();
await root.query(`CREATE DATABASE ${db}`);
const admin = new pg.Client({ host: "127.0.0.1", user: "postgres", database: db });
await admin.connect();
await admin.query("CREATE TABLE devices AS SELECT 'd' || i AS device, 'm' || (i % 7) AS model, i AS lim FROM generate_series(1, 100000) i");
await admin.end();
const redis = createClient({ url: "redis://127.0.0.1:6379" });
await redis.connect();
const prefix = `rill-bench:${process.pid}:`;
for (let i = 0; i < 20000; i += 1000) await Promise.all(Array.from({ length: 1000 }, (_, j) => redis.hSet(`${prefix}d${i + j}`, { model: `m${(i + j) % 7}`, lim: String(i + j) })));
const session = Session.builder().config("rill.transport", "inprocess").log(() => undefined).getOrCreate();
for (let run = 0; run < 3; run++) {
  let t = performance.now();
  const frame = await session.read.format("postgres").options({ url: `postgresql://postgres@127.0.0.1:5432/${db}`, dbtable: "devices" }).loadAsync();
  const n = await frame.count();
  const pgMs = performance.now() - t;
  t = performance.now();
  const r = await session.read.format("redis").schema("device STRING, model STRING, lim INT").options({ keyPrefix: prefix, keyColumn: "device" }).load().count();
  console.log(`run ${run}: postgres ${n} rows ${pgMs.toFixed(0)} ms; redis ${r} hashes ${(performance.now() - t).toFixed(0)} ms`);
}
await session.stop();
for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length) await redis.del(keys);
redis.destroy();
await root.query(`DROP DATABASE ${db} WITH (FORCE)`);
await root.end();
