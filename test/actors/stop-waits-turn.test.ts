// An actor's stop() waits (bounded) for a turn that is inside an await, here a foreachBatch that has not returned.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStream, z, type Session } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

const clicks = z.object({ user: z.string(), amount: z.number().int() });

describe("stopping a query while its sink awaits", () => {
  let session: Session;
  before(() => {
    session = inProcessSession({ "rill.shuffle.partitions": 1 });
  });
  after(async () => {
    await session.stop();
  });

  it("resolves stop() only after the batch's await has ended", async () => {
    const input = new MemoryStream(session, clicks);
    const events: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started: () => void = () => undefined;
    const batchStarted = new Promise<void>((resolve) => (started = resolve));
    const query = await input.toDF().writeStream.foreachBatch(async (rows) => {
      if (rows.length === 0) return;
      events.push("batch started");
      started();
      await gate;
      events.push("batch ended");
    }).start();
    input.addData([{ user: "a", amount: 1 }]);
    await batchStarted;
    const stopped = query.stop().then(() => events.push("stop resolved"));
    // Let stop() run as far as it can while the batch is held: several turns of the event loop.
    for (let turn = 0; turn < 20; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
    events.push("released");
    release();
    await stopped;
    assert.deepEqual(events, ["batch started", "released", "batch ended", "stop resolved"]);
  });
});
