// The attempt fence of a shared checkpoint (src/state/fence.ts): the decisions, and each crash point on a real LMDB
// environment, where a writer of a rolled-back attempt (a worker paused between taking its epoch's changes and writing
// them) writes after the next attempt began, or before it; and a driver taken over by another one.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { open } from "lmdb";
import { CheckpointError } from "../../src/core/errors.ts";
import { decideBegin, decideChangeWrite, FENCE_KEY, nextFence } from "../../src/state/fence.ts";
import { CheckpointStorage } from "../../src/state/lmdb-storage.ts";

const A0 = { runId: "aaaaaaaa-run", number: 0 };
const A1 = { runId: "aaaaaaaa-run", number: 1 };
const A2 = { runId: "aaaaaaaa-run", number: 2 };
const B0 = { runId: "bbbbbbbb-run", number: 0 };
const change = (key: string, value: number) => ({ stateId: "agg", keyGroup: 3, key, value });

describe("attempt fence decisions", () => {
  it("lets the attempt that holds the fence write, and a writer or checkpoint without attempts", () => {
    assert.equal(decideChangeWrite(A1, A1, 4).kind, "write");
    assert.equal(decideChangeWrite(undefined, A0, 4).kind, "write", "a checkpoint no attempt began on (before fences, a worker's own store)");
    assert.equal(decideChangeWrite(A1, undefined, 4).kind, "write", "a caller outside a query run");
  });

  it("refuses an earlier attempt, another run's attempt, and a fence that is not an attempt", () => {
    const refused = decideChangeWrite(A1, A0, 4);
    assert.equal(refused.kind, "refuse");
    assert.match(refused.kind === "refuse" ? refused.reason : "", /epoch 4 come from attempt 0 of run aaaaaaaa, but attempt 1 of run aaaaaaaa began/);
    assert.equal(decideChangeWrite(B0, A1, 4).kind, "refuse");
    assert.equal(decideChangeWrite({ runId: 7 }, A1, 4).kind, "refuse");
  });

  it("begins a run's first attempt always, a later one only while the run's previous attempt holds the fence", () => {
    assert.equal(decideBegin(A1, undefined, B0).kind, "write", "a driver that opened the checkpoint takes it over");
    assert.equal(decideBegin(undefined, A0, A1).kind, "write");
    assert.equal(decideBegin(A0, A0, A1).kind, "write");
    const refused = decideBegin(B0, A1, A2);
    assert.equal(refused.kind, "refuse");
    assert.match(refused.kind === "refuse" ? refused.reason : "", /attempt 2 of run aaaaaaaa cannot begin: attempt 0 of run bbbbbbbb began on this checkpoint after attempt 1/);
  });
});

describe("attempt sequence numbers", () => {
  it("numbers each begin one above the stored fence's, starting at 1 on a fresh checkpoint or over a fence without one", () => {
    assert.deepEqual(nextFence(undefined, A0), { ...A0, sequence: 1 });
    assert.deepEqual(nextFence({ ...A0, sequence: 1 }, A1), { ...A1, sequence: 2 });
    assert.deepEqual(nextFence({ ...A1, sequence: 41 }, B0), { ...B0, sequence: 42 }, "another run's begin goes on from the fence");
    assert.deepEqual(nextFence(A1, B0), { ...B0, sequence: 1 }, "a fence of a Rill before sequences");
    assert.deepEqual(nextFence({ ...A1, sequence: "7" }, B0), { ...B0, sequence: 1 });
  });
});

describe("attempt fence on a shared checkpoint", () => {
  let folder = "";
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-fence-"));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  /** Epoch 0 committed by attempt A0 (state a = 1); A0 then took its changes of epoch 1 and stalled before writing them. */
  async function committedEpochZero(name: string): Promise<CheckpointStorage> {
    const storage = CheckpointStorage.open(join(folder, name));
    await storage.beginAttempt(A0, -1, undefined);
    await storage.writeChanges(0, [change("a", 1)], "s1.p0", A0);
    await storage.commit({ epoch: 0, offsets: { src: 10 }, committedAt: "t0" }, 100, A0);
    return storage;
  }

  it("gives every attempt that begins a higher sequence than the one before, across runs, and records it in the fence", async () => {
    const path = join(folder, "sequence");
    const storage = CheckpointStorage.open(path);
    assert.equal(await storage.beginAttempt(A0, -1, undefined), 1);
    assert.equal(await storage.beginAttempt(A1, -1, A0), 2);
    assert.equal(await storage.beginAttempt(B0, -1, undefined), 3, "a driver taking the checkpoint over");
    await storage.close();
    const reopened = CheckpointStorage.open(path);
    assert.equal(await reopened.beginAttempt({ runId: "cccccccc-run", number: 0 }, -1, undefined), 4, "kept across a reopen");
    await reopened.close();
  });

  it("begins at 1 over the fence of a Rill before sequences, and still refuses a run another driver took over", async () => {
    const path = join(folder, "old-fence");
    const made = CheckpointStorage.open(path);
    await made.beginAttempt(B0, -1, undefined);
    await made.close();
    // The fence as a Rill before sequences wrote it: the attempt alone.
    const raw = open<unknown, (string | number)[]>({ path, compression: false, noSubdir: false });
    await raw.put(FENCE_KEY, { runId: B0.runId, number: B0.number });
    await raw.close();
    const storage = CheckpointStorage.open(path);
    await assert.rejects(storage.beginAttempt(A1, -1, A0), CheckpointError, "run A was taken over by run B");
    const B1 = { runId: B0.runId, number: 1 };
    assert.equal(await storage.beginAttempt(B1, -1, B0), 1);
    assert.equal(await storage.beginAttempt({ runId: "cccccccc-run", number: 0 }, -1, undefined), 2);
    await storage.close();
  });

  it("refuses the stalled write once the next attempt began: the replay's epoch commits alone, nothing stays outside the state", async () => {
    const storage = await committedEpochZero("after-begin");
    // A0 given up; its rollback begins A1 from epoch 0, which replays epoch 1 and commits it and epoch 2.
    await storage.beginAttempt(A1, 0, A0);
    await storage.writeChanges(1, [change("a", 5)], "s1.p0", A1);
    await storage.commit({ epoch: 1, offsets: { src: 20 }, committedAt: "t1" }, 100, A1);
    // The stalled writer resumes: its changes of epoch 1 (other rows: a = 3, b = 9) are refused, nothing written.
    await assert.rejects(storage.writeChanges(1, [change("a", 3), change("b", 9)], "s1.p0", A0), (error: unknown) => error instanceof CheckpointError && /epoch 1 come from attempt 0 .* but attempt 1 .* began/.test(error.message));
    assert.deepEqual(storage.pendingEpochs(), [], "no change of a committed epoch outside the state");
    // Nor a later epoch of the stalled attempt, which A1 has not reached yet: it would be folded with A1's.
    await assert.rejects(storage.writeChanges(2, [change("b", 9)], "s1.p0", A0), CheckpointError);
    await storage.writeChanges(2, [change("a", 6)], "s1.p0", A1);
    await storage.commit({ epoch: 2, offsets: { src: 30 }, committedAt: "t2" }, 100, A1);
    assert.deepEqual([...storage.readState("agg", () => true)], [["a", 6]]);
    await storage.close();
  });

  it("removes a stalled write that landed before the next attempt began (its epoch was never committed)", async () => {
    const storage = await committedEpochZero("before-begin");
    await storage.writeChanges(1, [change("b", 9)], "s1.p0", A0);
    await storage.beginAttempt(A1, 0, A0);
    assert.deepEqual(storage.pendingEpochs(), []);
    await storage.writeChanges(1, [change("a", 5)], "s1.p0", A1);
    await storage.commit({ epoch: 1, offsets: { src: 20 }, committedAt: "t1" }, 100, A1);
    assert.deepEqual([...storage.readState("agg", () => true)], [["a", 5]]);
    await storage.close();
  });

  it("refuses the commit and the next attempt of a driver another driver took over from", async () => {
    const storage = await committedEpochZero("takeover");
    // Driver A paused past its heartbeat timeout: a new driver (run B) opens the checkpoint and begins.
    await storage.beginAttempt(B0, 0, undefined);
    // A resumes with epoch 1 fully acked (its actors had no changes): its commit is refused, and so is its rollback.
    await assert.rejects(storage.commit({ epoch: 1, offsets: { src: 20 }, committedAt: "t1" }, 100, A0), CheckpointError);
    assert.equal(storage.lastCommit()?.epoch, 0);
    await assert.rejects(storage.beginAttempt(A1, 0, A0), (error: unknown) => error instanceof CheckpointError && /another driver runs this query/.test(error.message));
    await storage.writeChanges(1, [change("a", 7)], "s1.p0", B0);
    await storage.commit({ epoch: 1, offsets: { src: 20 }, committedAt: "t1" }, 100, B0);
    assert.deepEqual([...storage.readState("agg", () => true)], [["a", 7]]);
    await storage.close();
  });
});
