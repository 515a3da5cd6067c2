// What a sink that prepares epochs durably removes at open(), and the attempt tokens that name its preparations.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attemptToken, removedAtOpen, sequenceOfToken } from "../../src/connectors/sinks/prepared-epochs.ts";

describe("removedAtOpen: an opening writer's preparations of an uncommitted epoch", () => {
  it("removes an older attempt's preparation (a lower sequence on the checkpoint)", () => {
    assert.equal(removedAtOpen("discard", 1, 2), true);
  });

  it("leaves a newer attempt's preparation: the writer opening is of a stalled attempt, and the newer one commits it", () => {
    assert.equal(removedAtOpen("discard", 3, 2), false);
  });

  it("leaves a preparation of the same attempt (the same sequence)", () => {
    assert.equal(removedAtOpen("discard", 2, 2), false);
  });

  it("removes a preparation without a sequence (a Rill before sequences) as older, and discards everything when the writer has none (no checkpoint)", () => {
    assert.equal(removedAtOpen("discard", undefined, 2), true);
    assert.equal(removedAtOpen("discard", 5, undefined), true);
    assert.equal(removedAtOpen("discard", undefined, undefined), true);
  });

  it("removes every attempt's preparation of an epoch the sink's record has (clean) or finished at open (finish)", () => {
    assert.equal(removedAtOpen("clean", 3, 2), true);
    assert.equal(removedAtOpen("finish", 3, 2), true);
  });
});

describe("attempt tokens", () => {
  const run = "5f0c2a9e-1111-4c2d-9b7a-0d6e3c2b1a00";

  it("carry the attempt's sequence when it has one, read back from the name alone", () => {
    const token = attemptToken({ runId: run, number: 3, resumedAfter: 4, openedAt: 0, sequence: 17 });
    assert.equal(token, "5f0c2a9e1111_3_17");
    assert.equal(sequenceOfToken(token), 17);
  });

  it("keep the form before sequences for an attempt without one, and read no sequence from it or from no token", () => {
    const token = attemptToken({ runId: run, number: 3, resumedAfter: 4, openedAt: 0 });
    assert.equal(token, "5f0c2a9e1111_3");
    assert.equal(sequenceOfToken(token), undefined);
    assert.equal(sequenceOfToken(undefined), undefined);
  });

  it("keep a run id's other characters out, so the sequence is never read from a run id", () => {
    const token = attemptToken({ runId: "run_1", number: 0, resumedAfter: -1, openedAt: 0 });
    assert.equal(token, "run1_0");
    assert.equal(sequenceOfToken(token), undefined);
  });
});
