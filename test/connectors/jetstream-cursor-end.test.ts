// What a JetStream cursor tells prepare() of the stream's end: the count, whether the leader made it, the leader's last
// sequence, and the next matching message the leader holds, which skips deleted, purged and non-matching messages.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import type { JetStreamAccess, JetStreamCursor } from "../../src/actors/jetstream.ts";
import { useNatsServer } from "../helpers/nats.ts";

const server = useNatsServer();
const encoder = new TextEncoder();

describe("a JetStream cursor's end", () => {
  let transport: NatsTransport;
  let access: JetStreamAccess;
  let connection: NatsConnection;
  let manager: JetStreamManager;
  before(async () => {
    transport = await NatsTransport.connect(server().options);
    access = transport.jetstream();
    connection = await connect(server().options);
    manager = await jetstreamManager(connection);
  });
  after(async () => {
    await transport.close();
    await connection.close();
  });

  /** Sequences 1..6 on ends.a, ends.b, ends.a, ...: the stream's last message is ends.b. */
  async function stream(name: string): Promise<void> {
    await access.addStream({ name, subjects: [`${name.toLowerCase()}.>`], storage: "memory" });
    for (let sequence = 1; sequence <= 6; sequence++) await access.publish(`${name.toLowerCase()}.${sequence % 2 === 1 ? "a" : "b"}`, encoder.encode(String(sequence)));
  }

  async function readAll(cursor: JetStreamCursor): Promise<number[]> {
    const sequences: number[] = [];
    for (let end = await cursor.end(); cursor.handedOut() < end; end = await cursor.end()) await cursor.fetch(end - cursor.handedOut(), 1000, (message) => sequences.push(message.sequence));
    return sequences;
  }

  it("counts with the filter, on the only replica of a one-replica stream (the leader), and gives the leader's last sequence of any subject", async () => {
    await stream("ENDS1");
    const cursor = await access.openCursor("ENDS1", { startSequence: 1, filter: "ends1.a" });
    try {
      assert.deepEqual(await cursor.endFacts(), { count: 3, countedByLeader: true, leaderLastSequence: 6 });
      assert.equal(cursor.lastSequence(), 0);
      assert.equal(await cursor.nextAtLeader(), 1);
      assert.deepEqual(await readAll(cursor), [1, 3, 5]);
      assert.equal(cursor.lastSequence(), 5);
      assert.deepEqual(await cursor.recount(), { count: 3, countedByLeader: true });
      assert.equal(await cursor.nextAtLeader(), undefined, "the stream's last message (6) does not match the filter");
    } finally {
      await cursor.close();
    }
  });

  it("skips deleted messages, and answers none after a purge or for a filter that matches nothing", async () => {
    await stream("ENDS2");
    const filtered = await access.openCursor("ENDS2", { startSequence: 1, filter: "ends2.a" });
    const nothing = await access.openCursor("ENDS2", { startSequence: 1, filter: "ends2.c" });
    const every = await access.openCursor("ENDS2", { startSequence: 3, filter: undefined });
    try {
      await manager.streams.deleteMessage("ENDS2", 1);
      await manager.streams.deleteMessage("ENDS2", 3);
      assert.equal(await filtered.nextAtLeader(), 5, "1 and 3 are deleted");
      assert.equal(await every.nextAtLeader(), 4, "3 is deleted");
      assert.equal(await nothing.nextAtLeader(), undefined);
      await manager.streams.purge("ENDS2");
      assert.equal(await filtered.nextAtLeader(), undefined);
      assert.equal(await every.nextAtLeader(), undefined);
      assert.equal((await every.endFacts()).leaderLastSequence, 6, "a purge keeps the last sequence");
    } finally {
      await Promise.all([filtered.close(), nothing.close(), every.close()]);
    }
  });
});
