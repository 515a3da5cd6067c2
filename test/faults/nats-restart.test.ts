// A real nats-server stopped and restarted in the middle of an epoch: the checkpointed query rolls back and its result is exact.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MemoryStream, Session, activitySchema, generateActivity, startNatsServer, type NatsServerHandle } from "../../src/index.ts";

const ROWS = generateActivity({ seed: 44, count: 6000 });

describe("nats-server restarted under a running query", () => {
  let server: NatsServerHandle;
  let folder: string;
  before(async () => {
    server = await startNatsServer();
    folder = await mkdtemp(join(tmpdir(), "rill-nats-restart-"));
  });
  after(async () => {
    await server.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("counts every row once although frames in flight were lost with the server", async () => {
    const session = Session.builder().appName("restart").nats({ servers: server.url }).config("rill.shuffle.partitions", 2).log(() => undefined).getOrCreate();
    try {
      const input = new MemoryStream(session, activitySchema);
      const query = await input.toDF().groupBy("User").count().writeStream.queryName("through_restart").format("memory").outputMode("complete")
        .option("checkpointLocation", join(folder, "checkpoint")).start();
      input.addData(ROWS.slice(0, 2000));
      await query.processAllAvailable();
      input.addData(ROWS.slice(2000));
      await server.stop({ keepStore: true });
      await server.restart();
      await query.processAllAvailable();
      const expected = new Map<string, number>();
      for (const row of ROWS) expected.set(row.User, (expected.get(row.User) ?? 0) + 1);
      const actual = new Map(session.table("through_restart").map((row): [string, number] => [row.User as string, row.count as number]));
      assert.deepEqual(new Map([...actual].sort()), new Map([...expected].sort()));
      assert.ok(query.numRecoveries >= 1, "the reconnect made the query roll back to its last committed epoch");
      assert.equal(query.isActive, true);
    } finally {
      await session.stop();
    }
  });
});
