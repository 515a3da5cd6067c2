// The parameter bucket's server going away never fails a query: the last values stay in force, progress says the bucket
// is unreachable, and a change made elsewhere after it returns reaches the query through the watch.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";
import { MemoryStream, TransportError, z, type Row, type Session, type StreamingQuery } from "../../src/index.ts";
import { KvParamStore } from "../../src/params/kv-store.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const readings = z.object({ sensor: z.string(), value: z.number() });
const VALUES = [10, 35, 45, 55, 65, 75];

/** Runs epochs until the query's progress shows `connected`; each processAllAvailable() is one event, no sleeps. */
async function untilConnected(query: StreamingQuery, connected: boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (query.lastProgress?.parameters?.connected !== connected) {
    assert.ok(Date.now() < deadline, `progress never showed connected = ${String(connected)}`);
    await query.processAllAvailable();
  }
}

describe("a parameter bucket that goes away", () => {
  let paramServer: NatsServerHandle;
  let session: Session;
  before(async () => {
    paramServer = await startNatsServer();
    const { user, pass } = paramServer.options as { user: string; pass: string };
    session = natsSession(server().options, { "rill.params.url": paramServer.url.replace("nats://", `nats://${user}:${pass}@`), "rill.params.bucket": "unreachable" });
  });
  after(async () => {
    await session.stop();
    await paramServer.stop();
  });

  it("keeps the last values while the bucket is down and takes a change made elsewhere when it is back", { timeout: 120_000 }, async () => {
    session.params.declare("threshold", { type: "double", default: 30 });
    await session.params.set("threshold", 40);
    const input = new MemoryStream(session, readings);
    const rows: Row[] = [];
    const query = await input.toDF().filter("value > param('threshold')").writeStream.foreachBatch((batch) => void rows.push(...batch)).start();
    const sensorRows = (sensor: string) => rows.filter((row) => row.sensor === sensor).map((row) => row.value);
    input.addData(VALUES.map((value) => ({ sensor: "up", value })));
    await query.processAllAvailable();
    assert.deepEqual(sensorRows("up"), VALUES.filter((value) => value > 40));
    assert.equal(query.lastProgress?.parameters?.connected, true);

    await paramServer.stop({ keepStore: true });
    await untilConnected(query, false);
    assert.match(query.lastProgress?.parameters?.message ?? "", /unreachable; the last values known stay in force/);
    input.addData(VALUES.map((value) => ({ sensor: "down", value })));
    await query.processAllAvailable();
    assert.deepEqual(sensorRows("down"), VALUES.filter((value) => value > 40));
    assert.equal(query.isActive, true);
    assert.deepEqual(query.lastProgress?.parameters?.values, { threshold: 40 });
    await assert.rejects(session.params.set("threshold", 99), (error: unknown) => error instanceof TransportError && /Cannot write to NATS KV bucket 'unreachable'/.test(error.message));

    await paramServer.restart();
    await untilConnected(query, true);
    // Another writer (as `rill param set` is): the query hears of it only through its watch.
    const other = new KvParamStore(paramServer.options, "unreachable");
    try {
      await other.loaded;
      await other.put("threshold", 60);
    } finally {
      await other.close();
    }
    const deadline = Date.now() + 60_000;
    while (query.lastProgress?.parameters?.values.threshold !== 60) {
      assert.ok(Date.now() < deadline, "the change never reached the query");
      await query.processAllAvailable();
    }
    input.addData(VALUES.map((value) => ({ sensor: "back", value })));
    await query.processAllAvailable();
    assert.deepEqual(sensorRows("back"), VALUES.filter((value) => value > 60));
    await query.stop();
  });
});
