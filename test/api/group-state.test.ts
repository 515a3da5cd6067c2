// Arbitrary stateful processing (seed 22.7): mapGroupsWithState and flatMapGroupsWithState, with timeouts and checkpoints.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { AnalysisError, MemoryStream, z, type Row, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const clicks = z.object({ user: z.string(), time: z.date(), amount: z.number() });
const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, second));

describe("mapGroupsWithState and flatMapGroupsWithState", () => {
  let session: Session;
  let folder: string;
  before(async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2 });
    folder = await mkdtemp(join(tmpdir(), "rill-group-state-"));
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  const totals = z.object({ user: z.string(), count: z.number().int(), total: z.number() });
  const running = (key: string, rows: Row[], state: { getOption(): { count: number; total: number } | undefined; update(value: { count: number; total: number }): void }) => {
    const previous = state.getOption() ?? { count: 0, total: 0 };
    const next = { count: previous.count + rows.length, total: previous.total + rows.reduce((sum, row) => sum + (row.amount as number), 0) };
    state.update(next);
    return { user: key, ...next };
  };

  it("mapGroupsWithState keeps a running total per key, and the state survives a restart on the checkpoint", async () => {
    const input = new MemoryStream(session, clicks);
    const location = join(folder, "running");
    // Not the memory sink: as in Spark, it cannot resume in update mode.
    const written: Row[] = [];
    const start = () => input.toDF().groupByKey((row) => row.user).mapGroupsWithState(running, { outputSchema: totals })
      .writeStream.queryName("running_totals").outputMode("update").option("checkpointLocation", location).foreachBatch((rows) => void written.push(...rows)).start();
    const first = await start();
    input.addData([{ user: "a", time: at(1), amount: 5 }, { user: "b", time: at(2), amount: 1 }, { user: "a", time: at(3), amount: 2 }]);
    await first.processAllAvailable();
    await first.stop();
    const second = await start();
    input.addData([{ user: "a", time: at(4), amount: 10 }]);
    await second.processAllAvailable();
    const latest = new Map(written.map((row): [string, string] => [row.user as string, `${String(row.count)}/${String(row.total)}`]));
    assert.deepEqual(latest, new Map([["a", "3/17"], ["b", "1/1"]]));
  });

  it("flatMapGroupsWithState emits a session summary when a key has been quiet for the processing-time timeout", async () => {
    const input = new MemoryStream(session, clicks);
    const summary = z.object({ user: z.string(), clicks: z.number().int() });
    let closed = (_row: Row): void => undefined;
    const firstSummary = new Promise<Row>((resolve) => (closed = resolve));
    const query = await input.toDF().groupByKey((row) => row.user).flatMapGroupsWithState<number>("append", (key, rows, state) => {
      if (state.hasTimedOut) {
        const count = state.get();
        state.remove();
        return [{ user: key, clicks: count }];
      }
      state.update((state.getOption() ?? 0) + rows.length);
      state.setTimeoutDuration(200);
      return [];
    }, { outputSchema: summary, timeout: "processingTime" })
      .writeStream.queryName("quiet_sessions").outputMode("append").foreach((row) => closed(row)).start();
    input.addData([{ user: "z", time: at(1), amount: 1 }, { user: "z", time: at(2), amount: 1 }, { user: "z", time: at(3), amount: 1 }]);
    await query.processAllAvailable();
    assert.deepEqual(await firstSummary, { user: "z", clicks: 3 });
  });

  it("an eventTime timeout fires when the watermark passes it", async () => {
    const input = new MemoryStream(session, clicks);
    const summary = z.object({ user: z.string(), clicks: z.number().int() });
    const query = await input.toDF().withWatermark("time", "5 seconds").groupByKey((row) => row.user).flatMapGroupsWithState<number>("append", (key, rows, state) => {
      if (state.hasTimedOut) return [{ user: key, clicks: state.get() }];
      state.update((state.getOption() ?? 0) + rows.length);
      state.setTimeoutTimestamp(Math.max(...rows.map((row) => (row.time as number))) + 10_000);
      return [];
    }, { outputSchema: summary, timeout: "eventTime" })
      .writeStream.queryName("event_sessions").format("memory").outputMode("append").start();
    input.addData([{ user: "u", time: at(1), amount: 1 }, { user: "u", time: at(2), amount: 1 }]);
    await query.processAllAvailable();
    assert.deepEqual(session.table("event_sessions"), [], "the watermark (12:00:-3) has not passed the timeout (12:00:12)");
    input.addData([{ user: "v", time: at(30), amount: 1 }]);
    await query.processAllAvailable();
    await query.processAllAvailable();
    assert.deepEqual(session.table("event_sessions"), [{ user: "u", clicks: 2 }]);
  });

  it("eventTime timeout: late rows never reach the function, and new data clears a timeout the function does not set again", async () => {
    const input = new MemoryStream(session, clicks);
    const summary = z.object({ user: z.string(), clicks: z.number().int() });
    const seen: string[] = [];
    const query = await input.toDF().withWatermark("time", "5 seconds").groupByKey((row) => row.user).flatMapGroupsWithState<number>("append", (key, rows, state) => {
      if (state.hasTimedOut) return [{ user: key, clicks: state.get() }];
      for (const row of rows) seen.push(`${key}@${new Date(row.time as number).getUTCSeconds()}`);
      state.update((state.getOption() ?? 0) + rows.length);
      // Only rows with an amount set a timeout; the others leave it unset, which clears the earlier one.
      if (rows.some((row) => (row.amount as number) > 0)) state.setTimeoutTimestamp(Math.max(...rows.map((row) => row.time as number)) + 10_000);
      return [];
    }, { outputSchema: summary, timeout: "eventTime" })
      .writeStream.queryName("cleared_timeouts").format("memory").outputMode("append").trigger({ processingTime: "1 hour" }).start();
    input.addData([{ user: "u", time: at(10), amount: 1 }]);
    await query.processAllAvailable();
    input.addData([{ user: "u", time: at(12), amount: 0 }, { user: "v", time: at(30), amount: 0 }]);
    await query.processAllAvailable();
    input.addData([{ user: "u", time: at(3), amount: 0 }, { user: "w", time: at(40), amount: 0 }]);
    await query.processAllAvailable();
    assert.deepEqual(session.table("cleared_timeouts"), [], "u's timeout (12:00:20) was cleared by its data at 12:00:12, so the watermark 12:00:35 does not fire it");
    assert.deepEqual(seen.filter((entry) => entry.startsWith("u@")), ["u@10", "u@12"], "u@3 is older than the watermark (12:00:25): dropped before the function");
    assert.equal(query.recentProgress.reduce((sum, progress) => sum + progress.numRowsDroppedByWatermark, 0), 1);
  });

  it("setTimeoutTimestamp earlier than the watermark is a user error", async () => {
    const input = new MemoryStream(session, clicks);
    const summary = z.object({ user: z.string(), clicks: z.number().int() });
    const query = await input.toDF().withWatermark("time", "5 seconds").groupByKey((row) => row.user).flatMapGroupsWithState<number>("append", (_key, rows, state) => {
      if (state.hasTimedOut) return [];
      state.setTimeoutTimestamp(Math.max(...rows.map((row) => row.time as number)) - 10_000);
      return [];
    }, { outputSchema: summary, timeout: "eventTime" })
      .writeStream.queryName("past_timeout").format("memory").outputMode("append").trigger({ processingTime: "1 hour" }).start();
    input.addData([{ user: "v", time: at(30), amount: 0 }]);
    await query.processAllAvailable();
    input.addData([{ user: "u", time: at(28), amount: 0 }]);
    await assert.rejects(query.processAllAvailable(), (error: unknown) => error instanceof Error && /UserCodeError.*earlier than the current watermark/.test(error.message));
  });

  it("refuses mapGroupsWithState outside update mode and an eventTime timeout without a watermark", async () => {
    const input = new MemoryStream(session, clicks);
    await assert.rejects(input.toDF().groupByKey((row) => row.user).mapGroupsWithState(running, { outputSchema: totals }).writeStream.queryName("x").format("memory").outputMode("append").start(),
      (error: unknown) => error instanceof AnalysisError && /mapGroupsWithState\(\) supports only the update output mode/.test(error.message));
    await assert.rejects(input.toDF().groupByKey((row) => row.user).flatMapGroupsWithState("append", () => [], { outputSchema: totals, timeout: "eventTime" }).writeStream.queryName("y").format("memory").outputMode("append").start(),
      /needs a watermark/);
  });
});
