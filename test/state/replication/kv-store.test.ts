// The replicated state store on a real nats-server with JetStream: uploads, restores, torn uploads and compaction.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { NatsTransport } from "../../../src/actors/nats-transport.ts";
import { DriverReplica } from "../../../src/state/replication/driver-replica.ts";
import { chunkKey, deltaKey } from "../../../src/state/replication/keys.ts";
import { StateStore } from "../../../src/state/replication/kv-store.ts";
import { CHUNK_BYTES, type StoredEntry } from "../../../src/state/replication/payload.ts";
import { readCommittedState } from "../../../src/state/replication/restore.ts";
import { AttemptReplica } from "../../../src/state/replication/worker-replica.ts";
import { useNatsServer } from "../../helpers/nats.ts";

const server = useNatsServer();
const STAGE = "s1-aggregate";

function entry(key: string, value: string | null): StoredEntry {
  return { stateId: "aggregate-0", keyGroup: key.length % 128, key, bytes: value === null ? null : new TextEncoder().encode(value) };
}

function asText(entries: ReadonlyArray<StoredEntry>): Record<string, string> {
  return Object.fromEntries(entries.map((item) => [item.key, new TextDecoder().decode(item.bytes ?? new Uint8Array(0))]));
}

describe("replicated state store (JetStream key-value)", () => {
  let transport: NatsTransport;
  before(async () => {
    transport = await NatsTransport.connect(server().options);
  });
  after(async () => {
    await transport.close();
  });

  it("restores each committed epoch's changes of the committing attempt; a payload past max_payload travels in chunks", async () => {
    const driver = await DriverReplica.open(transport, "q-restore", { replicas: 1, snapshotEvery: 1000 }, () => undefined);
    const store = await StateStore.open(transport, "q-restore");
    await driver.begin("run", 0, -1);
    const first = new AttemptReplica(store, "run", 0);
    await first.upload(0, `${STAGE}.p0`, [entry("a", "1"), entry("b", "1")]);
    await first.upload(1, `${STAGE}.p0`, [entry("a", "2")]);
    // Attempt 0 is rolled back after epoch 0; its epoch-1 upload was never committed. Attempt 1 runs epoch 1 again.
    await driver.begin("run", 1, 0);
    const big = "x".repeat(CHUNK_BYTES * 2 + 10);
    await new AttemptReplica(store, "run", 1).upload(1, `${STAGE}.p1`, [entry("c", big), entry("b", null)]);
    // The stalled worker of attempt 0 uploads late.
    await first.upload(1, `${STAGE}.p0`, [entry("a", "stale")]);
    const restored = await readCommittedState(store, 1, [STAGE]);
    assert.deepEqual(asText(restored.entries), { a: "1", c: big });
    assert.deepEqual(asText((await readCommittedState(store, 0, [STAGE])).entries), { a: "1", b: "1" });
  });

  it("ignores a torn upload of an uncommitted attempt, and refuses one of the committing attempt", async () => {
    const driver = await DriverReplica.open(transport, "q-torn", { replicas: 1, snapshotEvery: 1000 }, () => undefined);
    const store = await StateStore.open(transport, "q-torn");
    await driver.begin("run", 0, -1);
    await new AttemptReplica(store, "run", 0).upload(0, `${STAGE}.p0`, [entry("a", "1")]);
    // A worker killed mid-upload: a chunk of epoch 1 without its manifest.
    const kv = store as unknown as { kv: { put(key: string, value: Uint8Array): Promise<number> } };
    await kv.kv.put(chunkKey(deltaKey(STAGE, 0, 1, "run", 0), 0), new Uint8Array([1, 2, 3]));
    assert.deepEqual(asText((await readCommittedState(store, 0, [STAGE])).entries), { a: "1" });
    await assert.rejects(readCommittedState(store, 1, [STAGE]), /s1-aggregate\.p0 in committed epoch 1 are torn/);
  });

  it("refuses to restore from a listing without the reader's marker rather than install no state", async () => {
    const driver = await DriverReplica.open(transport, "q-behind", { replicas: 1, snapshotEvery: 1000 }, () => undefined);
    const store = await StateStore.open(transport, "q-behind");
    await driver.begin("run", 0, -1);
    await new AttemptReplica(store, "run", 0).upload(0, `${STAGE}.p0`, [entry("a", "1")]);
    await driver.begin("run", 1, 0);
    assert.deepEqual(asText((await readCommittedState(store, 0, [STAGE], { runId: "run", attempt: 1 })).entries), { a: "1" });
    // Attempt 2's marker is not stored: every listing is as one behind the bucket would be for attempt 2's restore.
    await assert.rejects(readCommittedState(store, 0, [STAGE], { runId: "run", attempt: 2 }), /lacks the marker of run run attempt 2/);
  });

  it("compacts: a snapshot per stage replaces the deltas it covers and a restore reads the same state from fewer objects", async () => {
    const driver = await DriverReplica.open(transport, "q-compact", { replicas: 1, snapshotEvery: 1000 }, () => undefined);
    const store = await StateStore.open(transport, "q-compact");
    await driver.begin("run", 0, -1);
    const replica = new AttemptReplica(store, "run", 0);
    for (let epoch = 0; epoch < 12; epoch++) {
      await replica.upload(epoch, `${STAGE}.p${epoch % 2}`, [entry(`k${epoch % 5}`, String(epoch)), ...(epoch === 7 ? [entry("k1", null)] : [])]);
      await replica.upload(epoch, `s2-sink.p0`, [{ stateId: "sink", keyGroup: 0, key: "sender:0", bytes: new TextEncoder().encode(String(epoch)) }]);
    }
    const before = await readCommittedState(store, 9, [STAGE, "s2-sink"]);
    const figures = await driver.compact(9);
    assert.equal(figures.stages, 2);
    const after = await readCommittedState(store, 9, [STAGE, "s2-sink"]);
    assert.deepEqual(asText(after.entries), asText(before.entries));
    assert.equal(after.objects, 2, "one snapshot per stage");
    const listing = await store.listing();
    assert.deepEqual(listing.deltas.map((delta) => delta.name.epoch).sort((a, b) => a - b), [10, 10, 11, 11]);
    assert.deepEqual(asText((await readCommittedState(store, 11, [STAGE])).entries), { k0: "10", k1: "11", k2: "7", k3: "8", k4: "9" });
  });

  it("lists up to its own mark, written after every write acknowledged before: each key written just before is listed, the mark is not, and no consumer is left", async () => {
    const driver = await DriverReplica.open(transport, "q-listing", { replicas: 1, snapshotEvery: 1000 }, () => undefined);
    const store = await StateStore.open(transport, "q-listing");
    await driver.begin("run", 0, -1);
    const replica = new AttemptReplica(store, "run", 0);
    for (let epoch = 0; epoch < 20; epoch++) {
      await replica.upload(epoch, `${STAGE}.p0`, [entry(`k${epoch}`, String(epoch))]);
      const listing = await store.listing();
      assert.deepEqual(listing.deltas.map((delta) => delta.name.epoch).sort((a, b) => a - b), Array.from({ length: epoch + 1 }, (_, index) => index), `the listing after epoch ${epoch}'s upload`);
    }
    const manager = await jetstreamManager(transport.connectionForServices as Parameters<typeof jetstreamManager>[0]);
    const stream = await manager.streams.info(`KV_${store.bucket}`);
    assert.equal(stream.state.consumer_count, 0, "every listing removed its consumer");
  });
});
