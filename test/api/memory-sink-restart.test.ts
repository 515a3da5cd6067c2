// The memory sink restarts from a checkpoint only in complete mode, as in Spark: in append and update mode the rows
// it held before are not part of the checkpoint, so a restart is refused at start().
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { CheckpointError, MemoryStream, z, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const events = z.object({ user: z.string(), amount: z.number() });

describe("memory sink restarts", () => {
  let session: Session;
  let folder: string;
  before(async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 1 });
    folder = await mkdtemp(join(tmpdir(), "rill-memory-restart-"));
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  for (const outputMode of ["append", "update"] as const) {
    it(`refuses to restart a memory sink in ${outputMode} mode on a checkpoint with committed epochs`, async () => {
      const location = join(folder, outputMode);
      const input = new MemoryStream(session, events);
      const frame = outputMode === "append" ? input.toDF() : input.toDF().groupBy("user").count();
      const start = () => frame.writeStream.queryName(`memory_${outputMode}`).format("memory").outputMode(outputMode).option("checkpointLocation", location).start();
      const first = await start();
      input.addData([{ user: "a", amount: 1 }]);
      await first.processAllAvailable();
      await first.stop();
      await assert.rejects(start(), (error: unknown) => error instanceof CheckpointError && new RegExp(`memory sink .*${outputMode} mode`).test(error.message) && error.message.includes(location));
      assert.equal(session.streams.active.length, 0);
    });
  }

  it("starts again in append mode on a checkpoint that has no committed epoch yet", async () => {
    const location = join(folder, "empty");
    const input = new MemoryStream(session, events);
    const start = () => input.toDF().writeStream.queryName("memory_empty").format("memory").option("checkpointLocation", location).trigger({ processingTime: "1 hour" }).start();
    const first = await start();
    await first.stop();
    const second = await start();
    assert.equal(second.isActive, true);
  });

  it("restarts in complete mode with the result table restored", async () => {
    const location = join(folder, "complete");
    const input = new MemoryStream(session, events);
    const start = () => input.toDF().groupBy("user").count().writeStream.queryName("memory_complete").format("memory").outputMode("complete").option("checkpointLocation", location).start();
    const first = await start();
    input.addData([{ user: "a", amount: 1 }, { user: "b", amount: 2 }, { user: "a", amount: 3 }]);
    await first.processAllAvailable();
    await first.stop();
    const second = await start();
    input.addData([{ user: "b", amount: 4 }]);
    await second.processAllAvailable();
    assert.deepEqual(Object.fromEntries(session.table("memory_complete").map((row) => [row.user, row.count])), { a: 2, b: 2 });
  });
});
