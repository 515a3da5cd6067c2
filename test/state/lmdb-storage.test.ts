// The LMDB checkpoint storage: commits are atomic, uncommitted changes are discarded, state reads back as of the last commit.
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { open } from "lmdb";
import { CheckpointError } from "../../src/core/errors.ts";
import { openCheckpoint } from "../../src/api/checkpoint.ts";
import { CheckpointStorage } from "../../src/state/lmdb-storage.ts";
import { STATE_FORMAT } from "../../src/state/value-codec.ts";

describe("CheckpointStorage", () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-storage-"));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("keeps a checkpoint folder whose name contains a dot a folder, and reopens it", async () => {
    const path = join(folder, "stream.checkpoint-1");
    const first = CheckpointStorage.open(path);
    await first.writeChanges(0, [{ stateId: "agg", keyGroup: 1, key: "a", value: 1 }]);
    await first.commit({ epoch: 0, offsets: {}, committedAt: "t0" });
    await first.close();
    assert.ok((await readdir(path)).includes("data.mdb"), "the environment lives inside the folder");
    const second = CheckpointStorage.open(path);
    assert.deepEqual([...second.readState("agg", () => true)], [["a", 1]]);
    await second.close();
  });

  it("refuses a commit record changed on disk that still decodes: its checksum no longer matches", async () => {
    const path = join(folder, "checksum");
    const storage = CheckpointStorage.open(path);
    await storage.commit({ epoch: 0, offsets: { src: 10 }, committedAt: "t0" });
    assert.deepEqual(storage.lastCommit()?.offsets, { src: 10 });
    await storage.close();
    // What a flipped byte inside the record's value would leave: another offset, the old checksum.
    const raw = open<Record<string, unknown>, (string | number)[]>({ path, compression: false, noSubdir: false });
    const record = raw.get(["commit", 0]) as Record<string, unknown>;
    await raw.put(["commit", 0], { ...record, offsets: { src: 90 } });
    await raw.close();
    const reopened = CheckpointStorage.open(path);
    assert.throws(() => reopened.lastCommit(), (error: unknown) => error instanceof CheckpointError && error.message.includes(join(path, "data.mdb")) && /commit record of epoch 0 fails its checksum/.test(error.message));
    await reopened.close();
  });

  it("refuses a state value changed on disk that still decodes, naming the file, the state and the key: its CRC-32 no longer matches", async () => {
    const path = join(folder, "state-checksum");
    const storage = CheckpointStorage.open(path);
    await storage.writeChanges(0, [{ stateId: "agg", keyGroup: 5, key: "walk", value: { count: 1234, sum: 99 } }]);
    await storage.commit({ epoch: 0, offsets: { src: 10 }, committedAt: "t0" });
    assert.deepEqual([...storage.readState("agg", () => true)], [["walk", { count: 1234, sum: 99 }]]);
    await storage.close();
    // One bit of the count flipped inside the stored bytes: still valid msgpack, another number.
    const raw = open<unknown, (string | number)[]>({ path, compression: false, noSubdir: false });
    const stored = Buffer.from(raw.get(["state", "agg", 5, "walk"]) as Uint8Array);
    const at = stored.indexOf(Buffer.from([0xcd, 0x04, 0xd2]));
    assert.ok(at > 0, "the count 1234 is in the stored bytes");
    stored.writeUInt8(stored.readUInt8(at + 2) ^ 0x01, at + 2);
    await raw.put(["state", "agg", 5, "walk"], stored);
    await raw.close();
    const reopened = CheckpointStorage.open(path);
    assert.throws(() => [...reopened.readState("agg", () => true)], (error: unknown) => {
      assert.ok(error instanceof CheckpointError, String(error));
      assert.ok(error.message.includes(`The checkpoint file '${join(path, "data.mdb")}' is damaged: state agg, key 'walk' (key group 5) holds a value whose CRC-32 is`), error.message);
      return true;
    });
    await reopened.close();
  });

  it("never folds a state change damaged on disk into the state: the commit fails and the state is untouched", async () => {
    const path = join(folder, "delta-checksum");
    const storage = CheckpointStorage.open(path);
    await storage.writeChanges(0, [{ stateId: "agg", keyGroup: 1, key: "a", value: "before" }]);
    await storage.commit({ epoch: 0, offsets: {}, committedAt: "t0" });
    await storage.writeChanges(1, [{ stateId: "agg", keyGroup: 1, key: "a", value: "after" }]);
    await storage.close();
    const raw = open<unknown, (string | number)[]>({ path, compression: false, noSubdir: false });
    const stored = Buffer.from(raw.get(["delta", 1, "agg", 1, "a"]) as Uint8Array);
    stored.writeUInt8(stored.readUInt8(1) ^ 0x20, 1);
    await raw.put(["delta", 1, "agg", 1, "a"], stored);
    await raw.close();
    const reopened = CheckpointStorage.open(path);
    await assert.rejects(reopened.commit({ epoch: 1, offsets: {}, committedAt: "t1" }), (error: unknown) => error instanceof CheckpointError && error.message.includes("the change of epoch 1 to state agg, key 'a'"));
    assert.equal(reopened.lastCommit()?.epoch, 0);
    assert.deepEqual([...reopened.readState("agg", () => true)], [["a", "before"]]);
    await reopened.close();
  });

  it("upgrades a checkpoint written before state checksums when it is opened, and reads its state as before", async () => {
    const path = join(folder, "legacy");
    // What a Rill before checksums wrote: plain values, and a meta without stateFormat.
    const raw = open<unknown, (string | number)[]>({ path, compression: false, noSubdir: false, encoder: { int64AsType: "auto" } });
    const meta = { id: "legacy-id", name: "legacy", createdAt: "t", sources: ["memory"], stateful: [{ stateId: "agg", kind: "aggregate", signature: "count" }], outputMode: "complete" };
    await raw.put(["meta"], meta);
    await raw.put(["commit", 0], { epoch: 0, offsets: { src: 3 }, committedAt: "t0" });
    await raw.put(["state", "agg", 7, "a"], { count: 2 });
    await raw.put(["state", "agg", 9, "b"], [1, 2n ** 60n]);
    await raw.close();
    const opened = await openCheckpoint(path, { name: "legacy", sources: ["memory"], stateful: meta.stateful, outputMode: "complete" });
    try {
      assert.equal(opened.id, "legacy-id");
      assert.deepEqual(opened.resume, { lastCommittedEpoch: 0, offsets: { src: 3 } });
      assert.equal(opened.storage.readMeta()?.stateFormat, STATE_FORMAT);
      assert.deepEqual([...opened.storage.readState("agg", () => true)], [["a", { count: 2 }], ["b", [1, 2n ** 60n]]]);
    } finally {
      await opened.storage.close();
    }
  });

  it("refuses a checkpoint whose state format is newer than this Rill reads", async () => {
    const path = join(folder, "newer");
    const raw = open<unknown, (string | number)[]>({ path, compression: false, noSubdir: false });
    await raw.put(["meta"], { id: "x", name: null, createdAt: "t", sources: ["memory"], stateful: [], outputMode: "append", stateFormat: STATE_FORMAT + 1 });
    await raw.close();
    await assert.rejects(openCheckpoint(path, { name: undefined, sources: ["memory"], stateful: [], outputMode: "append" }), (error: unknown) => error instanceof CheckpointError && error.message.includes(`stores its state in format ${STATE_FORMAT + 1}`) && error.message.includes(path));
  });

  it("folds an epoch's changes into the state only when the epoch commits", async () => {
    const storage = CheckpointStorage.open(join(folder, "fold"));
    await storage.writeChanges(0, [{ stateId: "agg", keyGroup: 1, key: "a", value: 1 }, { stateId: "agg", keyGroup: 2, key: "b", value: 2 }]);
    assert.deepEqual([...storage.readState("agg", () => true)], []);
    await storage.commit({ epoch: 0, offsets: { src: 10 }, committedAt: "t0" });
    assert.deepEqual([...storage.readState("agg", () => true)].sort(), [["a", 1], ["b", 2]]);
    await storage.writeChanges(1, [{ stateId: "agg", keyGroup: 1, key: "a", value: null }]);
    await storage.commit({ epoch: 1, offsets: { src: 20 }, committedAt: "t1" });
    assert.deepEqual([...storage.readState("agg", () => true)], [["b", 2]]);
    assert.deepEqual(storage.lastCommit()?.offsets, { src: 20 });
    assert.deepEqual(storage.commits().map((commit) => commit.epoch), [0, 1]);
    await storage.close();
  });

  it("after a crash before the commit, reopening shows the changes as pending and discarding them leaves the committed state", async () => {
    const path = join(folder, "crash");
    const before = CheckpointStorage.open(path);
    await before.writeChanges(0, [{ stateId: "agg", keyGroup: 5, key: "k", value: 1 }]);
    await before.commit({ epoch: 0, offsets: {}, committedAt: "t" });
    await before.writeChanges(1, [{ stateId: "agg", keyGroup: 5, key: "k", value: 99 }]);
    await before.close();
    const after = CheckpointStorage.open(path);
    assert.deepEqual(after.pendingEpochs(), [1]);
    await after.discardAfter(after.lastCommit()?.epoch ?? -1);
    assert.deepEqual(after.pendingEpochs(), []);
    assert.deepEqual([...after.readState("agg", () => true)], [["k", 1]]);
    await after.close();
  });

  it("reads only the key groups a partition owns", async () => {
    const storage = CheckpointStorage.open(join(folder, "groups"));
    await storage.writeChanges(0, Array.from({ length: 8 }, (_, keyGroup) => ({ stateId: "agg", keyGroup, key: `k${keyGroup}`, value: keyGroup })));
    await storage.commit({ epoch: 0, offsets: {}, committedAt: "t" });
    assert.deepEqual([...storage.readState("agg", (keyGroup) => keyGroup % 2 === 0)].map(([key]) => key), ["k0", "k2", "k4", "k6"]);
    await storage.close();
  });
});

describe("CheckpointStorage.lastCommit", () => {
  it("finds epoch 0 when it is the only commit", async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-storage-"));
    const storage = CheckpointStorage.open(folder);
    assert.equal(storage.lastCommit(), undefined);
    await storage.commit({ epoch: 0, offsets: { a: 1 }, committedAt: "t" });
    assert.equal(storage.lastCommit()?.epoch, 0);
    await storage.close();
    await rm(folder, { recursive: true, force: true });
  });
});

describe("CheckpointStorage commit records", () => {
  it("keeps only the last commits, so a long-running query's checkpoint does not grow per epoch", async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-storage-"));
    const storage = CheckpointStorage.open(folder);
    for (let epoch = 0; epoch < 30; epoch++) await storage.commit({ epoch, offsets: { source: epoch }, committedAt: "t" }, 10);
    assert.deepEqual(storage.commits().map((commit) => commit.epoch), Array.from({ length: 10 }, (_, index) => 20 + index));
    assert.equal(storage.lastCommit()?.epoch, 29);
    await storage.close();
    await rm(folder, { recursive: true, force: true });
  });
});

describe("CheckpointStorage with many changes", () => {
  it("folds every one of 1,000 changes of a committed epoch into the state and leaves no change of it behind", async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-storage-"));
    const storage = CheckpointStorage.open(folder);
    const changes = Array.from({ length: 1000 }, (_, index) => ({ stateId: "agg", keyGroup: index % 128, key: `k${index}`, value: index }));
    await storage.writeChanges(0, changes);
    await storage.commit({ epoch: 0, offsets: {}, committedAt: "t" });
    assert.equal(storage.stateRows("agg"), 1000);
    assert.deepEqual(storage.pendingEpochs(), []);
    const state = new Map(storage.readState("agg", () => true));
    for (const change of changes) assert.equal(state.get(change.key), change.value, `state of ${change.key}`);
    await storage.close();
    await rm(folder, { recursive: true, force: true });
  });

  it("discards every one of 1,000 uncommitted changes", async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-storage-"));
    const storage = CheckpointStorage.open(folder);
    await storage.writeChanges(3, Array.from({ length: 1000 }, (_, index) => ({ stateId: "agg", keyGroup: index % 128, key: `k${index}`, value: index })));
    await storage.writeChanges(4, Array.from({ length: 1000 }, (_, index) => ({ stateId: "agg", keyGroup: index % 128, key: `k${index}`, value: -index })));
    await storage.discardAfter(2);
    assert.deepEqual(storage.pendingEpochs(), []);
    assert.equal(storage.stateRows("agg"), 0);
    await storage.close();
    await rm(folder, { recursive: true, force: true });
  });
});

describe("CheckpointStorage.open on a damaged location", () => {
  it("refuses a location whose data.mdb is gone while its lock file is left, naming the file", async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-storage-"));
    const storage = CheckpointStorage.open(folder);
    await storage.writeChanges(0, [{ stateId: "agg", keyGroup: 1, key: "a", value: 1 }]);
    await storage.commit({ epoch: 0, offsets: { src: 10 }, committedAt: "t0" });
    await storage.close();
    await rm(join(folder, "data.mdb"));
    assert.throws(() => CheckpointStorage.open(folder), (error: Error) => error.name === "CheckpointError" && /no data\.mdb/.test(error.message) && error.message.includes(folder));
    await rm(folder, { recursive: true, force: true });
  });
});
