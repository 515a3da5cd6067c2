// Where a rollback places its next attempt (src/workers/recovery.ts): on the failed attempt's workers still alive when
// they have room, else on every candidate.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { recoveryWorkers } from "../../src/workers/recovery.ts";

describe("recovery placement", () => {
  it("a lost worker: the survivors of the failed attempt, not the replacement that joined meanwhile", () => {
    const choice = recoveryWorkers(new Set(["a", "b"]), [{ name: "b", free: 16 }, { name: "c", free: 16 }], 4);
    assert.deepEqual(choice, { kind: "warm", workers: ["b"] });
  });

  it("a failure with every worker alive: the same workers, not one that joined", () => {
    assert.deepEqual(recoveryWorkers(new Set(["a", "b"]), [{ name: "a", free: 14 }, { name: "b", free: 14 }, { name: "c", free: 16 }], 4), { kind: "warm", workers: ["a", "b"] });
  });

  it("a machine lost out of three: the two left, each with room", () => {
    assert.deepEqual(recoveryWorkers(new Set(["m1", "m2", "m3"]), [{ name: "m1", free: 16 }, { name: "m3", free: 16 }, { name: "m4", free: 16 }], 5), { kind: "warm", workers: ["m1", "m3"] });
  });

  it("the survivors lack slots: every candidate, saying why", () => {
    const choice = recoveryWorkers(new Set(["a", "b"]), [{ name: "b", free: 3 }, { name: "c", free: 16 }], 4);
    assert.deepEqual(choice, { kind: "all", reason: "the workers of the failed attempt alive now (b) have 3 free slots for 4 actors" });
    assert.deepEqual(recoveryWorkers(new Set(["a", "b"]), [{ name: "b", free: 4 }], 4), { kind: "warm", workers: ["b"] }, "exactly enough");
  });

  it("no survivor (the only worker lost), or a survivor with no free slot: every candidate (the placement waits for one)", () => {
    assert.equal(recoveryWorkers(new Set(["a"]), [], 4).kind, "all");
    assert.equal(recoveryWorkers(new Set(["a"]), [{ name: "c", free: 16 }], 4).kind, "all");
    assert.equal(recoveryWorkers(new Set(["a", "b"]), [{ name: "b", free: 0 }, { name: "c", free: 16 }], 4).kind, "all");
    assert.deepEqual(recoveryWorkers(new Set(), [{ name: "c", free: 16 }], 4), { kind: "all", reason: "the failed attempt ran on no worker" });
  });

  it("a leaving worker is no candidate, so it is never chosen even though it hosted the failed attempt", () => {
    // The pool leaves leaving workers out of the candidates (pool.ts candidates()).
    assert.deepEqual(recoveryWorkers(new Set(["a", "b"]), [{ name: "b", free: 16 }], 4), { kind: "warm", workers: ["b"] });
  });
});
