// A JetStream reader's prepare() must make ready every message whose publish was acked before it was called, also
// while a replica of the stream lags behind its leader: here a follower restarted after it missed thousands of
// messages, which it catches up on for a while. A consumer (a probe's too) lives on a replica the cluster picks at
// random among the stream's peers; a drain target counted on the lagging one made prepare() end early, and
// processAllAvailable() return with input unread (test/cluster/commit-kill.test.ts at jetstream-sink-commit).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { JetStreamSourceProvider } from "../../src/connectors/sources/jetstream.ts";
import { rowValidator, schemaFromZod } from "../../src/core/zod-schema.ts";
import { RecordingContext, sourceRequest } from "../connectors/helpers.ts";
import { useNatsCluster } from "../helpers/nats-cluster.ts";

const STREAM = "DRAIN_IN";
const reading = z.object({ i: z.number().int() });
/** Messages published while the follower is down: its catching up on them takes long enough to drain several times. */
const MISSED = 30_000;
/** Readers opened and drained, one after another, from the follower's restart on. */
const ROUNDS = 12;

describe("a JetStream reader's drain while a replica of its stream catches up", { timeout: 600_000 }, () => {
  const cluster = useNatsCluster();
  let connection: NatsConnection;
  let manager: JetStreamManager;
  let client: JetStreamClient;
  let transport: NatsTransport;

  before(async () => {
    await cluster().waitReady();
    connection = await connect({ ...cluster().options, name: "drain-target-test", maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    manager = await jetstreamManager(connection, { timeout: 10_000 });
    client = jetstream(connection, { timeout: 10_000 });
    transport = await NatsTransport.connect(cluster().options);
  });
  after(async () => {
    await transport?.close();
    await connection?.close();
  });

  /** Publishes and waits for every ack; a publish the cluster did not answer is sent again with its msgId (one copy kept). */
  async function publish(through: JetStreamClient, from: number, count: number): Promise<void> {
    const one = async (i: number): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        try {
          await through.publish(`drain.in.${i % 3}`, JSON.stringify({ i }), { msgID: `drain-${i}` });
          return;
        } catch (error) {
          if (attempt === 50) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    };
    for (let start = 0; start < count; start += 500) await Promise.all(Array.from({ length: Math.min(500, count - start) }, (_, index) => one(from + start + index)));
  }

  /** Opens a reader (from the earliest message, with `subject` as filter when given), drains it once, and counts what prepare() made ready. */
  async function readyAfterPrepare(subject: string | undefined): Promise<number> {
    const options: Record<string, string> = { stream: STREAM, startingOffsets: "earliest", ...(subject === undefined ? {} : { subject }) };
    const provider = new JetStreamSourceProvider(sourceRequest("jetstream", options, { schema: schemaFromZod(reading), validate: rowValidator(reading), transport }));
    const reader = provider.createReader(0);
    try {
      await reader.open(new RecordingContext());
      await reader.prepare("all");
      let ready = 0;
      for (let batch = reader.poll(100_000); batch; batch = reader.poll(100_000)) ready += batch.rows.length;
      return ready;
    } finally {
      await reader.close();
    }
  }

  it("makes ready every acked message, as the stream's leader counts them, not a lagging replica", async () => {
    await manager.streams.delete(STREAM).catch(() => false);
    await manager.streams.add({ name: STREAM, subjects: ["drain.in.>"], num_replicas: 3 });
    await publish(client, 0, 1000);
    const leader = (await manager.streams.info(STREAM)).cluster?.leader;
    const connected = transport.connectedServer()?.name;
    // A follower the reader's connection is not on; the messages it misses go through a connection to the leader alone.
    const follower = cluster().nodes.find((node) => node.name !== leader && node.name !== connected);
    assert.ok(follower && leader, `a follower of ${STREAM} (leader ${leader}, connected ${connected})`);
    const publisher = await connect({ ...cluster().options, servers: [cluster().node(leader).url], name: "drain-target-publisher" });
    try {
      await follower.kill();
      await publish(jetstream(publisher, { timeout: 10_000 }), 1000, MISSED);
    } finally {
      await publisher.close();
    }
    const total = 1000 + MISSED;
    const perSubject = Math.ceil(total / 3); // i % 3 === 0: drain.in.0
    await follower.restart();
    const short: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const subject = round % 2 === 0 ? undefined : "drain.in.0";
      const ready = await readyAfterPrepare(subject);
      const expected = subject === undefined ? total : perSubject;
      if (ready < expected) short.push(`round ${round} (${subject ?? "every subject"}): ${ready} of ${expected}`);
    }
    await cluster().waitReady();
    assert.deepEqual(short, [], `prepare() ended before every acked message was ready (follower ${follower.name} restarted, leader ${leader})`);
  });
});
