// Which failure reports roll a query back: one lost NATS node is reported many times, and only a report about the
// attempt running now, with no rollback of it under way, may cost a rollback.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attemptOfInterruption, decideFailure, type AttemptState } from "../../src/api/failure-decision.ts";

const running: AttemptState = { active: true, checkpointed: true, current: 3, rollingBack: false, retries: 0, maxRetries: 3, writeRetriesBounded: true };

describe("failure decision", () => {
  it("rolls the current attempt back on its first failure", () => {
    assert.deepEqual(decideFailure(running, { attempt: 3, kind: "other" }), { action: "rollback" });
    assert.deepEqual(decideFailure(running, { attempt: 3, kind: "write" }), { action: "rollback" });
  });

  it("ignores a report about an attempt already rolled back (a worker's reconnect arriving after the next attempt started)", () => {
    assert.deepEqual(decideFailure(running, { attempt: 2, kind: "other" }), { action: "ignore", why: "stale" });
    assert.deepEqual(decideFailure({ ...running, rollingBack: true }, { attempt: 0, kind: "write" }), { action: "ignore", why: "stale" });
  });

  it("counts a second report about the attempt being rolled back as covered by that rollback", () => {
    assert.deepEqual(decideFailure({ ...running, rollingBack: true }, { attempt: 3, kind: "other" }), { action: "ignore", why: "covered" });
  });

  it("rolls back a failure of the new attempt while it is placed (its rollback of the previous one is over)", () => {
    const placing = { ...running, current: 4, retries: 1 };
    assert.deepEqual(decideFailure(placing, { attempt: 4, kind: "other" }), { action: "rollback" });
  });

  it("fails for good on an offset moving back, without a checkpoint, or once the retries are spent", () => {
    assert.deepEqual(decideFailure(running, { attempt: 3, kind: "offset-regression" }), { action: "fail" });
    assert.deepEqual(decideFailure({ ...running, checkpointed: false }, { attempt: 3, kind: "other" }), { action: "fail" });
    assert.deepEqual(decideFailure({ ...running, retries: 3 }, { attempt: 3, kind: "other" }), { action: "fail" });
  });

  it("keeps retrying a failed checkpoint write past maxRetries, unless the query could not start", () => {
    assert.deepEqual(decideFailure({ ...running, retries: 3 }, { attempt: 3, kind: "write" }), { action: "rollback" });
    assert.deepEqual(decideFailure({ ...running, retries: 3, writeRetriesBounded: false }, { attempt: 3, kind: "write" }), { action: "fail" });
  });

  it("ignores everything once the query stopped or failed", () => {
    assert.deepEqual(decideFailure({ ...running, active: false }, { attempt: 3, kind: "offset-regression" }), { action: "ignore", why: "inactive" });
  });

  it("attributes an interruption to the attempt that ran when the connection dropped", () => {
    // Made at 1000; the connection dropped at 1500: frames of attempt 3 were in flight.
    assert.equal(attemptOfInterruption(3, 1000, 1500), 3);
    assert.equal(attemptOfInterruption(3, 1500, 1500), 3);
    // Made at 2000, during an outage that began at 1500 (a rollback placed it while the connection was down): an
    // earlier attempt's frames were in flight, so the report is stale for attempt 3.
    assert.equal(attemptOfInterruption(3, 2000, 1500), 2);
    assert.deepEqual(decideFailure(running, { attempt: attemptOfInterruption(3, 2000, 1500), kind: "other" }), { action: "ignore", why: "stale" });
  });
});
