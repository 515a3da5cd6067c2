// How the runtime behaves for a user: frames on subjects, backpressure, dead letters, triggers, errors at start().
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { connect } from "@nats-io/transport-node";
import { decodeFrame } from "../../src/actors/codec.ts";
import { AnalysisError, MemoryStream, activitySchema, generateActivity, z, type Row } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

import type { Session } from "../../src/index.ts";

const server = useNatsServer();
const ROWS = generateActivity({ seed: 5, count: 2000 });

describe("the continuous runtime over NATS", () => {
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

  it("sends every record between actors as frames on the query's subjects", async () => {
    const watcher = await connect(server().options);
    let dataRows = 0;
    let barriers = 0;
    const subjects = new Set<string>();
    const subscription = watcher.subscribe("rill.watched.>", {
      callback: (_error, message) => {
        if (message.subject.endsWith(".credit") || message.subject.includes("._")) return;
        const frame = decodeFrame(message.data) as { kind: number; rows?: Row[] };
        subjects.add(message.subject.split(".").slice(3).join("."));
        if (frame.kind === 0) dataRows += frame.rows?.length ?? 0;
        if (frame.kind === 1) barriers++;
      },
    });
    await watcher.flush();
    const input = new MemoryStream(session, activitySchema);
    const query = await input.toDF().groupBy("gt").count().writeStream.queryName("watched").format("memory").outputMode("complete").start();
    input.addData(ROWS);
    await query.processAllAvailable();
    await watcher.flush();
    subscription.unsubscribe();
    await watcher.close();
    assert.ok(dataRows >= ROWS.length, `frames carried ${dataRows} rows; the source alone sent ${ROWS.length}`);
    assert.ok(barriers >= 3, `barriers seen: ${barriers}`);
    // Each subject belongs to a receiving actor: the two aggregate partitions and the sink.
    assert.deepEqual([...subjects].sort(), ["s1-aggregate.p0", "s1-aggregate.p1", "s2-sink-memory.p0"]);
  });

  it("a slow sink slows the source through credits and loses no row", async () => {
    session.conf.set("rill.flow.window", 64);
    const input = new MemoryStream(session, activitySchema);
    const received: number[] = [];
    const query = await input.toDF().select("Index", "Device").writeStream.foreach(async (row) => {
      received.push(row.Index as number);
      if (received.length % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }).start();
    session.conf.set("rill.flow.window", 8192);
    input.addData(ROWS);
    await query.processAllAvailable();
    assert.equal(received.length, ROWS.length);
    assert.deepEqual(received, ROWS.map((row) => row.Index));
    const creditWaits = query.recentProgress.reduce((sum, progress) => sum + progress.stages.reduce((total, stage) => total + stage.creditWaits, 0), 0);
    assert.ok(creditWaits > 0, "the source must have waited for credit from the slow sink");
    await query.stop();
  });

  it("sends records that fail the schema to the dead-letter subject with the reason, and counts them", async () => {
    const watcher = await connect(server().options);
    const letters: Array<{ reason: string; raw: string }> = [];
    let arrived: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (arrived = resolve));
    const subscription = watcher.subscribe("rill.dead_test.deadletter", { callback: (_error, message) => {
      letters.push(message.json());
      arrived();
    } });
    await watcher.flush();
    const schema = z.object({ id: z.number().int(), name: z.string() });
    const input = new MemoryStream(session, schema);
    const query = await input.toDF().writeStream.queryName("dead_test").format("memory").start();
    input.addData([{ id: 1, name: "ok" }, { id: "two", name: "bad" } as unknown as { id: number; name: string }, { id: 3, name: "fine" }]);
    await query.processAllAvailable();
    // The letter goes into the dead-letter stream (created on the first letter), which delivers it to this subscriber too.
    await first;
    await query.stop();
    await watcher.flush();
    assert.deepEqual(session.table("dead_test").map((row) => row.id), [1, 3]);
    assert.equal(letters.length, 1);
    assert.match(letters[0]?.reason ?? "", /id/);
    assert.match(letters[0]?.raw ?? "", /two/);
    assert.equal(query.status.numDeadLetters, 1);
    subscription.unsubscribe();
    await watcher.close();
  });

  it("splits frames that would exceed the broker's payload limit, and loses none of their rows", async () => {
    const wide = z.object({ id: z.number().int(), blob: z.string() });
    const input = new MemoryStream(session, wide);
    const query = await input.toDF().writeStream.queryName("wide_rows").format("memory").start();
    // Each row's blob differs: a frame's string dictionary would carry 600 equal blobs once.
    input.addData(Array.from({ length: 600 }, (_, id) => ({ id, blob: String(id).padStart(8 * 1024, "x") })));
    await query.processAllAvailable();
    const ids = session.table("wide_rows").map((row) => row.id);
    assert.deepEqual(ids, Array.from({ length: 600 }, (_, id) => id));
    const frames = query.recentProgress.reduce((sum, progress) => sum + (progress.stages[0]?.framesOut ?? 0), 0);
    assert.ok(frames >= 5, `600 rows of 8 KiB need at least 5 frames under a 1 MiB limit; sent ${frames}`);
  });

  it("fails an epoch that does not complete within rill.epoch.timeout, naming the actor it waits for", async () => {
    session.conf.set("rill.epoch.timeout", "1 second");
    const input = new MemoryStream(session, activitySchema);
    const query = await input.toDF().writeStream.queryName("stuck").foreach(() => new Promise<void>(() => undefined)).start();
    session.conf.set("rill.epoch.timeout", "2 minutes");
    input.addData(ROWS.slice(0, 5));
    await assert.rejects(query.awaitTermination(30_000), /epoch \d+ did not complete within 1000 ms; still waiting for .*s1-sink-foreach\.p0/);
  });

  it("a once trigger processes what is there and stops", async () => {
    const input = new MemoryStream(session, activitySchema);
    input.addData(ROWS);
    const query = await input.toDF().where("x > 0").writeStream.queryName("once_run").format("memory").trigger({ once: true }).start();
    assert.equal(await query.awaitTermination(30_000), true);
    assert.equal(query.isActive, false);
    assert.equal(session.table("once_run").length, ROWS.filter((row) => row.x > 0).length);
  });

  it("lists active queries, finds them by id, and wakes awaitAnyTermination when an availableNow query ends", async () => {
    const input = new MemoryStream(session, activitySchema);
    input.addData(ROWS);
    const running = await input.toDF().writeStream.queryName("still_running").format("memory").start();
    assert.equal(session.streams.get(running.id), running);
    assert.ok(session.streams.active.includes(running));
    session.streams.resetTerminated();
    const ended = session.streams.awaitAnyTermination(30_000);
    const finite = await input.toDF().writeStream.queryName("available_now").format("memory").trigger({ availableNow: true }).start();
    assert.equal(await ended, true);
    assert.equal(finite.isActive, false);
    assert.equal(session.streams.get(finite.id), undefined);
    assert.equal(session.table("available_now").length, ROWS.length);
    assert.ok(running.isActive);
    await running.stop();
    assert.ok(!session.streams.active.includes(running));
  });

  it("a processingTime trigger delivers rows at the interval, as micro-batches", async () => {
    const input = new MemoryStream(session, activitySchema);
    const batches: Array<{ epoch: number; size: number }> = [];
    const query = await input.toDF().writeStream.foreachBatch((rows, epochId) => {
      batches.push({ epoch: epochId, size: rows.length });
    }).trigger({ processingTime: "200 milliseconds" }).start();
    input.addData(ROWS.slice(0, 500));
    await query.processAllAvailable();
    input.addData(ROWS.slice(500));
    await query.processAllAvailable();
    const total = batches.reduce((sum, batch) => sum + batch.size, 0);
    assert.equal(total, ROWS.length);
    const epochs = batches.map((batch) => batch.epoch);
    assert.deepEqual(epochs, [...epochs].sort((a, b) => a - b));
  });
});

describe("a wrong query fails at start() and names what is wrong", () => {
  let session: Session;
  before(() => {
    session = natsSession(server().options);
  });
  after(async () => {
    await session.stop();
  });

  it("names an unknown column and suggests the closest", async () => {
    const input = new MemoryStream(session, activitySchema);
    await assert.rejects(input.toDF().select("gtt").writeStream.format("memory").queryName("bad_column").start(), (error: unknown) => {
      assert.ok(error instanceof AnalysisError);
      assert.match(error.message, /'gtt'/);
      assert.match(error.message, /Did you mean 'gt'\?/);
      return true;
    });
  });

  it("refuses complete mode without an aggregation, and append mode with one", async () => {
    const input = new MemoryStream(session, activitySchema);
    await assert.rejects(input.toDF().writeStream.format("memory").queryName("c").outputMode("complete").start(), /Complete output mode not supported when there are no streaming aggregations/);
    await assert.rejects(input.toDF().groupBy("gt").count().writeStream.format("memory").queryName("a").outputMode("append").start(), /Append output mode not supported when there are streaming aggregations/);
  });

  it("names a mistyped where condition and a type mismatch", async () => {
    const input = new MemoryStream(session, activitySchema);
    await assert.rejects(input.toDF().where("gt + 1").writeStream.format("memory").queryName("w").start(), /must be boolean/);
    // A string column averages as doubles (Spark's PromoteStrings); a boolean is refused, as in Spark.
    await assert.rejects(input.toDF().groupBy("gt").agg("avg(x > 0)").writeStream.format("memory").queryName("t").outputMode("update").start(), /avg\(\(x > 0\)\) needs a numeric argument/);
  });

  it("names a missing memory-sink query name and an unknown sink format", async () => {
    const input = new MemoryStream(session, activitySchema);
    await assert.rejects(input.toDF().writeStream.format("memory").start(), /queryName must be specified for memory sink/);
    await assert.rejects(input.toDF().writeStream.format("consol").start(), /consol/);
  });
});
