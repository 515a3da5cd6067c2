// The recovery decision for every state a crash can leave a checkpoint in.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideRecovery, type RecoveryFacts } from "../../src/state/protocol.ts";
import type { QueryMeta, StatefulOperatorInfo } from "../../src/state/types.ts";

const aggregate: StatefulOperatorInfo = { stateId: "aggregate-0", kind: "aggregate", signature: "groupBy by [gt] computing [count:count]" };
const sink: StatefulOperatorInfo = { stateId: "sink", kind: "sink", signature: "complete result table" };
const meta: QueryMeta = { id: "q-1", name: "counts", createdAt: "2026-11-27T00:00:00Z", sources: ["s0-source-memory.p0"], stateful: [aggregate, sink], outputMode: "complete" };
const current = { sources: ["s0-source-memory.p0"], stateful: [aggregate, sink] };

function facts(overrides: Partial<RecoveryFacts>): RecoveryFacts {
  const lastCommit = overrides.lastCommit;
  const committedEpochs = lastCommit ? [lastCommit.epoch] : [];
  return { meta, lastCommit: undefined, committedEpochs, pendingEpochs: [], current, ...overrides };
}

describe("decideRecovery", () => {
  it("starts clean on a new checkpoint location", () => {
    assert.deepEqual(decideRecovery(facts({ meta: undefined })), { kind: "fresh" });
  });

  it("resumes after the last committed epoch with its offsets, keeping the query id", () => {
    const decision = decideRecovery(facts({ lastCommit: { epoch: 7, offsets: { "s0-source-memory.p0": 700 }, committedAt: "t" } }));
    assert.deepEqual(decision, { kind: "resume", id: "q-1", lastCommittedEpoch: 7, offsets: { "s0-source-memory.p0": 700 }, discard: [] });
  });

  it("discards state changes of epochs written after the last commit (a crash between the actors' writes and the commit)", () => {
    const decision = decideRecovery(facts({ lastCommit: { epoch: 7, offsets: {}, committedAt: "t" }, pendingEpochs: [8, 9] }));
    assert.equal(decision.kind, "resume");
    assert.deepEqual(decision.kind === "resume" ? decision.discard : [], [8, 9]);
  });

  it("resumes from nothing when the query crashed before its first commit", () => {
    const decision = decideRecovery(facts({ pendingEpochs: [0] }));
    assert.deepEqual(decision, { kind: "resume", id: "q-1", lastCommittedEpoch: -1, offsets: {}, discard: [0] });
  });

  it("accepts a changed filter or sink: nothing stateful changed", () => {
    assert.equal(decideRecovery(facts({ current: { ...current } })).kind, "resume");
  });

  it("refuses a source partition that reads another subject, and resumes one that reads the same or was never recorded", () => {
    const sources = ["s0-source-jetstream.p0", "s0-source-jetstream.p1"];
    const read = (first: string, second: string) => ({ "s0-source-jetstream.p0": `subject '${first}' (option 'partitions')`, "s0-source-jetstream.p1": `subject '${second}' (option 'partitions')` });
    const stored = { ...meta, sources, sourceIdentities: read("e.0.>", "e.1.>") };
    assert.equal(decideRecovery(facts({ meta: stored, current: { sources, sourceIdentities: read("e.0.>", "e.1.>"), stateful: current.stateful } })).kind, "resume");
    const swapped = decideRecovery(facts({ meta: stored, current: { sources, sourceIdentities: read("e.1.>", "e.0.>"), stateful: current.stateful } }));
    assert.equal(swapped.kind, "refuse");
    assert.match(swapped.kind === "refuse" ? swapped.reasons.join("; ") : "", /s0-source-jetstream\.p0 read subject 'e\.0\.>' \(option 'partitions'\) and now reads subject 'e\.1\.>'/);
    const fewer = decideRecovery(facts({ meta: stored, current: { sources: ["s0-source-jetstream.p0"], sourceIdentities: { "s0-source-jetstream.p0": "subject 'e.>' (option 'partitions')" }, stateful: current.stateful } }));
    assert.match(fewer.kind === "refuse" ? fewer.reasons.join("; ") : "", /sources changed .*they read subject 'e\.0\.>' \(option 'partitions'\), subject 'e\.1\.>' .*; now subject 'e\.>'/);
    // A checkpoint written before identities were kept is checked by actor names only.
    assert.equal(decideRecovery(facts({ meta: { ...meta, sources }, current: { sources, sourceIdentities: read("e.1.>", "e.0.>"), stateful: current.stateful } })).kind, "resume");
  });

  it("refuses a changed grouping key, naming the operator and both versions", () => {
    const changed = { ...aggregate, signature: "groupBy by [gt, Model] computing [count:count]" };
    const decision = decideRecovery(facts({ current: { sources: current.sources, stateful: [changed, sink] } }));
    assert.equal(decision.kind, "refuse");
    assert.match(decision.kind === "refuse" ? decision.reasons.join() : "", /aggregate-0 changed from aggregate: groupBy by \[gt\].* to aggregate: groupBy by \[gt, Model\]/);
  });

  it("refuses a grouping key whose type changed under the same name, naming the operator and both schemas", () => {
    const before = { ...aggregate, stateSchema: "keys [gt: string] values [count: long]" };
    const after = { ...aggregate, stateSchema: "keys [gt: long] values [count: long]" };
    const decision = decideRecovery(facts({ meta: { ...meta, stateful: [before, sink] }, current: { sources: current.sources, stateful: [after, sink] } }));
    assert.equal(decision.kind, "refuse");
    assert.match(decision.kind === "refuse" ? decision.reasons.join() : "", /state schema of the stateful operator aggregate-0 .* changed from keys \[gt: string\] values \[count: long\] to keys \[gt: long\]/);
  });

  it("resumes a checkpoint written before state schemas were kept: its operators are checked by signature only", () => {
    const now = { ...aggregate, stateSchema: "keys [gt: long] values [count: long]" };
    assert.equal(decideRecovery(facts({ current: { sources: current.sources, stateful: [now, sink] } })).kind, "resume");
  });

  it("refuses a state computed from other expressions under the same names and types, and resumes a checkpoint that never recorded them", () => {
    const before = { ...aggregate, definition: "keys [gt = window(t, 10000 ms, slide 10000 ms, start 0 ms)] values [count = count(*)]" };
    const after = { ...aggregate, definition: "keys [gt = window(t, 5000 ms, slide 5000 ms, start 0 ms)] values [count = count(*)]" };
    const decision = decideRecovery(facts({ meta: { ...meta, stateful: [before, sink] }, current: { sources: current.sources, stateful: [after, sink] } }));
    assert.equal(decision.kind, "refuse");
    assert.match(decision.kind === "refuse" ? decision.reasons.join() : "", /aggregate-0 .* computes its state from other expressions: keys \[gt = window\(t, 10000 ms.* before, keys \[gt = window\(t, 5000 ms.* now/);
    assert.equal(decideRecovery(facts({ meta: { ...meta, stateful: [before, sink] }, current: { sources: current.sources, stateful: [{ ...before }, sink] } })).kind, "resume");
    assert.equal(decideRecovery(facts({ current: { sources: current.sources, stateful: [after, sink] } })).kind, "resume");
  });

  it("refuses an added or removed stateful operator and changed sources", () => {
    const removed = decideRecovery(facts({ current: { sources: current.sources, stateful: [sink] } }));
    assert.match(removed.kind === "refuse" ? removed.reasons.join() : "", /aggregate-0 .* was removed/);
    const added = decideRecovery(facts({ meta: { ...meta, stateful: [sink] } }));
    assert.match(added.kind === "refuse" ? added.reasons.join() : "", /a stateful operator aggregate-0 .* was added/);
    const sources = decideRecovery(facts({ current: { sources: ["s0-source-rate.p0", "s0-source-rate.p1"], stateful: current.stateful } }));
    assert.match(sources.kind === "refuse" ? sources.reasons.join() : "", /sources changed/);
  });

  it("refuses a checkpoint whose commits skip an epoch (epoch N+1 committed before N, then a crash)", () => {
    const decision = decideRecovery(facts({ lastCommit: { epoch: 9, offsets: {}, committedAt: "t" }, committedEpochs: [6, 7, 9], pendingEpochs: [8] }));
    assert.equal(decision.kind, "damaged");
    assert.match(decision.kind === "damaged" ? decision.reasons.join() : "", /epoch 9 is committed but epoch 8 is not/);
  });

  it("refuses a checkpoint where a committed epoch's changes are still outside the state", () => {
    const decision = decideRecovery(facts({ lastCommit: { epoch: 7, offsets: {}, committedAt: "t" }, committedEpochs: [6, 7], pendingEpochs: [7, 8] }));
    assert.equal(decision.kind, "damaged");
    assert.match(decision.kind === "damaged" ? decision.reasons.join() : "", /committed epoch 7 were never folded/);
  });

  it("accepts consecutive commits after older ones were pruned", () => {
    const decision = decideRecovery(facts({ lastCommit: { epoch: 150, offsets: {}, committedAt: "t" }, committedEpochs: Array.from({ length: 100 }, (_, index) => 51 + index), pendingEpochs: [151] }));
    assert.equal(decision.kind, "resume");
  });
});
