// The seed's chapter 22 queries as written, on generated activity data with out-of-order, late and duplicate events.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { MemoryStream, activitySchema, col, generateActivity, window, type Row, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const TEN_MINUTES = 600_000;
const FIVE_MINUTES = 300_000;
/** 4,000 rows over 40 minutes of arrival time, with disorder, late and duplicate events. */
const ROWS = generateActivity({ seed: 22, count: 4000, rowsPerSecond: 100 / 60, outOfOrderFraction: 0.1, maxDelayMs: 120_000, lateFraction: 0.02, lateDelayMs: 3_600_000, duplicateFraction: 0.02 });

/** The seed's event_time: cast(cast(Creation_Time as double)/1000000000 as timestamp), in ms. */
function eventTime(row: Row): number {
  return Number(row.Creation_Time as bigint) / 1_000_000;
}

function windowKey(start: number): string {
  return new Date(start).toISOString();
}

function plainWindowCounts(rows: readonly Row[], size: number, slide: number, by?: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of rows) {
    const time = eventTime(row);
    for (let start = time - (time % slide); start > time - size; start -= slide) {
      const key = `${windowKey(start)}${by ? `|${String(row[by])}` : ""}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return new Map([...counts].sort());
}

function tableCounts(rows: readonly Row[], by?: string): Map<string, number> {
  return new Map(rows.map((row): [string, number] => [`${windowKey((row.window as { start: number }).start)}${by ? `|${String(row[by])}` : ""}`, row.count as number]).sort());
}

describe("seed chapter 22: event-time windows, watermarks and de-duplication", () => {
  let session: Session;
  before(() => {
    session = natsSession(server().options, { "spark.sql.shuffle.partitions": 5, "rill.watermark.maxFutureSkew": "off" });
  });
  after(async () => {
    await session.stop();
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  function withEventTime() {
    const input = new MemoryStream(session, activitySchema);
    const frame = input.toDF().selectExpr("*", "cast(cast(Creation_Time as double)/1000000000 as timestamp) as event_time");
    return { input, frame };
  }

  it("22.5.1 tumbling window: complete mode equals the count in plain code", async () => {
    const { input, frame } = withEventTime();
    const query = await frame.groupBy(window(col("event_time"), "10 minutes")).count()
      .writeStream.queryName("pyevents_per_window").format("memory").outputMode("complete").start();
    input.addData(ROWS.slice(0, 2000));
    await query.processAllAvailable();
    input.addData(ROWS.slice(2000));
    await query.processAllAvailable();
    assert.deepEqual(tableCounts(session.table("pyevents_per_window")), plainWindowCounts(ROWS, TEN_MINUTES, TEN_MINUTES));
  });

  it("22.5.1 windows per User, and sliding windows of 10 minutes every 5: complete mode equals plain code", async () => {
    const { input, frame } = withEventTime();
    const perUser = await frame.groupBy(window(col("event_time"), "10 minutes"), col("User")).count()
      .writeStream.queryName("per_user").format("memory").outputMode("complete").start();
    const sliding = await frame.groupBy(window(col("event_time"), "10 minutes", "5 minutes")).count()
      .writeStream.queryName("sliding").format("memory").outputMode("complete").start();
    input.addData(ROWS);
    await perUser.processAllAvailable();
    await sliding.processAllAvailable();
    assert.deepEqual(tableCounts(session.table("per_user"), "User"), plainWindowCounts(ROWS, TEN_MINUTES, TEN_MINUTES, "User"));
    assert.deepEqual(tableCounts(session.table("sliding")), plainWindowCounts(ROWS, TEN_MINUTES, FIVE_MINUTES));
  });

  it("22.5.2 with a 30-minute watermark: the seed's complete-mode query keeps every window (Spark ignores the watermark there)", async () => {
    const { input, frame } = withEventTime();
    const query = await frame.withWatermark("event_time", "30 minutes").groupBy(window(col("event_time"), "10 minutes", "5 minutes")).count()
      .writeStream.queryName("watermarked_complete").format("memory").outputMode("complete").start();
    input.addData(ROWS);
    await query.processAllAvailable();
    assert.deepEqual(tableCounts(session.table("watermarked_complete")), plainWindowCounts(ROWS, TEN_MINUTES, FIVE_MINUTES));
  });

  it("append mode: every window appears once, late records are counted and never change a closed window", async () => {
    const { input, frame } = withEventTime();
    const query = await frame.withWatermark("event_time", "30 minutes").groupBy(window(col("event_time"), "10 minutes")).count()
      .writeStream.queryName("appended_windows").format("memory").outputMode("append").start();
    for (let offset = 0; offset < ROWS.length; offset += 200) {
      input.addData(ROWS.slice(offset, offset + 200));
      await query.processAllAvailable();
    }
    const rows = session.table("appended_windows");
    const starts = rows.map((row) => (row.window as { start: number }).start);
    assert.equal(new Set(starts).size, starts.length, "each window once");
    assert.ok(rows.length >= 2, `windows closed: ${rows.length}`);
    const dropped = query.recentProgress.reduce((sum, progress) => sum + progress.numRowsDroppedByWatermark, 0);
    assert.ok(dropped > 0, "the generator's late events (an hour behind) are dropped and counted");
    // Replay the same rule in plain code: a row counts unless the watermark (max event time so far - 30 min, as of the previous batch) passed it.
    const expected = new Map<string, number>();
    let maxSeen = Number.NEGATIVE_INFINITY;
    let droppedPlain = 0;
    for (let offset = 0; offset < ROWS.length; offset += 200) {
      const watermark = maxSeen - 1_800_000;
      for (const row of ROWS.slice(offset, offset + 200)) {
        const time = eventTime(row);
        if (time < watermark) {
          droppedPlain++;
          continue;
        }
        const key = windowKey(time - (time % TEN_MINUTES));
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
      for (const row of ROWS.slice(offset, offset + 200)) maxSeen = Math.max(maxSeen, eventTime(row));
    }
    assert.equal(dropped, droppedPlain);
    for (const row of rows) {
      const key = windowKey((row.window as { start: number }).start);
      assert.equal(row.count, expected.get(key), `window ${key}`);
    }
  });

  it("22.6 dropDuplicates([User, event_time]) with a 5-second watermark, then a count per User", async () => {
    const { input, frame } = withEventTime();
    const query = await frame.withWatermark("event_time", "5 seconds").dropDuplicates(["User", "event_time"]).groupBy("User").count()
      .writeStream.queryName("pydeduplicated").format("memory").outputMode("complete").start();
    const inOrder = generateActivity({ seed: 6, count: 3000, duplicateFraction: 0.05 });
    input.addData(inOrder);
    await query.processAllAvailable();
    const distinct = new Map<string, Set<number>>();
    for (const row of inOrder) {
      const times = distinct.get(row.User) ?? new Set<number>();
      times.add(eventTime(row));
      distinct.set(row.User, times);
    }
    const expected = new Map([...distinct].map(([user, times]): [string, number] => [user, times.size]).sort());
    const actual = new Map(session.table("pydeduplicated").map((row): [string, number] => [row.User as string, row.count as number]).sort());
    assert.ok(inOrder.length > [...expected.values()].reduce((a, b) => a + b, 0), "the data has duplicates to remove");
    assert.deepEqual(actual, expected);
  });

  it("state stays bounded over a long out-of-order run with a watermark", async () => {
    const { input, frame } = withEventTime();
    const query = await frame.withWatermark("event_time", "5 minutes").dropDuplicates(["User", "event_time"])
      .groupBy(window(col("event_time"), "1 minute"), col("User")).count()
      .writeStream.queryName("bounded").format("memory").outputMode("update").start();
    const long = generateActivity({ seed: 8, count: 30_000, rowsPerSecond: 20, outOfOrderFraction: 0.2, maxDelayMs: 60_000, duplicateFraction: 0.02 });
    const sizes: number[] = [];
    for (let offset = 0; offset < long.length; offset += 3000) {
      input.addData(long.slice(offset, offset + 3000));
      await query.processAllAvailable();
      sizes.push(query.lastProgress?.stateOperators.reduce((sum, operator) => sum + operator.numRowsTotal, 0) ?? -1);
    }
    const first = sizes[1] ?? 0;
    const last = sizes[sizes.length - 1] ?? 0;
    assert.ok(first > 0, `state rows: ${sizes.join(", ")}`);
    assert.ok(last <= first * 1.5, `state must stay flat, not grow with the input: ${sizes.join(", ")}`);
  });
});
