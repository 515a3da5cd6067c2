// session_window in complete mode (merged sessions leave the result table) and with a gap computed per row (Spark 3.2+).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { MemoryStream, col, count, desc, session_window, when, z, type Row, type Session } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

const clicks = z.object({ user: z.string(), time: z.date(), gap: z.string().nullable().optional() });
const base = Date.UTC(2026, 0, 1, 12, 0, 0);
const at = (second: number) => new Date(base + second * 1000);

function sessions(rows: readonly Row[]): string[] {
  return rows.map((row) => {
    const span = row.session_window as { start: number; end: number };
    return `${String(row.user)} ${(span.start - base) / 1000}-${(span.end - base) / 1000} ${String(row.count)}`;
  }).sort();
}

describe("session windows in every mode", () => {
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

  it("complete mode holds every session, and a bridging event replaces the sessions it merges", async () => {
    const input = new MemoryStream(session, clicks);
    const query = await input.toDF().withWatermark("time", "1 second").groupBy(session_window(col("time"), "5 seconds"), col("user")).agg(count("*").alias("count"))
      .writeStream.queryName("sessions_complete").format("memory").outputMode("complete").start();
    const batches: Row[][] = [];
    const viaBatches = await input.toDF().groupBy(session_window(col("time"), "5 seconds"), col("user")).agg(count("*").alias("count")).orderBy(desc("count"))
      .writeStream.foreachBatch((rows) => void batches.push([...rows])).outputMode("complete").start();
    input.addData([{ user: "u1", time: at(0) }, { user: "u1", time: at(8) }, { user: "u2", time: at(0) }]);
    await query.processAllAvailable();
    await viaBatches.processAllAvailable();
    assert.deepEqual(sessions(session.table("sessions_complete")), ["u1 0-5 1", "u1 8-13 1", "u2 0-5 1"]);
    input.addData([{ user: "u1", time: at(4) }, { user: "u2", time: at(100) }]);
    await query.processAllAvailable();
    await viaBatches.processAllAvailable();
    assert.deepEqual(sessions(session.table("sessions_complete")), ["u1 0-13 3", "u2 0-5 1", "u2 100-105 1"], "u1's sessions merged into one; the watermark removes nothing in complete mode");
    assert.deepEqual(sessions(batches.at(-1) ?? []), ["u1 0-13 3", "u2 0-5 1", "u2 100-105 1"]);
    assert.equal(batches.at(-1)?.[0]?.count, 3, "sorted by count, descending");
  });

  it("a restart on the checkpoint restores the complete table without the retracted sessions", async () => {
    const location = await mkdtemp(join(tmpdir(), "rill-sessions-"));
    try {
      const input = new MemoryStream(session, clicks);
      const start = () => input.toDF().groupBy(session_window(col("time"), "5 seconds"), col("user")).agg(count("*").alias("count"))
        .writeStream.queryName("sessions_restart").format("memory").outputMode("complete").option("checkpointLocation", location).start();
      const first = await start();
      input.addData([{ user: "u1", time: at(0) }, { user: "u1", time: at(8) }]);
      await first.processAllAvailable();
      input.addData([{ user: "u1", time: at(4) }]);
      await first.processAllAvailable();
      await first.stop();
      const second = await start();
      assert.deepEqual(sessions(session.table("sessions_restart")), ["u1 0-13 3"], "the restored table");
      input.addData([{ user: "u1", time: at(30) }]);
      await second.processAllAvailable();
      assert.deepEqual(sessions(session.table("sessions_restart")), ["u1 0-13 3", "u1 30-35 1"]);
      await second.stop();
    } finally {
      await rm(location, { recursive: true, force: true });
    }
  });

  it("takes the gap from an expression per row; a null or invalid gap puts the row in no session", async () => {
    const input = new MemoryStream(session, clicks);
    const gap = when(col("user").equalTo("bot"), "1 second").otherwise(col("gap"));
    const query = await input.toDF().groupBy(session_window(col("time"), gap), col("user")).agg(count("*").alias("count"))
      .writeStream.queryName("sessions_gap").format("memory").outputMode("complete").start();
    input.addData([
      { user: "bot", time: at(0) }, { user: "bot", time: at(2) },
      { user: "human", time: at(0), gap: "10 seconds" }, { user: "human", time: at(8), gap: "10 seconds" },
      { user: "ghost", time: at(0), gap: null }, { user: "ghost", time: at(1), gap: "soon" }, { user: "ghost", time: at(2), gap: "0 seconds" },
    ]);
    await query.processAllAvailable();
    assert.deepEqual(sessions(session.table("sessions_gap")), ["bot 0-1 1", "bot 2-3 1", "human 0-18 2"]);
  });
});
