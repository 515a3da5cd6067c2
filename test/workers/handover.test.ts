// The pure decisions of a handover (planned re-placement): when workers that joined are worth one, what a leave request
// does, whether one may start, and what each step's failure (each crash point) leads to.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { afterStep, joinWantsHandover, leaveDecision, leaveOutcome, startDecision, type LeaveReply, type QueryState } from "../../src/workers/handover.ts";

describe("handover decisions", () => {
  it("a joined worker with free slots is worth a handover when some worker hosts two or more actors", () => {
    const hosted = new Map([["a", 2], ["b", 2]]);
    assert.equal(joinWantsHandover(hosted, [{ name: "a", free: 16 }, { name: "b", free: 16 }, { name: "c", free: 16 }]), true);
    assert.equal(joinWantsHandover(hosted, [{ name: "a", free: 16 }, { name: "b", free: 16 }]), false, "nobody joined");
    assert.equal(joinWantsHandover(hosted, [{ name: "a", free: 16 }, { name: "b", free: 16 }, { name: "c", free: 0 }]), false, "the newcomer has no free slot");
    assert.equal(joinWantsHandover(new Map([["a", 1], ["b", 1], ["c", 1]]), [{ name: "a", free: 16 }, { name: "b", free: 16 }, { name: "c", free: 16 }, { name: "d", free: 16 }]), false, "one actor each: moving one gains nothing");
  });

  it("a handover after joins leaves no worker worth another: 2+2 on three workers gives 2+1+1, a fourth then 1+1+1+1, a fifth nothing", () => {
    assert.equal(joinWantsHandover(new Map([["a", 2], ["b", 1], ["c", 1]]), ["a", "b", "c", "d"].map((name) => ({ name, free: 16 }))), true);
    assert.equal(joinWantsHandover(new Map([["a", 1], ["b", 1], ["c", 1], ["d", 1]]), ["a", "b", "c", "d", "e"].map((name) => ({ name, free: 16 }))), false);
  });

  it("a leave: nothing to do when the query hosts nothing there; a handover when the others have room; none when they have not", () => {
    const hosted = new Map([["a", 2], ["b", 2]]);
    assert.deepEqual(leaveDecision("c", hosted, [{ name: "a", free: 16 }, { name: "b", free: 16 }], 4), { kind: "not-hosting" });
    assert.deepEqual(leaveDecision("a", hosted, [{ name: "b", free: 4 }], 4), { kind: "hand-over" });
    assert.deepEqual(leaveDecision("a", hosted, [{ name: "a", free: 16 }, { name: "b", free: 3 }], 4), { kind: "no-room", reason: "the other workers have 3 free slots for the query's 4 actors" }, "the leaving worker's own slots do not count");
    assert.equal(leaveDecision("a", new Map([["a", 4]]), [], 4).kind, "no-room", "the only worker leaves");
  });

  it("a handover starts only for a running, checkpointed, triggered query on workers; it joins one under way, or a rollback", () => {
    const running: QueryState = { active: true, failed: false, checkpointed: true, onWorkers: true, triggered: true, recovering: false, handingOver: false };
    assert.deepEqual(startDecision(running), { kind: "start" });
    assert.deepEqual(startDecision({ ...running, recovering: true }), { kind: "join-running" });
    assert.deepEqual(startDecision({ ...running, handingOver: true }), { kind: "join-running" });
    for (const state of [{ ...running, onWorkers: false }, { ...running, checkpointed: false }, { ...running, active: false }, { ...running, failed: true }, { ...running, triggered: false }]) {
      assert.equal(startDecision(state).kind, "skip", JSON.stringify(state));
    }
  });

  it("crash point: the final epoch fails (a worker or the epoch lost) -> a rollback; a rollback that took over -> it is the fallback", () => {
    assert.deepEqual(afterStep("final-epoch", { kind: "ok" }), { kind: "continue", step: "stop" });
    assert.equal(afterStep("final-epoch", { kind: "failed", error: "epoch 7 ended without a commit" }).kind, "rollback");
    assert.equal(afterStep("final-epoch", { kind: "superseded" }).kind, "rollback");
  });

  it("crash point: the stop fails (a worker does not confirm) -> place all the same, since the final epoch committed and nothing was read after it", () => {
    assert.deepEqual(afterStep("stop", { kind: "ok" }), { kind: "continue", step: "place" });
    assert.deepEqual(afterStep("stop", { kind: "failed", error: "worker b did not confirm the stop" }), { kind: "continue", step: "place" });
    assert.equal(afterStep("stop", { kind: "superseded" }).kind, "rollback");
  });

  it("crash point: placing the next attempt fails (a worker killed while placing) -> a rollback; placed -> done", () => {
    assert.deepEqual(afterStep("place", { kind: "ok" }), { kind: "done" });
    const next = afterStep("place", { kind: "failed", error: "worker c was lost while the query was being placed" });
    assert.equal(next.kind, "rollback");
    assert.match(next.kind === "rollback" ? next.reason : "", /worker c was lost/);
  });

  it("the leaving worker goes without a rollback only when every driver handed over; any refusal or silence is the old leave", () => {
    assert.deepEqual(leaveOutcome(new Map([["d1", { ok: true }], ["d2", { ok: true }]])), { kind: "handed-over" });
    assert.deepEqual(leaveOutcome(new Map()), { kind: "handed-over" });
    const fallback = leaveOutcome(new Map<string, LeaveReply | "timeout">([["d1", { ok: true }], ["d2", "timeout"], ["d3", { ok: false, error: "no room" }]]));
    assert.equal(fallback.kind, "fallback");
    assert.deepEqual(fallback.kind === "fallback" ? fallback.reasons : [], ["driver d2 did not answer in time (or is gone)", "driver d3: no room"]);
  });
});
