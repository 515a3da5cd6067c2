// Listeners see each query's events in order, asynchronously: a slow listener never holds the query back.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStream, activitySchema, generateActivity, type Session, type StreamingQueryListener } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

describe("streaming query listeners", () => {
  let session: Session;
  before(() => {
    session = inProcessSession();
  });
  after(async () => {
    await session.stop();
  });

  it("deliver started, progress, idle and terminated in order, and a slow listener does not slow the query", async () => {
    const events: string[] = [];
    let terminated = (): void => undefined;
    const done = new Promise<void>((resolve) => (terminated = resolve));
    const listener: StreamingQueryListener = {
      onQueryStarted: (event) => void events.push(`started ${String(event.name)}`),
      onQueryProgress: (event) => void events.push(`progress ${event.progress.batchId} ${event.progress.numInputRows}`),
      onQueryIdle: () => void events.push("idle"),
      onQueryTerminated: (event) => {
        events.push(`terminated ${String(event.exception)}`);
        terminated();
      },
    };
    let slowCalls = 0;
    const slow: StreamingQueryListener = { onQueryProgress: () => new Promise<void>((resolve) => setTimeout(() => (slowCalls++, resolve()), 1500)) };
    session.streams.addListener(listener);
    session.streams.addListener(slow);
    const input = new MemoryStream(session, activitySchema);
    const query = await input.toDF().writeStream.queryName("listened").format("memory").start();
    input.addData(generateActivity({ seed: 1, count: 100 }));
    await query.processAllAvailable();
    await query.processAllAvailable();
    await query.processAllAvailable();
    await query.stop();
    const slowCallsWhenStopped = slowCalls;
    await done;
    session.streams.removeListener(listener);
    session.streams.removeListener(slow);
    assert.ok(slowCallsWhenStopped < 3, `three epochs and a stop finished while the slow listener had handled ${slowCallsWhenStopped} of its events`);
    assert.equal(events[0], "started listened");
    assert.equal(events[1], "progress 0 100");
    assert.equal(events[2], "progress 1 0");
    assert.equal(events[3], "idle");
    assert.equal(events[events.length - 1], "terminated null");
    const batches = events.filter((event) => event.startsWith("progress")).map((event) => Number(event.split(" ")[1]));
    assert.deepEqual(batches, [...batches].sort((a, b) => a - b));
  });
});
