// union / unionByName of two streams: Spark's column matching, and the watermark rule of several withWatermark.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { AnalysisError, MemoryStream, col, window, z, type Row, type Session, type Trigger } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const clicks = z.object({ time: z.date(), word: z.string() });
const views = z.object({ page: z.string(), at: z.date() });
const at = (time: string) => new Date(`2026-01-01T${time}Z`);
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const ON_DEMAND: Trigger = { processingTime: "1 hour" };

function counts(rows: readonly Row[]): Map<string, number> {
  return new Map(rows.map((row): [string, number] => [String(row.word), row.count as number]));
}

function windows(rows: readonly Row[]): string[] {
  return rows.map((row) => {
    const span = row.window as { start: number; end: number };
    return `${clock(span.start)}-${clock(span.end)} ${String(row.count)}`;
  }).sort();
}

describe("union of two streams", () => {
  let session: Session;
  let folder: string;
  before(async () => {
    // Both inputs stay live however slow the machine: neither stops holding the watermark back as idle.
    session = natsSession(server().options, { "rill.shuffle.partitions": 2, "rill.watermark.idleTimeout": "10 minutes" });
    folder = await mkdtemp(join(tmpdir(), "rill-union-"));
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  it("counts the rows of both inputs, matching columns by position under the first input's names", async () => {
    const left = new MemoryStream(session, clicks);
    const right = new MemoryStream(session, views);
    const frame = left.toDF().where("word != 'skip'").union(right.toDF().selectExpr("at", "page"));
    assert.deepEqual(frame.columns, ["time", "word"]);
    const query = await frame.groupBy("word").count().writeStream.queryName("union_counts").format("memory").outputMode("update").start();
    left.addData([{ time: at("12:00:01"), word: "a" }, { time: at("12:00:02"), word: "skip" }, { time: at("12:00:03"), word: "b" }]);
    right.addData([{ page: "a", at: at("12:00:04") }, { page: "c", at: at("12:00:05") }]);
    await query.processAllAvailable();
    const latest = new Map<string, number>();
    for (const [word, count] of counts(session.table("union_counts"))) latest.set(word, count);
    assert.deepEqual(latest, new Map([["a", 2], ["b", 1], ["c", 1]]));
    assert.equal(query.lastProgress?.sources.length, 2);
    assert.match(query.explain(), /union input 2: MemoryStream\[/);
    assert.match(query.explain(), /project: union: the second input's columns as time, word/);
    assert.match(query.explain(), /s1-source-memory {2}x1 {2}-> hash\(word\)/);
  });

  it("unionByName matches columns by name", async () => {
    const left = new MemoryStream(session, clicks);
    const right = new MemoryStream(session, clicks);
    const query = await left.toDF().unionByName(right.toDF().select("word", "time")).writeStream.queryName("union_by_name").format("memory").outputMode("append").start();
    left.addData([{ time: at("12:00:01"), word: "a" }]);
    right.addData([{ time: at("12:00:02"), word: "b" }]);
    await query.processAllAvailable();
    assert.deepEqual(session.table("union_by_name").map((row) => `${clock(row.time as number)} ${String(row.word)}`).sort(), ["12:00:01 a", "12:00:02 b"]);
  });

  it("refuses at start() inputs whose columns do not match, naming the mismatch", async () => {
    const left = new MemoryStream(session, clicks);
    const right = new MemoryStream(session, views);
    const start = (frame: ReturnType<typeof left.toDF>, name: string) => frame.writeStream.queryName(name).format("memory").outputMode("append").start();
    await assert.rejects(start(left.toDF().union(right.toDF().select("page")), "u1"),
      (error: unknown) => error instanceof AnalysisError && /same number of columns: the first has 2 \(time, word\), the second 1 \(page\)/.test(error.message));
    await assert.rejects(start(left.toDF().union(right.toDF()), "u2"),
      (error: unknown) => error instanceof AnalysisError && /column 1 \('time'\) is string in the second input but timestamp in the first/.test(error.message));
    await assert.rejects(start(left.toDF().unionByName(right.toDF()), "u3"),
      (error: unknown) => error instanceof AnalysisError && /the second input has no column 'time', 'word'/.test(error.message));
  });

  it("the watermark is the minimum of both inputs' withWatermark", async () => {
    const fast = new MemoryStream(session, clicks);
    const slow = new MemoryStream(session, clicks);
    const frame = fast.toDF().withWatermark("time", "0 seconds").union(slow.toDF().withWatermark("time", "0 seconds"));
    const query = await frame.groupBy(window(col("time"), "10 minutes")).count().writeStream.queryName("union_min").format("memory").outputMode("append").trigger(ON_DEMAND).start();
    fast.addData([{ time: at("12:31:00"), word: "f" }]);
    slow.addData([{ time: at("12:01:00"), word: "s" }]);
    await query.processAllAvailable();
    slow.addData([{ time: at("12:05:00"), word: "s" }]);
    await query.processAllAvailable();
    slow.addData([{ time: at("12:40:00"), word: "s" }]);
    await query.processAllAvailable();
    assert.deepEqual(windows(session.table("union_min")), ["12:00:00-12:10:00 2"], "12:05 was not late (the watermark was the slow input's 12:01); then min(12:31, 12:40) closed 12:00-12:10");
    assert.equal(query.lastProgress?.eventTime.watermark, at("12:31:00").toISOString());
  });

  it("an input without withWatermark does not hold the watermark back", async () => {
    const timed = new MemoryStream(session, clicks);
    const untimed = new MemoryStream(session, clicks);
    const frame = timed.toDF().withWatermark("time", "5 minutes").union(untimed.toDF());
    const query = await frame.groupBy(window(col("time"), "10 minutes")).count().writeStream.queryName("union_untimed").format("memory").outputMode("append").trigger(ON_DEMAND).start();
    timed.addData([{ time: at("12:01:00"), word: "t" }]);
    untimed.addData([{ time: at("12:02:00"), word: "u" }]);
    await query.processAllAvailable();
    timed.addData([{ time: at("12:31:00"), word: "t" }]);
    await query.processAllAvailable();
    assert.deepEqual(windows(session.table("union_untimed")), ["12:00:00-12:10:00 2"]);
  });

  it("restarts on its checkpoint with both inputs' offsets", async () => {
    const left = new MemoryStream(session, clicks);
    const right = new MemoryStream(session, clicks);
    const location = join(folder, "restart");
    const start = () => left.toDF().union(right.toDF()).groupBy("word").count().writeStream.queryName("union_restart").format("memory").outputMode("complete").option("checkpointLocation", location).start();
    const first = await start();
    left.addData([{ time: at("12:00:01"), word: "a" }]);
    right.addData([{ time: at("12:00:02"), word: "a" }]);
    await first.processAllAvailable();
    await first.stop();
    const second = await start();
    left.addData([{ time: at("12:00:03"), word: "a" }]);
    right.addData([{ time: at("12:00:04"), word: "b" }]);
    await second.processAllAvailable();
    const latest = new Map<string, number>();
    for (const [word, count] of counts(session.table("union_restart"))) latest.set(word, count);
    assert.deepEqual(latest, new Map([["a", 3], ["b", 1]]));
  });
});
