// The LMDB checkpoint storage: commits are atomic, uncommitted changes are discarded, state reads back as of the last commit.
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { open } from "lmdb";
import { CheckpointError } from "../../src/core/errors.ts";
import { CheckpointStorage } from "../../src/state/lmdb-storage.ts";

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
