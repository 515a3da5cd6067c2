// The replicated state protocol's decisions, with the store seeded as a crash or a stalled worker would leave it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attemptOf, groupKeys, planCompaction, planRestore, type AttemptMarker, type Listing } from "../../../src/state/replication/decisions.ts";
import { chunkKey, deltaKey, markerKey, parseKey, snapshotKey, type StoreName } from "../../../src/state/replication/keys.ts";

const STAGE = "s1-aggregate";

/** A bucket's keys: each complete object with one chunk; `torn` ones with chunks and no manifest. */
function listing(objects: { complete?: readonly string[]; torn?: readonly string[] }, markers: ReadonlyArray<[runId: string, attempt: number, afterEpoch: number]>): Listing {
  const keys: string[] = [];
  for (const key of objects.complete ?? []) keys.push(key, chunkKey(key, 0));
  for (const key of objects.torn ?? []) keys.push(chunkKey(key, 0), chunkKey(key, 1));
  const names = keys.map((key) => parseKey(key)).filter((name): name is StoreName => name !== undefined);
  const facts: AttemptMarker[] = markers.map(([runId, attempt, afterEpoch], index) => ({ key: markerKey(runId, attempt), runId, attempt, afterEpoch, revision: 10 + index }));
  return groupKeys(names, facts);
}

function restoredKeys(plan: ReturnType<typeof planRestore>): string[] {
  assert.equal(plan.kind, "restore", plan.kind === "damaged" ? plan.reasons.join("; ") : "");
  return plan.kind === "restore" ? plan.stages.flatMap((stage) => [...(stage.snapshot ? [stage.snapshot.key] : []), ...stage.deltas.map((delta) => delta.key)]) : [];
}

describe("replicated state: restore decisions", () => {
  it("takes the changes of every committed epoch, oldest first, and none after the committed epoch", () => {
    const store = listing({ complete: [deltaKey(STAGE, 0, 1, "r", 0), deltaKey(STAGE, 1, 0, "r", 0), deltaKey(STAGE, 0, 0, "r", 0), deltaKey(STAGE, 0, 2, "r", 0)] }, [["r", 0, -1]]);
    assert.deepEqual(restoredKeys(planRestore(store, 1, [STAGE])), [deltaKey(STAGE, 0, 0, "r", 0), deltaKey(STAGE, 1, 0, "r", 0), deltaKey(STAGE, 0, 1, "r", 0)]);
  });

  it("ignores what a stalled worker of a rolled-back attempt uploads after the next attempt started (the fence)", () => {
    // Attempt 0 ran epochs 0-3, committed 0-1, was rolled back; attempt 1 resumed after 1 and committed 2-3. The
    // stalled worker of attempt 0 woke up and uploaded epoch 3 (and a late 2) after attempt 1's.
    const store = listing({ complete: [deltaKey(STAGE, 0, 0, "r", 0), deltaKey(STAGE, 0, 1, "r", 0), deltaKey(STAGE, 0, 2, "r", 1), deltaKey(STAGE, 0, 3, "r", 1), deltaKey(STAGE, 0, 2, "r", 0), deltaKey(STAGE, 0, 3, "r", 0)] }, [["r", 0, -1], ["r", 1, 1]]);
    assert.deepEqual(restoredKeys(planRestore(store, 3, [STAGE])), [deltaKey(STAGE, 0, 0, "r", 0), deltaKey(STAGE, 0, 1, "r", 0), deltaKey(STAGE, 0, 2, "r", 1), deltaKey(STAGE, 0, 3, "r", 1)]);
  });

  it("does not fall back to a rolled-back attempt's changes when the committing attempt had none for a partition", () => {
    const store = listing({ complete: [deltaKey(STAGE, 0, 2, "r", 0), deltaKey(STAGE, 1, 2, "r", 0), deltaKey(STAGE, 0, 2, "r", 1)] }, [["r", 0, 1], ["r", 1, 1]]);
    assert.deepEqual(restoredKeys(planRestore(store, 2, [STAGE])), [deltaKey(STAGE, 0, 2, "r", 1)]);
  });

  it("orders attempts by the store's revision, so a restarted driver's run (a new run id) supersedes the old one", () => {
    const store = listing({ complete: [deltaKey(STAGE, 0, 5, "zzz-old", 3), deltaKey(STAGE, 0, 5, "aaa-new", 0)] }, [["zzz-old", 3, 2], ["aaa-new", 0, 4]]);
    assert.deepEqual(restoredKeys(planRestore(store, 5, [STAGE])), [deltaKey(STAGE, 0, 5, "aaa-new", 0)]);
    assert.equal(attemptOf(store.markers, 3)?.runId, "zzz-old");
  });

  it("skips a torn upload of an attempt that never committed its epoch (killed mid-upload)", () => {
    const store = listing({ complete: [deltaKey(STAGE, 0, 0, "r", 0), deltaKey(STAGE, 0, 1, "r", 1)], torn: [deltaKey(STAGE, 0, 1, "r", 0)] }, [["r", 0, -1], ["r", 1, 0]]);
    assert.deepEqual(restoredKeys(planRestore(store, 1, [STAGE])), [deltaKey(STAGE, 0, 0, "r", 0), deltaKey(STAGE, 0, 1, "r", 1)]);
  });

  it("calls a torn upload of the committing attempt damage: it acked only after its manifest was stored", () => {
    const store = listing({ torn: [deltaKey(STAGE, 0, 0, "r", 0)] }, [["r", 0, -1]]);
    const plan = planRestore(store, 0, [STAGE]);
    assert.equal(plan.kind, "damaged");
    assert.match(plan.kind === "damaged" ? plan.reasons[0] ?? "" : "", /s1-aggregate\.p0 in committed epoch 0 are torn/);
  });

  it("calls changes of a committed epoch that no marker covers damage, naming the stage and epoch", () => {
    const store = listing({ complete: [deltaKey(STAGE, 0, 0, "r", 0)] }, [["r", 0, 3]]);
    const plan = planRestore(store, 0, [STAGE]);
    assert.deepEqual(plan, { kind: "damaged", reasons: ["stage s1-aggregate has changes of committed epoch 0 but no attempt marker says which attempt committed it"] });
  });

  it("starts from the newest complete snapshot at or before the committed epoch and applies only later changes", () => {
    const store = listing({ complete: [snapshotKey(STAGE, 3), snapshotKey(STAGE, 9), deltaKey(STAGE, 0, 3, "r", 0), deltaKey(STAGE, 0, 4, "r", 0), deltaKey(STAGE, 0, 10, "r", 0)] }, [["r", 0, -1]]);
    assert.deepEqual(restoredKeys(planRestore(store, 5, [STAGE])), [snapshotKey(STAGE, 3), deltaKey(STAGE, 0, 4, "r", 0)]);
  });

  it("ignores a torn snapshot (the compactor died mid-upload) and restores from the older one and the deltas", () => {
    const store = listing({ complete: [snapshotKey(STAGE, 3), deltaKey(STAGE, 0, 4, "r", 0), deltaKey(STAGE, 0, 5, "r", 0)], torn: [snapshotKey(STAGE, 5)] }, [["r", 0, -1]]);
    assert.deepEqual(restoredKeys(planRestore(store, 5, [STAGE])), [snapshotKey(STAGE, 3), deltaKey(STAGE, 0, 4, "r", 0), deltaKey(STAGE, 0, 5, "r", 0)]);
  });

  it("after a compactor died between its snapshot and the removals, restores from the snapshot and ignores the deltas it covers", () => {
    const store = listing({ complete: [snapshotKey(STAGE, 5), deltaKey(STAGE, 0, 4, "r", 0), deltaKey(STAGE, 0, 5, "r", 0), deltaKey(STAGE, 0, 6, "r", 0)] }, [["r", 0, -1]]);
    assert.deepEqual(restoredKeys(planRestore(store, 6, [STAGE])), [snapshotKey(STAGE, 5), deltaKey(STAGE, 0, 6, "r", 0)]);
  });

  it("makes no plan from a listing that lacks the reader's own marker (behind the bucket), where it would restore nothing", () => {
    // A consumer on a replica still catching up after a NATS node was lost lists nothing, or an old prefix of the keys.
    const full = listing({ complete: [deltaKey(STAGE, 0, 0, "r", 0), deltaKey(STAGE, 0, 1, "r", 0)] }, [["r", 0, -1], ["r", 1, 1]]);
    const reader = { runId: "r", attempt: 1 };
    assert.deepEqual(restoredKeys(planRestore(full, 1, [STAGE], reader)), [deltaKey(STAGE, 0, 0, "r", 0), deltaKey(STAGE, 0, 1, "r", 0)]);
    for (const behind of [listing({}, []), listing({ complete: [deltaKey(STAGE, 0, 0, "r", 0)] }, [["r", 0, -1]])]) {
      const plan = planRestore(behind, 1, [STAGE], reader);
      assert.equal(plan.kind, "behind");
      assert.match(plan.kind === "behind" ? plan.reason : "", /lacks the marker of run r attempt 1/);
    }
  });

  it("keeps stages apart: each gets its own snapshot and deltas", () => {
    const store = listing({ complete: [deltaKey(STAGE, 0, 0, "r", 0), deltaKey("s2-sink", 0, 0, "r", 0), snapshotKey("s2-sink", 0)] }, [["r", 0, -1]]);
    assert.deepEqual(restoredKeys(planRestore(store, 0, ["s2-sink"])), [snapshotKey("s2-sink", 0)]);
  });
});

describe("replicated state: compaction decisions", () => {
  it("removes what the newest complete snapshot covers, manifests before chunks, and keeps later changes", () => {
    const store = listing({ complete: [snapshotKey(STAGE, 2), snapshotKey(STAGE, 5), deltaKey(STAGE, 0, 5, "r", 0), deltaKey(STAGE, 0, 6, "r", 0)], torn: [deltaKey(STAGE, 1, 4, "r", 0), deltaKey(STAGE, 1, 7, "r", 0)] }, [["r", 0, -1]]);
    const { manifests, rest } = planCompaction(store, 6);
    assert.deepEqual([...manifests].sort(), [deltaKey(STAGE, 0, 5, "r", 0), snapshotKey(STAGE, 2)].sort());
    // The torn upload at epoch 7 may be one still under way: it stays.
    assert.deepEqual([...rest].sort(), [chunkKey(deltaKey(STAGE, 0, 5, "r", 0), 0), chunkKey(deltaKey(STAGE, 1, 4, "r", 0), 0), chunkKey(deltaKey(STAGE, 1, 4, "r", 0), 1), chunkKey(snapshotKey(STAGE, 2), 0)].sort());
  });

  it("removes nothing of a stage whose only snapshot is torn", () => {
    const store = listing({ complete: [deltaKey(STAGE, 0, 1, "r", 0)], torn: [snapshotKey(STAGE, 1)] }, [["r", 0, -1]]);
    assert.deepEqual(planCompaction(store, 1), { manifests: [], rest: [] });
  });

  it("never removes the one complete snapshot it restores from", () => {
    const store = listing({ complete: [snapshotKey(STAGE, 4)] }, [["r", 0, -1]]);
    assert.deepEqual(planCompaction(store, 4), { manifests: [], rest: [] });
  });

  it("drops markers no epoch after the oldest stage's snapshot can need, and keeps those that can", () => {
    // Attempts: r/0 after -1, r/1 after 3, r/2 after 8. Snapshots at 5 (stage A) and 9 (stage B): epochs > 5 still
    // matter, which r/1 (6-8) and r/2 (9-) answer; r/0 answers only epochs up to 3.
    const store = listing({ complete: [snapshotKey("a", 5), snapshotKey("b", 9)] }, [["r", 0, -1], ["r", 1, 3], ["r", 2, 8]]);
    assert.deepEqual(planCompaction(store, 9).rest, [markerKey("r", 0)]);
    // After the restore rule: what the kept markers say is what the full set said for every epoch after 5.
    const kept: Listing = { ...store, markers: store.markers.filter((marker) => marker.key !== markerKey("r", 0)) };
    for (let epoch = 6; epoch < 20; epoch++) assert.equal(attemptOf(kept.markers, epoch)?.key, attemptOf(store.markers, epoch)?.key);
  });

  it("a restore after compaction gives the same plan from the snapshot as before from the deltas' epochs", () => {
    const before = listing({ complete: [deltaKey(STAGE, 0, 0, "r", 0), deltaKey(STAGE, 0, 1, "r", 0), deltaKey(STAGE, 0, 2, "r", 0), snapshotKey(STAGE, 1)] }, [["r", 0, -1]]);
    const { manifests, rest } = planCompaction(before, 2);
    const removed = new Set([...manifests, ...rest]);
    assert.ok(!removed.has(deltaKey(STAGE, 0, 2, "r", 0)));
    const after = listing({ complete: [deltaKey(STAGE, 0, 2, "r", 0), snapshotKey(STAGE, 1)] }, [["r", 0, -1]]);
    assert.deepEqual(restoredKeys(planRestore(after, 2, [STAGE])), restoredKeys(planRestore(before, 2, [STAGE])));
  });
});

describe("replicated state: names", () => {
  it("parses what it builds and leaves foreign keys alone", () => {
    assert.deepEqual(parseKey(deltaKey("s1-agg.x", 2, 7, "run-1", 3)), { kind: "delta", key: "delta.s1-agg_x.2.7.run-1.3", stage: "s1-agg_x", partition: 2, epoch: 7, runId: "run-1", attempt: 3 });
    assert.deepEqual(parseKey(chunkKey(snapshotKey("s", 4), 12)), { kind: "chunk", key: "chunk.snap.s.4.12", owner: "snap.s.4" });
    assert.equal(parseKey("someone.else"), undefined);
    assert.equal(parseKey("delta.s.x.1.r.0"), undefined);
  });
});
