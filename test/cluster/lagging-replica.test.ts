// A replica of the input stream restarted after a SIGKILL lags the leader while it catches up; processAllAvailable()
// must still return only once every row the leader held is read, wherever the cluster places the counting consumer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { z } from "../../src/index.ts";
import { useNatsCluster } from "../helpers/nats-cluster.ts";
import { natsSession } from "../helpers/session.ts";

const STREAM = "LAGGING_IN";
/** Rows published while the replica is down: enough that it needs a second or so to catch up once restarted. */
const ROWS_WHILE_DOWN = 100_000;
const ROWS_BEFORE = 1000;
/** Queries: each one's count is placed on the lagging replica with a chance of about one in three. */
const QUERIES = 8;
/** Kills and restarts of the replica. */
const CYCLES = 2;

describe("processAllAvailable() over a three-node cluster whose restarted replica lags", { timeout: 300_000 }, () => {
  const cluster = useNatsCluster();

  it("reads every row the leader holds, also while a replica that lost them catches up", async () => {
    const nodes = cluster();
    await nodes.waitReady();
    const setup = await connect(nodes.options);
    const manager = await jetstreamManager(setup, { timeout: 10_000 });
    await manager.streams.add({ name: STREAM, subjects: ["lagging.>"], num_replicas: 3 });
    const session = natsSession(nodes.options, { "rill.shuffle.partitions": 1 });
    let feeder: Awaited<ReturnType<typeof connect>> | undefined;
    try {
      const connected = (await session.connect()).connectedServer?.()?.name;
      const leader = (await manager.streams.info(STREAM)).cluster?.leader;
      const victim = nodes.nodes.find((node) => node.name !== leader && node.name !== connected);
      assert.ok(victim, `a follower the session is not connected to (leader ${leader}, session on ${connected})`);
      feeder = await connect({ ...nodes.options, servers: nodes.nodes.filter((node) => node !== victim).map((node) => node.url) });
      const client = jetstream(feeder, { timeout: 10_000 });
      let total = await publishRows(client, 0, ROWS_BEFORE);
      // Epochs only when processAllAvailable() asks: its own count is the one that must not come out short.
      const counting = (name: string, trigger: { processingTime: string } | { once: true }) =>
        session.readStream.format("jetstream").option("stream", STREAM).schema(z.object({ id: z.number().int(), all: z.string() })).load()
          .groupBy("all").count().writeStream.queryName(name).format("memory").outputMode("complete").trigger(trigger).start();
      const queries = await Promise.all(Array.from({ length: QUERIES }, (_, index) => counting(`lagging_${index}`, { processingTime: "1 hour" })));
      const counts = () => queries.map((query) => Number(session.table(query.name as string)[0]?.count ?? 0));
      await Promise.all(queries.map((query) => query.processAllAvailable()));
      assert.deepEqual(counts(), queries.map(() => total));
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        await victim.kill();
        total = await publishRows(client, total, ROWS_WHILE_DOWN);
        await victim.restart();
        await nodes.waitReady();
        // Each query counts what is left on a replica the cluster picks, the restarted one still catching up among them;
        // so do trigger-once queries started now, which have one epoch to read all in (no next one to read on).
        const once = Array.from({ length: QUERIES / 2 }, (_, index) => `lagging_once_${cycle}_${index}`);
        const [onceQueries] = await Promise.all([Promise.all(once.map((name) => counting(name, { once: true }))), Promise.all(queries.map((query) => query.processAllAvailable()))]);
        for (const query of onceQueries) await query.awaitTermination();
        assert.deepEqual(once.map((name) => Number(session.table(name)[0]?.count ?? 0)), once.map(() => total), `a trigger-once query ended with rows unread (${victim.name} restarted, cycle ${cycle})`);
        assert.deepEqual(counts(), queries.map(() => total), `processAllAvailable() returned with rows unread (${victim.name} restarted, cycle ${cycle})`);
      }
      for (const query of queries) assert.equal(query.isActive, true, String(query.exception()));
    } finally {
      await session.stop();
      await feeder?.close();
      await setup.close();
    }
  });
});

/** Publishes rows `from` .. `from + count - 1` (ids in order), a thousand acknowledgements awaited at a time. */
async function publishRows(client: JetStreamClient, from: number, count: number): Promise<number> {
  const end = from + count;
  for (let start = from; start < end; start += 1000) {
    const ids = Array.from({ length: Math.min(1000, end - start) }, (_, index) => start + index);
    await Promise.all(ids.map((id) => client.publish(`lagging.${id % 3}`, JSON.stringify({ id, all: "rows" }), { msgID: `row-${id}` })));
  }
  return end;
}
