// Event time as Spark defines it: when the watermark closes windows (every trigger, restarts), and Spark's boundary
// (a row at the watermark is late) in every stateful operator.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { MemoryStream, col, window, z, type Row, type Session, type StreamingQuery, type Trigger } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const events = z.object({ time: z.date(), word: z.string() });
const at = (time: string) => new Date(`2026-01-01T${time}Z`);
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/** Window rows as `start-end word count`, sorted. */
function windows(rows: readonly Row[]): string[] {
  return rows.map((row) => {
    const span = row.window as { start: number; end: number };
    return `${clock(span.start)}-${clock(span.end)}${row.word === undefined ? "" : ` ${String(row.word)}`} ${String(row.count)}`;
  }).sort();
}

/** Micro-batches only when asked (processAllAvailable): rows and the barrier after them always land in one batch. */
const ON_DEMAND: Trigger = { processingTime: "1 hour" };

describe("event time", () => {
  let session: Session;
  let folder: string;
  before(async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2 });
    folder = await mkdtemp(join(tmpdir(), "rill-event-time-"));
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  const counts = (input: MemoryStream<typeof events>) => input.toDF().withWatermark("time", "5 minutes").groupBy(window(col("time"), "10 minutes"), col("word")).count();
  const dropped = (query: StreamingQuery) => query.recentProgress.reduce((sum, progress) => sum + progress.numRowsDroppedByWatermark, 0);

  it("one processAllAvailable() ends with every window the watermark of its rows closed", async () => {
    const input = new MemoryStream(session, events);
    const query = await counts(input).writeStream.queryName("closed_at_once").format("memory").outputMode("append").trigger(ON_DEMAND).start();
    input.addData([{ time: at("12:01:00"), word: "a" }, { time: at("12:02:00"), word: "a" }, { time: at("12:31:00"), word: "b" }]);
    await query.processAllAvailable();
    assert.deepEqual(windows(session.table("closed_at_once")), ["12:00:00-12:10:00 a 2"], "the watermark 12:26 closed 12:00-12:10");
  });

  it("availableNow ends with the windows its last watermark closed", async () => {
    const input = new MemoryStream(session, events);
    input.addData([{ time: at("12:01:00"), word: "a" }, { time: at("12:12:00"), word: "a" }, { time: at("12:21:00"), word: "b" }]);
    const query = await counts(input).writeStream.queryName("available_now").format("memory").outputMode("append").trigger({ availableNow: true }).start();
    await query.awaitTermination();
    assert.deepEqual(windows(session.table("available_now")), ["12:00:00-12:10:00 a 1"], "the watermark 12:16 closed 12:00-12:10 only");
  });

  it("availableNow: a source partition without rows does not keep the last windows open", async () => {
    const path = join(folder, "one-file");
    await mkdir(path);
    const lines = [["12:01:00", "a"], ["12:02:00", "a"], ["12:31:00", "b"]].map(([time, word]) => JSON.stringify({ time: `2026-01-01T${time}Z`, word }));
    await writeFile(join(path, "events.json"), `${lines.join("\n")}\n`);
    // Two partitions and one file: one partition reads nothing, so it never has a watermark.
    const frame = session.readStream.schema(events).option("numPartitions", 2).json(path);
    const query = await frame.withWatermark("time", "5 minutes").groupBy(window(col("time"), "10 minutes"), col("word")).count()
      .writeStream.queryName("empty_partition").format("memory").outputMode("append").trigger({ availableNow: true }).start();
    await query.awaitTermination();
    assert.deepEqual(windows(session.table("empty_partition")), ["12:00:00-12:10:00 a 2"]);
  });

  it("once advances the watermark, and the next run on the checkpoint keeps it", async () => {
    const input = new MemoryStream(session, events);
    const location = join(folder, "once");
    // The memory sink refuses a restart in append mode, as Spark's does: collect each epoch's rows instead.
    const output: Row[] = [];
    const run = async () => {
      const query = await counts(input).writeStream.queryName("once").outputMode("append").trigger({ once: true }).option("checkpointLocation", location).foreachBatch((rows) => void output.push(...rows)).start();
      await query.awaitTermination();
      return query;
    };
    input.addData([{ time: at("12:01:00"), word: "a" }, { time: at("12:31:00"), word: "b" }]);
    await run();
    assert.deepEqual(windows(output), ["12:00:00-12:10:00 a 1"]);
    input.addData([{ time: at("12:03:00"), word: "a" }, { time: at("12:46:00"), word: "c" }]);
    const second = await run();
    assert.deepEqual(windows(output), ["12:00:00-12:10:00 a 1", "12:30:00-12:40:00 b 1"], "12:03 is late; the watermark 12:41 closed 12:30-12:40");
    assert.equal(dropped(second), 1);
  });

  it("a query restarted on its checkpoint keeps its watermark from the first row: a closed window is not emitted again", async () => {
    const input = new MemoryStream(session, events);
    const location = join(folder, "restart");
    // Continuous: rows already there when the query starts are read (and reach the aggregation) before any watermark.
    const output: Row[] = [];
    const start = () => counts(input).writeStream.queryName("restarted").outputMode("append").option("checkpointLocation", location).foreachBatch((rows) => void output.push(...rows)).start();
    const first = await start();
    input.addData([{ time: at("12:01:00"), word: "a" }, { time: at("12:31:00"), word: "b" }]);
    await first.processAllAvailable();
    assert.deepEqual(windows(output), ["12:00:00-12:10:00 a 1"]);
    await first.stop();
    input.addData([{ time: at("12:02:00"), word: "a" }, { time: at("12:09:00"), word: "a" }]);
    const second = await start();
    await second.processAllAvailable();
    input.addData([{ time: at("12:50:00"), word: "c" }]);
    await second.processAllAvailable();
    assert.deepEqual(windows(output), ["12:00:00-12:10:00 a 1", "12:30:00-12:40:00 b 1"], "both rows are late after the restart as before it");
    assert.equal(dropped(second), 2);
  });

  it("dropDuplicates restarted on its checkpoint does not emit again a row whose key the watermark evicted", async () => {
    const input = new MemoryStream(session, events);
    const location = join(folder, "dedup-restart");
    const output: Row[] = [];
    const start = () => input.toDF().withWatermark("time", "10 seconds").dropDuplicates(["word", "time"])
      .writeStream.queryName("dedup_restarted").outputMode("append").option("checkpointLocation", location).foreachBatch((rows) => void output.push(...rows)).start();
    const first = await start();
    input.addData([{ time: at("12:00:10"), word: "a" }, { time: at("12:00:40"), word: "b" }]);
    await first.processAllAvailable();
    await first.stop();
    input.addData([{ time: at("12:00:10"), word: "a" }, { time: at("12:00:45"), word: "c" }]);
    const second = await start();
    await second.processAllAvailable();
    const rows = output.map((row) => `${clock(row.time as number)} ${String(row.word)}`).sort();
    assert.deepEqual(rows, ["12:00:10 a", "12:00:40 b", "12:00:45 c"], "a's key was evicted at the watermark 12:00:30; after the restart a is still late");
    assert.equal(dropped(second), 1);
  });

  it("a row of a sliding window still open counts there, though its earlier window has closed (Spark's per-window lateness)", async () => {
    const input = new MemoryStream(session, events);
    const query = await input.toDF().withWatermark("time", "10 minutes").groupBy(window(col("time"), "10 minutes", "5 minutes")).count()
      .writeStream.queryName("sliding").format("memory").outputMode("update").trigger(ON_DEMAND).start();
    input.addData([{ time: at("12:21:00"), word: "x" }]);
    await query.processAllAvailable();
    input.addData([{ time: at("12:08:00"), word: "x" }]);
    await query.processAllAvailable();
    const latest = new Map(windows(session.table("sliding")).map((line) => [line.slice(0, 17), line]));
    assert.equal(latest.get("12:05:00-12:15:00"), "12:05:00-12:15:00 1", "12:05-12:15 ends after the watermark 12:11");
    assert.equal(latest.get("12:00:00-12:10:00"), undefined, "12:00-12:10 ended before it: late");
    assert.equal(dropped(query), 1);
  });

  it("a window whose end equals the watermark is closed, and its rows are late", async () => {
    const input = new MemoryStream(session, events);
    const query = await counts(input).writeStream.queryName("window_boundary").format("memory").outputMode("append").trigger(ON_DEMAND).start();
    input.addData([{ time: at("12:01:00"), word: "a" }, { time: at("12:15:00"), word: "b" }]);
    await query.processAllAvailable();
    assert.deepEqual(windows(session.table("window_boundary")), ["12:00:00-12:10:00 a 1"], "the watermark 12:10 closes 12:00-12:10");
    input.addData([{ time: at("12:09:00"), word: "a" }, { time: at("12:10:00"), word: "a" }]);
    await query.processAllAvailable();
    input.addData([{ time: at("12:40:00"), word: "c" }]);
    await query.processAllAvailable();
    assert.deepEqual(windows(session.table("window_boundary")), ["12:00:00-12:10:00 a 1", "12:10:00-12:20:00 a 1", "12:10:00-12:20:00 b 1"]);
    assert.equal(dropped(query), 1);
  });

  it("dropDuplicates: a row at the watermark is late, so a key whose state was evicted is not emitted again", async () => {
    const input = new MemoryStream(session, events);
    const query = await input.toDF().withWatermark("time", "10 seconds").dropDuplicates(["word", "time"])
      .writeStream.queryName("dedup_boundary").format("memory").outputMode("append").trigger(ON_DEMAND).start();
    input.addData([{ time: at("12:00:10"), word: "a" }, { time: at("12:00:20"), word: "b" }]);
    await query.processAllAvailable();
    input.addData([{ time: at("12:00:10"), word: "a" }]);
    await query.processAllAvailable();
    const rows = session.table("dedup_boundary").map((row) => `${clock(row.time as number)} ${String(row.word)}`).sort();
    assert.deepEqual(rows, ["12:00:10 a", "12:00:20 b"]);
    assert.equal(dropped(query), 1);
  });

  it("dropDuplicates on keys without the event time still drops rows older than the watermark (and keeps its keys)", async () => {
    const input = new MemoryStream(session, events);
    const query = await input.toDF().withWatermark("time", "10 seconds").dropDuplicates(["word"])
      .writeStream.queryName("dedup_unbounded").format("memory").outputMode("append").trigger(ON_DEMAND).start();
    input.addData([{ time: at("12:00:20"), word: "a" }, { time: at("12:00:40"), word: "b" }]);
    await query.processAllAvailable();
    input.addData([{ time: at("12:00:25"), word: "c" }, { time: at("12:00:50"), word: "a" }, { time: at("12:00:45"), word: "d" }]);
    await query.processAllAvailable();
    assert.deepEqual(session.table("dedup_unbounded").map((row) => String(row.word)).sort(), ["a", "b", "d"], "c (12:00:25) is older than the watermark 12:00:30; a repeats");
    assert.equal(dropped(query), 1);
  });

  describe("several withWatermark in one query", () => {
    const twoTimes = z.object({ a: z.date(), b: z.date() });
    const BATCHES = [
      [{ a: at("12:30:00"), b: at("12:01:00") }, { a: at("12:31:00"), b: at("12:02:00") }],
      [{ a: at("12:32:00"), b: at("12:05:00") }],
      [{ a: at("12:40:00"), b: at("12:20:00") }],
    ];
    async function run(name: string) {
      const input = new MemoryStream(session, twoTimes);
      const query = await input.toDF().withWatermark("a", "0 seconds").withWatermark("b", "0 seconds").groupBy(window(col("b"), "10 minutes")).count()
        .writeStream.queryName(name).format("memory").outputMode("append").trigger(ON_DEMAND).start();
      for (const batch of BATCHES) {
        input.addData(batch);
        await query.processAllAvailable();
      }
      return query;
    }

    it("the watermark is the minimum over them (Spark's default multipleWatermarkPolicy)", async () => {
      const query = await run("two_watermarks_min");
      assert.deepEqual(windows(session.table("two_watermarks_min")), ["12:00:00-12:10:00 3"], "the watermark follows b, the slower one: 12:05 is not late");
      assert.equal(query.lastProgress?.eventTime.watermark, at("12:20:00").toISOString());
      assert.equal(dropped(query), 0);
    });

    it("spark.sql.streaming.multipleWatermarkPolicy=max takes the maximum", async () => {
      session.conf.set("spark.sql.streaming.multipleWatermarkPolicy", "max");
      try {
        const query = await run("two_watermarks_max");
        assert.deepEqual(windows(session.table("two_watermarks_max")), ["12:00:00-12:10:00 2"], "the watermark follows a: 12:31 closed 12:00-12:10 after the first batch");
        assert.equal(dropped(query), 2, "12:05 and 12:20 fall in windows that ended by 12:31");
      } finally {
        session.conf.set("spark.sql.streaming.multipleWatermarkPolicy", "min");
      }
    });
  });
});
