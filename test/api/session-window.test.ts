// session_window: events of a key closer than the gap form one session; a bridging event merges sessions.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { MemoryStream, col, session_window, z, type Row, type Session } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

const clicks = z.object({ user: z.string(), time: z.date() });
const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, 0) + second * 1000);
const secondOf = (ms: number) => (ms - Date.UTC(2026, 0, 1, 12, 0, 0)) / 1000;

function sessions(rows: readonly Row[]): string[] {
  return rows.map((row) => {
    const span = row.session_window as { start: number; end: number };
    return `${String(row.user)} ${secondOf(span.start)}-${secondOf(span.end)} ${String(row.count)}`;
  }).sort();
}

describe("session windows", () => {
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

  it("append mode emits each session once, after the watermark passes its end", async () => {
    const input = new MemoryStream(session, clicks);
    const query = await input.toDF().withWatermark("time", "1 second").groupBy(session_window(col("time"), "5 seconds"), col("user")).count()
      .writeStream.queryName("sessions_append").format("memory").outputMode("append").start();
    input.addData([{ user: "u1", time: at(0) }, { user: "u1", time: at(3) }, { user: "u2", time: at(1) }, { user: "u1", time: at(20) }]);
    await query.processAllAvailable();
    assert.deepEqual(sessions(session.table("sessions_append")), ["u1 0-8 2", "u2 1-6 1"], "the watermark (19 s) closed the sessions that ended by then");
    input.addData([{ user: "u3", time: at(100) }]);
    await query.processAllAvailable();
    await query.processAllAvailable();
    assert.deepEqual(sessions(session.table("sessions_append")), ["u1 0-8 2", "u1 20-25 1", "u2 1-6 1"]);
  });

  it("update mode: an event that bridges two sessions merges them into one", async () => {
    const input = new MemoryStream(session, clicks);
    const query = await input.toDF().groupBy(col("user"), session_window(col("time"), "5 seconds")).count()
      .writeStream.queryName("sessions_update").format("memory").outputMode("update").start();
    input.addData([{ user: "u1", time: at(0) }, { user: "u1", time: at(10) }]);
    await query.processAllAvailable();
    input.addData([{ user: "u1", time: at(4) }]);
    await query.processAllAvailable();
    input.addData([{ user: "u1", time: at(7) }]);
    await query.processAllAvailable();
    const rows = sessions(session.table("sessions_update"));
    assert.deepEqual(rows, ["u1 0-15 4", "u1 0-5 1", "u1 0-9 2", "u1 10-15 1"].sort(), "each change, ending with one session of four events");
  });

  it("sessions that touch are one session: [25,40) and [40,50) merge (Spark merges when the next start <= the current end)", async () => {
    const input = new MemoryStream(session, clicks);
    const query = await input.toDF().groupBy(col("user"), session_window(col("time"), "10 seconds")).count()
      .writeStream.queryName("sessions_touch").format("memory").outputMode("update").start();
    input.addData([{ user: "u1", time: at(25) }, { user: "u1", time: at(30) }]);
    await query.processAllAvailable();
    input.addData([{ user: "u1", time: at(40) }]);
    await query.processAllAvailable();
    const rows = sessions(session.table("sessions_touch"));
    assert.equal(rows[rows.length - 1], "u1 25-50 3", `one session of three events, got ${rows.join("; ")}`);
    assert.ok(!rows.includes("u1 40-50 1"), "no separate session starting where the first one ends");
  });

  it("a row is late only when its own session [time, time + gap) would already be closed, as in Spark", async () => {
    const input = new MemoryStream(session, clicks);
    const query = await input.toDF().withWatermark("time", "1 second").groupBy(session_window(col("time"), "5 seconds"), col("user")).count()
      .writeStream.queryName("sessions_late").format("memory").outputMode("append").start();
    input.addData([{ user: "u1", time: at(0) }, { user: "u2", time: at(20) }]);
    await query.processAllAvailable();
    input.addData([{ user: "u3", time: at(16) }, { user: "u4", time: at(13) }]);
    await query.processAllAvailable();
    input.addData([{ user: "u5", time: at(100) }]);
    await query.processAllAvailable();
    assert.deepEqual(sessions(session.table("sessions_late")), ["u1 0-5 1", "u2 20-25 1", "u3 16-21 1"], "16 + 5 > 19 counts; 13 + 5 <= 19 is late");
    assert.equal(query.recentProgress.reduce((sum, progress) => sum + progress.numRowsDroppedByWatermark, 0), 1);
  });

  it("refuses append mode without a watermark", async () => {
    const input = new MemoryStream(session, clicks);
    await assert.rejects(input.toDF().groupBy(session_window(col("time"), "5 seconds")).count().writeStream.queryName("a").format("memory").outputMode("append").start(), /needs a watermark/);
  });
});
