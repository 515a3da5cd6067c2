// Progress reports give the right figures for a known input: counts, rates within measured bounds, watermark, late rows.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { MemoryStream, activitySchema, col, generateActivity, progressJson, window, z, type Session, type StreamingQueryProgress } from "../../src/index.ts";
import { nowMs } from "../../src/core/clock.ts";
import { inProcessSession } from "../helpers/session.ts";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** No epochs but the ones the test asks for, so each report's interval is one the test measured. */
const ONLY_REQUESTED_EPOCHS = { continuous: "1 hour" } as const;

const sum = (reports: readonly StreamingQueryProgress[], figure: (progress: StreamingQueryProgress) => number) => reports.reduce((total, progress) => total + figure(progress), 0);

/** A rate reported for `rows` over an interval known to lie within [shortest, longest] ms, rounded to 0.1 row/s. */
function assertRateWithin(rate: number, rows: number, shortestMs: number, longestMs: number, what: string): void {
  const low = (rows / longestMs) * 1000 - 0.1;
  const high = shortestMs > 0 ? (rows / shortestMs) * 1000 + 0.1 : Number.POSITIVE_INFINITY;
  assert.ok(rate >= low && rate <= high, `${what} ${rate} rows/s, expected ${rows} rows over ${shortestMs.toFixed(1)}..${longestMs.toFixed(1)} ms: ${low.toFixed(1)}..${high.toFixed(1)}`);
}

describe("progress reports", () => {
  let session: Session;
  before(() => {
    session = inProcessSession({ "rill.shuffle.partitions": 2 });
  });
  after(async () => {
    await session.stop();
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  it("count every input row once, and the sink's rows, the stages' rows and the latency count agree", async () => {
    const rows = generateActivity({ seed: 11, count: 1000 });
    const kept = rows.filter((row) => row.x > 0).length;
    const input = new MemoryStream(session, activitySchema);
    const query = await input.toDF().where("x > 0").select("Index", "x").writeStream.queryName("counted").format("memory").trigger(ONLY_REQUESTED_EPOCHS).start();
    input.addData(rows.slice(0, 600));
    await query.processAllAvailable();
    input.addData(rows.slice(600));
    await query.processAllAvailable();
    await query.processAllAvailable();
    const reports = query.recentProgress;
    assert.equal(sum(reports, (progress) => progress.numInputRows), rows.length);
    assert.equal(sum(reports, (progress) => progress.sink.numOutputRows), kept);
    assert.equal(session.table("counted").length, kept);
    assert.deepEqual(reports.map((progress) => progress.numInputRows), [600, 400, 0]);
    for (const progress of reports) {
      assert.equal(progress.id, query.id);
      assert.equal(progress.runId, query.runId);
      assert.equal(progress.name, "counted");
      assert.match(progress.timestamp, ISO);
      assert.equal(progress.stages[0]?.rowsIn, progress.numInputRows, "the source stage reads the epoch's input");
      assert.equal(progress.stages[progress.stages.length - 1]?.rowsIn, progress.sink.numOutputRows, "the sink stage receives the sink's rows");
      assert.equal(progress.latencyMs.count, progress.sink.numOutputRows, "one latency sample per row reaching the sink");
      assert.equal(progress.sources[0]?.numInputRows, progress.numInputRows);
      assert.equal(progress.numDeadLetters, 0);
      assert.ok(progress.durationMs.epoch >= 0);
    }
    assert.ok(sum(reports, (progress) => progress.stages[0]?.rowsOut ?? 0) === kept, "the filter is chained into the source stage: it sends only the kept rows");
    const batches = reports.map((progress) => progress.batchId);
    assert.deepEqual(batches, [...batches].sort((a, b) => a - b));
    assert.equal(new Set(batches).size, batches.length, "batch ids increase strictly");
    for (const progress of reports.slice(0, 2)) {
      assert.ok(progress.inputRowsPerSecond > 0 && progress.processedRowsPerSecond > 0, `epoch ${progress.batchId} has rows, so both rates are above 0`);
      assert.ok(progress.latencyMs.p50 <= progress.latencyMs.p99 && progress.latencyMs.p99 <= progress.latencyMs.max);
    }
    assert.equal(reports[2]?.inputRowsPerSecond, 0, "an epoch without input reports no input rate");
  });

  it("report input and processing rates over the interval between epochs, within the bounds the test measured", async () => {
    const rows = generateActivity({ seed: 12, count: 400 });
    const input = new MemoryStream(session, activitySchema);
    const query = await input.toDF().writeStream.queryName("rated").format("memory").trigger(ONLY_REQUESTED_EPOCHS).start();
    input.addData(rows.slice(0, 100));
    const firstFrom = nowMs();
    await query.processAllAvailable();
    const firstTo = nowMs();
    // A known gap between the epochs makes the second interval long enough to bound its rate from both sides.
    await new Promise((resolve) => setTimeout(resolve, 150));
    input.addData(rows.slice(100));
    const secondFrom = nowMs();
    await query.processAllAvailable();
    const secondTo = nowMs();
    const second = query.lastProgress;
    assert.ok(second && second.batchId === 1 && second.numInputRows === 300, `the second epoch holds the 300 new rows: ${String(second?.numInputRows)}`);
    // Epoch 0 was requested and completed within [firstFrom, firstTo], epoch 1 within [secondFrom, secondTo].
    const shortest = secondFrom - firstTo;
    const longest = secondTo - firstFrom;
    assertRateWithin(second.inputRowsPerSecond, 300, shortest, longest, "inputRowsPerSecond");
    assertRateWithin(second.processedRowsPerSecond, 300, shortest, longest, "processedRowsPerSecond");
    assert.ok(second.durationMs.sincePreviousEpoch >= shortest - 0.1 && second.durationMs.sincePreviousEpoch <= longest + 0.1, `sincePreviousEpoch ${second.durationMs.sincePreviousEpoch} ms`);
    assert.ok(second.durationMs.epoch <= secondTo - secondFrom + 0.1, `the epoch took ${second.durationMs.epoch} ms, within processAllAvailable's ${(secondTo - secondFrom).toFixed(1)} ms`);
    assert.equal(second.sources[0]?.inputRowsPerSecond, second.inputRowsPerSecond);
  });

  it("put the watermark at the latest event time minus the delay, and count the rows it makes late", async () => {
    const events = z.object({ time: z.date(), word: z.string() });
    const base = Date.parse("2026-01-01T12:00:00Z");
    const at = (seconds: number) => new Date(base + seconds * 1000);
    const input = new MemoryStream(session, events);
    const query = await input.toDF().withWatermark("time", "10 seconds").groupBy(window(col("time"), "10 seconds"), col("word")).count()
      .writeStream.queryName("watermarked").format("memory").outputMode("update").trigger(ONLY_REQUESTED_EPOCHS).start();
    input.addData([{ time: at(30), word: "a" }, { time: at(60), word: "b" }]);
    await query.processAllAvailable();
    const iso = (seconds: number) => at(seconds).toISOString();
    const { min, max, avg } = query.lastProgress?.eventTime ?? {};
    assert.deepEqual({ min, max, avg }, { min: iso(30), max: iso(60), avg: iso(45) }, "the epoch's event times");
    const expected = new Date(base + 60_000 - 10_000).toISOString();
    assert.equal(query.lastProgress?.eventTime.watermark, expected, "max event time 12:01:00 minus 10 seconds, at the end of the epoch that saw it");
    // 12:00:01 is older than the watermark 12:00:50, so it is late; 12:00:59 is not.
    input.addData([{ time: at(1), word: "late" }, { time: at(59), word: "c" }]);
    await query.processAllAvailable();
    const reports = query.recentProgress;
    assert.equal(sum(reports, (progress) => progress.numRowsDroppedByWatermark), 1);
    assert.equal(sum(reports, (progress) => progress.stateOperators.reduce((total, operator) => total + operator.numRowsDroppedByWatermark, 0)), 1);
    const last = query.lastProgress;
    assert.equal(last?.numInputRows, 2);
    assert.equal(last?.eventTime.watermark, expected, "12:00:59 does not move the watermark");
    assert.equal(last?.sink.numOutputRows, 1, "only the window of 'c' changed");
    assert.equal(last?.latencyMs.count, 1);
    assert.equal(last?.stateOperators[0]?.numRowsTotal, 2, "a's window [12:00:30, 12:00:40) closed under the watermark; b and c are held");
    assert.equal(session.table("watermarked").some((row) => row.word === "late"), false);
  });

  it("report Spark's eventTime min, max, avg of each epoch, and each state operator's updated, removed and duplicate rows", async () => {
    const events = z.object({ time: z.date(), word: z.string() });
    const base = Date.parse("2026-01-01T12:00:00Z");
    const at = (seconds: number) => new Date(base + seconds * 1000);
    const iso = (seconds: number) => at(seconds).toISOString();
    const input = new MemoryStream(session, events);
    const query = await input.toDF().withWatermark("time", "10 seconds").dropDuplicates(["word", "time"])
      .groupBy(window(col("time"), "10 seconds"), col("word")).count()
      .writeStream.queryName("state_figures").format("memory").outputMode("update").trigger(ONLY_REQUESTED_EPOCHS).start();
    input.addData([{ time: at(30), word: "a" }, { time: at(30), word: "a" }, { time: at(31), word: "b" }, { time: at(35), word: "a" }]);
    await query.processAllAvailable();
    const first = query.lastProgress;
    assert.deepEqual(first?.eventTime, { min: iso(30), max: iso(35), avg: iso(31.5), watermark: iso(25) }, "every row withWatermark saw, the duplicate included; the watermark of the epoch's rows");
    const [dedup, aggregate] = first?.stateOperators ?? [];
    assert.deepEqual(dedup && { ...dedup, operatorName: "" }, { operatorName: "", numRowsTotal: 3, numRowsUpdated: 3, numRowsRemoved: 0, numRowsDroppedByWatermark: 0, numDroppedDuplicateRows: 1 });
    assert.deepEqual(aggregate && { ...aggregate, operatorName: "" }, { operatorName: "", numRowsTotal: 2, numRowsUpdated: 2, numRowsRemoved: 0, numRowsDroppedByWatermark: 0, numDroppedDuplicateRows: 0 });
    // 12:01:00 moves the watermark to 12:00:50: every earlier window and de-duplication key is removed.
    input.addData([{ time: at(60), word: "c" }]);
    await query.processAllAvailable();
    await query.processAllAvailable();
    const removed = query.recentProgress.reduce((total, progress) => total + progress.stateOperators.reduce((sum, operator) => sum + operator.numRowsRemoved, 0), 0);
    assert.equal(removed, 3 + 2, "three de-duplication keys and two windows");
    assert.deepEqual(query.lastProgress?.eventTime, { watermark: iso(50) }, "an epoch without rows has only the watermark");
  });

  it("give a status and a readable toString() before, during and after a run, and count dead letters", async () => {
    const schema = z.object({ id: z.number().int(), name: z.string() });
    const input = new MemoryStream(session, schema);
    const query = await input.toDF().writeStream.queryName("described").format("memory").trigger(ONLY_REQUESTED_EPOCHS).start();
    const { deadLetterOutput: before, ...status } = query.status;
    assert.deepEqual(status, { message: "Waiting for data", isDataAvailable: true, isTriggerActive: true, numDeadLetters: 0, numInputRows: 0 });
    assert.deepEqual(before, { target: "unknown", stream: undefined, waiting: 0, published: 0, duplicates: 0, retries: 0, lastError: undefined });
    assert.match(query.toString(), /^query 'described' \[id = [0-9a-f-]+\]: Waiting for data$/);
    input.addData([{ id: 1, name: "one" }, { id: "two", name: "bad" } as unknown as { id: number; name: string }, { id: 3, name: "three" }]);
    await query.processAllAvailable();
    assert.equal(query.status.message, "Processing new data");
    assert.equal(query.status.numInputRows, 2, "the row that failed its schema never entered the query");
    assert.equal(query.status.numDeadLetters, 1);
    assert.equal(query.lastProgress?.numDeadLetters, 1);
    const text = query.toString();
    assert.match(text, new RegExp(`^epoch 0 of described at ${ISO.source.slice(1, -1)}\\n`));
    assert.match(text, /\n {2}input 2 rows, [\d.]+ rows\/s in, [\d.]+ rows\/s processed\n/);
    assert.match(text, /\n {2}latency ms p50 [\d.]+ p99 [\d.]+ max [\d.]+ \(2 rows\)\n/);
    assert.match(text, /\n {2}dead letters 1, dropped by watermark 0/);
    assert.match(text, /\n {2}s0-source-memory x1: in 2 out 2 /);
    await query.processAllAvailable();
    assert.equal(query.status.message, "Waiting for data");
    await query.stop();
    const { deadLetterOutput: letters, ...stopped } = query.status;
    assert.deepEqual(stopped, { message: "Stopped", isDataAvailable: false, isTriggerActive: false, numDeadLetters: 1, numInputRows: 2 });
    assert.equal(letters.published, 1, "the stop let the letter go out");
    assert.equal(letters.waiting, 0);
  });

  it("serialise a report as JSON that reads back to the same figures", async () => {
    const input = new MemoryStream(session, activitySchema);
    const query = await input.toDF().writeStream.queryName("serialised").format("memory").trigger(ONLY_REQUESTED_EPOCHS).start();
    input.addData(generateActivity({ seed: 13, count: 20 }));
    await query.processAllAvailable();
    const progress = query.lastProgress;
    assert.ok(progress);
    assert.deepEqual(JSON.parse(progressJson(progress)), JSON.parse(JSON.stringify(progress)));
    assert.equal(JSON.parse(progressJson(progress, true)).numInputRows, 20);
    assert.match(progressJson(progress, true), /\n {2}"batchId": 0,\n/);
  });
});
