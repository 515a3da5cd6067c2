// The NATS uplink of an edge gateway: a query writes to a JetStream stream on the gateway's nats-server, a leaf node of a
// cloud nats-server whose stream sources it. The cloud is stopped while the query keeps producing and started again:
// every record arrives at the far end exactly once and in order.
//
// Real parts: two nats-servers (each its own JetStream domain, the README's "Edge deployment" configuration), a
// checkpointed query with the `rate` source (rows numbered 0, 1, 2, ...: the oracle) and the transactional `jetstream` sink.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DiscardPolicy, jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { findNatsServer } from "../../src/actors/nats-server.ts";
import type { Session, StreamingQuery } from "../../src/index.ts";
import { startEdgeDeployment, type EdgeDeployment } from "../helpers/nats-leaf.ts";
import { natsSession } from "../helpers/session.ts";

const RATE = 400;
/** Records the gateway must take while the cloud is down: 20 s of the query's output. */
const DURING_CUT = RATE * 20;
const skip = (await findNatsServer()) === undefined ? "nats-server is not installed (apt-get install nats-server)" : false;

describe("NATS leaf-node uplink", { skip }, () => {
  let edge: EdgeDeployment;
  let folder: string;
  let session: Session;
  let gatewayClient: NatsConnection;
  let gatewayManager: JetStreamManager;

  before(async () => {
    edge = await startEdgeDeployment("site7");
    folder = await mkdtemp(join(tmpdir(), "rill-uplink-leaf-"));
    gatewayClient = await connect({ servers: edge.gateway.url, name: "uplink-leaf-test-gateway" });
    gatewayManager = await jetstreamManager(gatewayClient, { timeout: 10_000 });
    session = natsSession({ servers: edge.gateway.url });
  });
  after(async () => {
    await session?.stop();
    await gatewayClient?.close();
    await edge?.remove();
    await rm(folder, { recursive: true, force: true });
  });

  /** A connection to the cloud that waits for it (the cloud is stopped and started during the test). */
  async function cloudManager(): Promise<{ client: NatsConnection; manager: JetStreamManager }> {
    const client = await connect({ servers: edge.cloud.url, name: "uplink-leaf-test-cloud", maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    return { client, manager: await jetstreamManager(client, { timeout: 10_000 }) };
  }

  async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it("delivers every record once and in order to the cloud's stream across a 20 s cut of the leaf connection", async (t) => {
    // The gateway's stream: bounded, and a full one refuses writes (the query waits) rather than dropping the oldest.
    await gatewayManager.streams.add({ name: "READINGS", subjects: ["readings.>"], max_bytes: 256 * 1024 * 1024, discard: DiscardPolicy.New });
    let cloud = await cloudManager();
    // The cloud reaches the gateway's JetStream through the leaf connection once it is up.
    await until("the leaf connection", async () => (await jetstreamManager(cloud.client, { domain: edge.domain, timeout: 2000 }).then((manager) => manager.streams.info("READINGS"))) !== undefined);
    await cloud.manager.streams.add({ name: "SITE7", sources: [{ name: "READINGS", external: { api: `$JS.${edge.domain}.API`, deliver: "" } }] });

    const query: StreamingQuery = await session.readStream.format("rate").option("rowsPerSecond", String(RATE)).option("numPartitions", "1").load()
      .select("value").writeStream.format("jetstream").option("subject", "readings.site7").option("mode", "transactional")
      .option("checkpointLocation", join(folder, "checkpoint")).queryName("uplink_leaf").start();
    const local = async () => (await gatewayManager.streams.info("READINGS")).state.messages;
    const far = async (manager: JetStreamManager) => (await manager.streams.info("SITE7")).state.messages;
    await until("records at the far end before the cut", async () => (await far(cloud.manager)) >= RATE);

    // The cut: the cloud server stops; the query keeps committing into the gateway's stream.
    await cloud.client.close();
    await edge.cloud.stop();
    const atCut = await local();
    const epochAtCut = query.lastProgress?.batchId ?? -1;
    await until(`${DURING_CUT} records into the gateway's stream while the cloud is down`, async () => (await local()) >= atCut + DURING_CUT);
    assert.ok(query.isActive, "the query runs on while the uplink is down");
    assert.ok((query.lastProgress?.batchId ?? -1) > epochAtCut, "epochs commit while the uplink is down");

    await edge.cloud.start();
    cloud = await cloudManager();
    const afterCut = await local();
    // Records produced after the restore arrive too.
    await until("records produced after the restore at the far end", async () => (await far(cloud.manager)) > afterCut + RATE);
    await query.stop();
    const total = await local();
    await until(`all ${total} records at the far end`, async () => (await far(cloud.manager)) === total);

    const values = await readValues(cloud.client, "SITE7", total);
    assert.equal(values.length, total);
    const firstWrong = values.findIndex((value, index) => value !== index);
    assert.equal(firstWrong, -1, `the far end holds record ${values[firstWrong]} at position ${firstWrong}: a record lost, repeated or out of order`);
    assert.ok(total >= atCut + DURING_CUT + RATE, `${total} records in all`);
    // And the gateway's own stream holds each once too (the transactional sink across the query's epochs).
    assert.deepEqual(await readValues(gatewayClient, "READINGS", total), values);
    t.diagnostic(`${total} records, ${afterCut - atCut} of them written while the cloud was down, each once and in order at the far end`);
    await cloud.client.close();
  });
});

/** The `value` of every message of a stream, in stream order (an ordered consumer). */
async function readValues(client: NatsConnection, stream: string, count: number): Promise<number[]> {
  const consumer = await jetstream(client).consumers.get(stream);
  const messages = await consumer.consume();
  const values: number[] = [];
  for await (const message of messages) {
    values.push((message.json() as { value: number }).value);
    if (values.length === count) break;
  }
  await messages.close();
  return values;
}
