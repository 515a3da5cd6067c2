// Spark's guide, "Handling Late Data and Watermarking": word counts in 10-minute windows sliding by 5, watermark 10 minutes.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { MemoryStream, col, window, z, type Row, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const words = z.object({ timestamp: z.date(), word: z.string() });
const at = (time: string) => new Date(`2026-01-01T${time}:00Z`);
const minute = (time: string) => at(time).getTime();

/** The guide's four triggers; 12:04 donkey comes when the watermark is 12:11, so it is late. */
const BATCHES = [
  [["12:07", "dog"], ["12:08", "owl"]],
  [["12:14", "dog"], ["12:09", "cat"]],
  [["12:15", "cat"], ["12:08", "dog"], ["12:13", "owl"], ["12:21", "owl"]],
  [["12:17", "owl"], ["12:04", "donkey"]],
] as const;

function describeRows(rows: readonly Row[]): string[] {
  return rows.map((row) => {
    const span = row.window as { start: number; end: number };
    return `${new Date(span.start).toISOString().slice(11, 16)}-${new Date(span.end).toISOString().slice(11, 16)} ${String(row.word)} ${String(row.count)}`;
  }).sort();
}

describe("the watermark walk-through of Spark's guide", () => {
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

  async function run(mode: "append" | "update", name: string) {
    const input = new MemoryStream(session, words);
    const query = await input.toDF().withWatermark("timestamp", "10 minutes")
      .groupBy(window(col("timestamp"), "10 minutes", "5 minutes"), col("word")).count()
      .writeStream.queryName(name).format("memory").outputMode(mode).start();
    const seen: string[][] = [];
    for (const batch of BATCHES) {
      input.addData(batch.map(([time, word]) => ({ timestamp: at(time), word })));
      await query.processAllAvailable();
      seen.push(describeRows(session.table(name)));
    }
    return { query, input, seen };
  }

  it("update mode: the counts of every window still open, and 12:04 donkey dropped as late", async () => {
    const { query, seen } = await run("update", "walkthrough_update");
    const latest = new Map<string, string>();
    for (const line of seen[seen.length - 1] ?? []) latest.set(line.slice(0, line.lastIndexOf(" ")), line);
    assert.deepEqual([...latest.values()].sort(), [
      "12:00-12:10 cat 1", "12:00-12:10 dog 2", "12:00-12:10 owl 1",
      "12:05-12:15 cat 1", "12:05-12:15 dog 3", "12:05-12:15 owl 2",
      "12:10-12:20 cat 1", "12:10-12:20 dog 1", "12:10-12:20 owl 2",
      "12:15-12:25 cat 1", "12:15-12:25 owl 2",
      "12:20-12:30 owl 1",
    ]);
    assert.ok(!seen.flat().some((line) => line.includes("donkey")), "the late donkey never counts");
    const dropped = query.recentProgress.reduce((sum, progress) => sum + progress.numRowsDroppedByWatermark, 0);
    assert.equal(dropped, 2, "12:04 donkey falls into two windows, both already closed");
    assert.equal(query.lastProgress?.eventTime.watermark, new Date(minute("12:11")).toISOString());
  });

  it("append mode: a window's rows leave once, only when the watermark passes its end", async () => {
    const { query, input, seen } = await run("append", "walkthrough_append");
    assert.deepEqual(seen[1], [], "nothing is final while the watermark is 12:04");
    assert.deepEqual(seen[3], ["12:00-12:10 cat 1", "12:00-12:10 dog 2", "12:00-12:10 owl 1"], "the watermark 12:11 closed only 12:00-12:10");
    input.addData([{ timestamp: at("13:00"), word: "fox" }]);
    await query.processAllAvailable();
    const all = describeRows(session.table("walkthrough_append"));
    assert.deepEqual(all, [
      "12:00-12:10 cat 1", "12:00-12:10 dog 2", "12:00-12:10 owl 1",
      "12:05-12:15 cat 1", "12:05-12:15 dog 3", "12:05-12:15 owl 2",
      "12:10-12:20 cat 1", "12:10-12:20 dog 1", "12:10-12:20 owl 2",
      "12:15-12:25 cat 1", "12:15-12:25 owl 2",
      "12:20-12:30 owl 1",
    ], "every window once, after the watermark moved to 12:50");
    const state = query.lastProgress?.stateOperators[0]?.numRowsTotal ?? -1;
    assert.equal(state, 2, "only the two 13:00 windows are left in state");
  });
});
