// rill.clock = manual: processingTime triggers and processing-time timeouts follow the session's ManualClock, no sleeping.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStream, ManualClock, z, type Row, type Session, type StreamingQueryProgress } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

const clicks = z.object({ user: z.string(), amount: z.number().int() });

describe("a manual clock", () => {
  let session: Session;
  let clock: ManualClock;
  before(() => {
    session = inProcessSession({ "rill.shuffle.partitions": 2, "rill.clock": "manual" });
    clock = session.manualClock();
  });
  after(async () => {
    await session.stop();
  });

  it("runs a processingTime trigger's epochs when the clock passes each interval, and only then", async () => {
    const input = new MemoryStream(session, clicks);
    const batches: Array<{ epoch: number; rows: number }> = [];
    const reports: StreamingQueryProgress[] = [];
    let waiting: { count: number; resolve: () => void } | undefined;
    const progressed = (count: number) => new Promise<void>((resolve) => {
      waiting = { count, resolve };
      if (reports.length >= count) resolve();
    });
    const query = await input.toDF().writeStream.trigger({ processingTime: "10 seconds" })
      .foreachBatch((rows, epochId) => void batches.push({ epoch: epochId, rows: rows.length })).start();
    session.streams.addListener({
      onQueryProgress: (event) => {
        if (event.progress.id !== query.id) return;
        reports.push(event.progress);
        if (waiting && reports.length >= waiting.count) waiting.resolve();
      },
    });
    input.addData([{ user: "a", amount: 1 }, { user: "b", amount: 2 }]);
    clock.advance(9_999);
    clock.advance(1);
    await progressed(1);
    input.addData([{ user: "c", amount: 3 }]);
    clock.advance(20_000);
    await progressed(3);
    await query.processAllAvailable();
    assert.deepEqual(query.recentProgress.map((progress) => progress.batchId), [0, 1, 2, 3], "one epoch at 10 s, two more by 30 s, then the one processAllAvailable asked for");
    assert.deepEqual(query.recentProgress.map((progress) => progress.numInputRows), [2, 1, 0, 0]);
    assert.deepEqual(batches.filter((batch) => batch.rows > 0), [{ epoch: 0, rows: 2 }, { epoch: 1, rows: 1 }]);
    await query.stop();
  });

  it("times a key out when the clock passes its processing-time timeout", async () => {
    const input = new MemoryStream(session, clicks);
    const summary = z.object({ user: z.string(), clicks: z.number().int(), at: z.number().int() });
    const query = await input.toDF().groupByKey((row) => row.user).flatMapGroupsWithState<number>("append", (key, rows, state) => {
      if (state.hasTimedOut) {
        const count = state.get();
        state.remove();
        return [{ user: key, clicks: count, at: state.getCurrentProcessingTimeMs() }];
      }
      state.update((state.getOption() ?? 0) + rows.length);
      state.setTimeoutDuration(60_000);
      return [];
    }, { outputSchema: summary, timeout: "processingTime" })
      .writeStream.queryName("quiet_users").format("memory").outputMode("append").start();
    const start = clock.now();
    input.addData([{ user: "z", amount: 1 }, { user: "z", amount: 1 }]);
    await query.processAllAvailable();
    clock.advance(30_000);
    input.addData([{ user: "y", amount: 1 }]);
    await query.processAllAvailable();
    clock.advance(29_999);
    await query.processAllAvailable();
    assert.deepEqual(session.table("quiet_users"), [], "z times out once the clock passes start + 60 s, not before");
    // The actor looks at processing-time timeouts every 100 ms of the query's clock; a timeout fires once the time is
    // past it (timeout < now), as in Spark.
    clock.advance(101);
    await query.processAllAvailable();
    const rows: Row[] = session.table("quiet_users");
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.user, "z");
    assert.equal(rows[0]?.clicks, 2);
    assert.ok((rows[0]?.at as number) > start + 60_000, "the function sees the clock's time");
    clock.advance(30_000);
    await query.processAllAvailable();
    const [, quiet] = session.table("quiet_users");
    assert.equal(quiet?.user, "y");
    assert.ok((quiet?.at as number) > start + 90_000 && (quiet?.at as number) <= start + 90_100, `y times out at its first tick past start + 90 s (at ${String(quiet?.at)})`);
    await query.stop();
  });
});

describe("without rill.clock = manual", () => {
  it("there is no manual clock", async () => {
    const session = inProcessSession();
    try {
      assert.throws(() => session.manualClock(), /needs the configuration rill.clock = manual/);
    } finally {
      await session.stop();
    }
  });
});
