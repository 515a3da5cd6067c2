// Which values an epoch runs with, at every crash point: a fresh start, a crash before the first commit, after a
// commit, with a change in the bucket while the query was down, and with a replacing query that uses a new parameter.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideNextEpoch, decideResumeParams } from "../../src/params/epochs.ts";
import type { ParamSet } from "../../src/params/types.ts";

const set = (revision: number, values: ParamSet["values"]): ParamSet => ({ revision, values });

describe("decideResumeParams", () => {
  const latest = set(9, { threshold: 70 });

  it("runs a query without a checkpoint with the latest values", () => {
    assert.deepEqual(decideResumeParams({ resume: undefined, committed: undefined, firstEpoch: undefined, latest }), { params: latest, origin: "latest", added: [] });
  });

  it("replays the epoch after the last commit with the values that commit recorded, not the bucket's newer ones", () => {
    const committed = set(4, { threshold: 50 });
    const decision = decideResumeParams({ resume: { lastCommittedEpoch: 6 }, committed, firstEpoch: set(1, { threshold: 30 }), latest });
    assert.deepEqual(decision, { params: committed, origin: "commit", added: [] });
  });

  it("replays epoch 0 after a crash before any commit with the values it first ran with", () => {
    const first = set(1, { threshold: 30 });
    assert.deepEqual(decideResumeParams({ resume: { lastCommittedEpoch: -1 }, committed: undefined, firstEpoch: first, latest }), { params: first, origin: "first-epoch", added: [] });
  });

  it("takes the latest values when the checkpoint recorded none (it was written by a query without parameters)", () => {
    assert.deepEqual(decideResumeParams({ resume: { lastCommittedEpoch: 3 }, committed: undefined, firstEpoch: undefined, latest }).origin, "latest");
    assert.deepEqual(decideResumeParams({ resume: { lastCommittedEpoch: -1 }, committed: undefined, firstEpoch: undefined, latest }).origin, "latest");
  });

  it("gives a parameter the replacing query added its latest value, and keeps the recorded ones", () => {
    const decision = decideResumeParams({ resume: { lastCommittedEpoch: 2 }, committed: set(4, { threshold: 50 }), firstEpoch: undefined, latest: set(9, { threshold: 70, unit: "C" }) });
    assert.deepEqual(decision, { params: set(4, { threshold: 50, unit: "C" }), origin: "commit", added: ["unit"] });
  });
});

describe("decideNextEpoch", () => {
  it("keeps the values in force when the bucket has nothing new", () => {
    const inForce = set(3, { threshold: 30 });
    const decision = decideNextEpoch(5, inForce, set(3, { threshold: 30 }));
    assert.equal(decision.params, inForce);
    assert.deepEqual(decision.changes, []);
  });

  it("applies a change from the epoch after the barrier being asked for, with its revision", () => {
    const decision = decideNextEpoch(5, set(3, { threshold: 30, unit: "C" }), set(8, { threshold: 50, unit: "C" }));
    assert.deepEqual(decision.params, set(8, { threshold: 50, unit: "C" }));
    assert.deepEqual(decision.changes, [{ name: "threshold", value: 50, revision: 8, fromEpoch: 6 }]);
  });

  it("keeps a value the latest set lacks (the bucket is unreachable or the key was deleted and has no default)", () => {
    const inForce = set(3, { threshold: 30 });
    assert.equal(decideNextEpoch(1, inForce, set(0, {})).params, inForce);
  });

  it("ignores names the query does not use", () => {
    const inForce = set(3, { threshold: 30 });
    const decision = decideNextEpoch(1, inForce, set(11, { threshold: 30, other: 1 }));
    assert.equal(decision.params, inForce);
  });
});
