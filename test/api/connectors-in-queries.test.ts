// Sources and sinks inside running queries: NATS in and out, files from a watched folder, chaining, a channel gap.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { connect } from "@nats-io/transport-node";
import { Packr } from "msgpackr";
import { MemoryStream, activitySchema, expr, generateActivity, z, type Row, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession, inProcessSession } from "../helpers/session.ts";

const server = useNatsServer();
const ROWS = generateActivity({ seed: 9, count: 1500 });

describe("connectors in running queries", () => {
  let session: Session;
  before(() => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2 });
  });
  after(async () => {
    await session.stop();
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  it("reads JSON from a NATS subject and publishes results to another, dead-lettering bad payloads", async () => {
    const client = await connect(server().options);
    const results: Row[] = [];
    const letters: string[] = [];
    let arrived = (): void => undefined;
    const allArrived = new Promise<void>((resolve) => (arrived = resolve));
    const check = () => {
      if (results.length === 29 && letters.length === 2) arrived();
    };
    client.subscribe("out.alerts", { callback: (_error, message) => {
      results.push(message.json());
      check();
    } });
    client.subscribe("rill.nats_pipe.deadletter", { callback: (_error, message) => {
      letters.push(message.string());
      check();
    } });
    await client.flush();
    const readings = z.object({ sensor: z.string(), value: z.number() });
    const query = await session.readStream.format("nats").option("subject", "in.readings").schema(readings).load()
      .where("value > 10").selectExpr("sensor", "value * 2 as doubled")
      .writeStream.queryName("nats_pipe").format("nats").option("subject", "out.alerts").start();
    for (let index = 0; index < 40; index++) client.publish("in.readings", JSON.stringify({ sensor: `s${index % 4}`, value: index }));
    client.publish("in.readings", "not json at all");
    client.publish("in.readings", JSON.stringify({ sensor: "s9", value: "high" }));
    await client.flush();
    await allArrived;
    assert.deepEqual(results.map((row) => row.doubled).sort((a, b) => (a as number) - (b as number)), Array.from({ length: 29 }, (_, index) => (index + 11) * 2));
    assert.equal(letters.length, 2);
    assert.match(letters.join("\n"), /value/);
    await query.processAllAvailable();
    assert.equal(query.status.numDeadLetters, 2);
    await client.close();
  });

  it("reads JSON lines from files added to a watched folder, once each", async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-files-"));
    try {
      const schema = z.object({ gt: z.string().nullable(), x: z.number(), User: z.string() });
      const query = await session.readStream.schema(schema).option("maxFilesPerTrigger", 1).json(folder)
        .groupBy("User").count().writeStream.queryName("file_counts").format("memory").outputMode("complete").start();
      const lines = (rows: typeof ROWS) => rows.map((row) => JSON.stringify({ gt: row.gt, x: row.x, User: row.User })).join("\n");
      await writeFile(join(folder, "part-0.json"), lines(ROWS.slice(0, 700)));
      await query.processAllAvailable();
      await writeFile(join(folder, "part-1.json"), `${lines(ROWS.slice(700))}\n{"broken": `);
      await query.processAllAvailable();
      await query.processAllAvailable();
      const expected = new Map<string, number>();
      for (const row of ROWS) expected.set(row.User, (expected.get(row.User) ?? 0) + 1);
      const actual = new Map(session.table("file_counts").map((row) => [row.User as string, row.count as number]));
      assert.deepEqual(new Map([...actual].sort()), new Map([...expected].sort()));
      assert.equal(query.status.numDeadLetters, 1);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("gives the same result with every operator in its own actor (chaining off)", async () => {
    const run = async (chaining: string, name: string) => {
      session.conf.set("rill.chaining", chaining);
      const input = new MemoryStream(session, activitySchema);
      const query = await input.toDF().where("gt is not null").withColumn("m", expr("x * 10"))
        .groupBy("gt").agg({ m: "sum", "*": "count" }).writeStream.queryName(name).format("memory").outputMode("complete").start();
      input.addData(ROWS);
      await query.processAllAvailable();
      const stages = query.lastProgress?.stages.length ?? 0;
      await query.stop();
      return { rows: session.table(name).sort((a, b) => String(a.gt).localeCompare(String(b.gt))), stages };
    };
    const chained = await run("true", "chained");
    const unchained = await run("false", "unchained");
    session.conf.set("rill.chaining", "true");
    assert.deepEqual(unchained.rows, chained.rows);
    assert.ok(unchained.stages > chained.stages, `stages: chained ${chained.stages}, unchained ${unchained.stages}`);
  });

  it("fails the query, naming the channel, when a frame is lost (a sequence gap)", async () => {
    const input = new MemoryStream(session, activitySchema);
    const query = await input.toDF().writeStream.queryName("gap_test").format("memory").start();
    input.addData(ROWS.slice(0, 10));
    await query.processAllAvailable();
    const client = await connect(server().options);
    const sinkSubject = query.explain().match(/subjects (rill\.gap_test\.\w+\.s1-sink-memory)\.p\*/)?.[1];
    assert.ok(sinkSubject, query.explain());
    const forged = new Packr({ useRecords: true }).pack({ kind: 0, sender: 0, seq: 999, epoch: 0, since: 0, rows: [] });
    client.publish(`${sinkSubject}.p0`, forged);
    await client.flush();
    await assert.rejects(query.awaitTermination(10_000), /expected frame \d+, got 999; frames were lost/);
    assert.match(query.exception()?.message ?? "", /s0-source-memory\.p0 -> s1-sink-memory\.p0/);
    await client.close();
  });
});

describe("the in-process transport", () => {
  it("runs the same query to the same result without a broker", async () => {
    const session = inProcessSession();
    try {
      const input = new MemoryStream(session, activitySchema);
      const query = await input.toDF().groupBy("Model").count().writeStream.queryName("inproc").format("memory").outputMode("complete").start();
      input.addData(ROWS);
      await query.processAllAvailable();
      const expected = new Map<string, number>();
      for (const row of ROWS) expected.set(row.Model, (expected.get(row.Model) ?? 0) + 1);
      assert.deepEqual(new Map(session.table("inproc").map((row): [string, number] => [row.Model as string, row.count as number]).sort()), new Map([...expected].sort()));
      assert.equal(session.transport.kind, "inprocess");
    } finally {
      await session.stop();
    }
  });
});

