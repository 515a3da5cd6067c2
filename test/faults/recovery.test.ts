// Recovery from a checkpoint: restart on the same location, roll back after a failure, refuse an incompatible change.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { CheckpointError, MemoryStream, activitySchema, generateActivity, type Row, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const ROWS = generateActivity({ seed: 33, count: 2400 });

function countsOf(rows: readonly Row[]): Map<unknown, number> {
  const counts = new Map<unknown, number>();
  for (const row of rows) counts.set(row.gt ?? null, (counts.get(row.gt ?? null) ?? 0) + 1);
  return new Map([...counts].sort());
}

describe("recovery from a checkpoint location", () => {
  let session: Session;
  let folder: string;
  before(async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 3 });
    folder = await mkdtemp(join(tmpdir(), "rill-recovery-"));
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  it("a restarted query continues its counts from the checkpoint and reads every row once", async () => {
    const location = join(folder, "restart");
    const input = new MemoryStream(session, activitySchema);
    const start = () => input.toDF().groupBy("gt").count().writeStream.queryName("restart_counts").format("memory").outputMode("complete").option("checkpointLocation", location).start();
    const first = await start();
    input.addData(ROWS.slice(0, 1000));
    await first.processAllAvailable();
    await first.stop();
    const second = await start();
    assert.equal(second.id, first.id, "the query id is kept in the checkpoint");
    assert.notEqual(second.runId, first.runId);
    assert.deepEqual(new Map(session.table("restart_counts").map((row) => [row.gt, row.count])), countsOf(ROWS.slice(0, 1000)), "the restored result table before new data");
    input.addData(ROWS.slice(1000));
    await second.processAllAvailable();
    assert.deepEqual(new Map(session.table("restart_counts").map((row) => [row.gt, row.count])), countsOf(ROWS));
    assert.ok((second.lastProgress?.batchId ?? 0) > (first.lastProgress?.batchId ?? 0), "epoch ids continue after the restart");
  });

  it("rolls back to the last committed epoch when an operator fails, and the output holds every row once", async () => {
    const poison = ROWS[1500]?.Index;
    let failuresLeft = 1;
    const input = new MemoryStream(session, activitySchema);
    const query = await input.toDF()
      .map((row) => {
        if (row.Index === poison && row.Device === ROWS[1500]?.Device && failuresLeft-- > 0) throw new Error("transient failure");
        return row;
      })
      .select("Device", "Index")
      .writeStream.queryName("rollback_rows").format("memory").option("checkpointLocation", join(folder, "rollback")).start();
    input.addData(ROWS.slice(0, 1200));
    await query.processAllAvailable();
    input.addData(ROWS.slice(1200));
    await query.processAllAvailable();
    const keys = session.table("rollback_rows").map((row) => `${String(row.Device)}#${String(row.Index)}`);
    assert.equal(query.numRecoveries, 1);
    assert.equal(keys.length, ROWS.length, "no row lost and none twice");
    assert.deepEqual(keys, ROWS.map((row) => `${row.Device}#${row.Index}`));
  });

  it("fails with the cause once the retries are used up", async () => {
    session.conf.set("rill.recovery.maxRetries", 2);
    const input = new MemoryStream(session, activitySchema);
    const query = await input.toDF().map(() => {
      throw new Error("always broken");
    }).writeStream.queryName("broken").format("memory").option("checkpointLocation", join(folder, "broken")).start();
    session.conf.set("rill.recovery.maxRetries", 3);
    input.addData(ROWS.slice(0, 10));
    await assert.rejects(query.awaitTermination(30_000), /always broken/);
    assert.equal(query.numRecoveries, 2);
    assert.match(query.exception()?.message ?? "", /map/);
  });

  it("refuses to restart with a changed grouping key, naming what changed", async () => {
    const location = join(folder, "changed");
    const input = new MemoryStream(session, activitySchema);
    const first = await input.toDF().groupBy("gt").count().writeStream.queryName("changed_a").format("memory").outputMode("complete").option("checkpointLocation", location).start();
    input.addData(ROWS.slice(0, 100));
    await first.processAllAvailable();
    await first.stop();
    await assert.rejects(
      input.toDF().groupBy("gt", "Model").count().writeStream.queryName("changed_b").format("memory").outputMode("complete").option("checkpointLocation", location).start(),
      (error: unknown) => error instanceof CheckpointError && /aggregate-0 changed from aggregate: groupBy by \[gt\].* to aggregate: groupBy by \[gt, Model\]/.test(error.message),
    );
    const filtered = await input.toDF().where("x > -1000").groupBy("gt").count().writeStream.queryName("changed_c").format("memory").outputMode("complete").option("checkpointLocation", location).start();
    assert.equal(filtered.isActive, true, "a changed filter keeps the state compatible");
  });
});
