// When the jetstream source's prepare() is done: a count from a replica behind the leader is not taken on trust, the
// leader's last sequence at the call bounds the reading, and what the leader no longer holds is never waited for.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { afterLeaderCheck, drainState, lowerTarget, raiseShortTarget } from "../../src/connectors/sources/jetstream-drain.ts";

const onReplica = (count: number) => ({ count, onLeader: false });
const onLeader = (count: number) => ({ count, onLeader: true });

describe("drainState", () => {
  it("reads while the count is not reached and the leader's last sequence is not passed", () => {
    assert.equal(drainState({ handed: 10, lastHanded: 10, leaderLast: 100 }, onReplica(50)), "reading");
  });

  it("is done once the cursor passes the leader's last sequence at the call, whatever a count said (messages published since)", () => {
    assert.equal(drainState({ handed: 100, lastHanded: 100, leaderLast: 100 }, onLeader(130)), "passed");
    assert.equal(drainState({ handed: 60, lastHanded: 120, leaderLast: 100 }, onReplica(90)), "passed");
  });

  it("is done on a count the leader made, though the stream's last message (not matching the filter) is never handed out", () => {
    assert.equal(drainState({ handed: 40, lastHanded: 97, leaderLast: 100 }, onLeader(40)), "counted");
  });

  it("asks the leader when a replica's count is reached below the leader's last sequence (a replica catching up counts what it holds)", () => {
    // The numbers seen on a cluster: 0 left counted on a restarted replica while the leader held 90,000 more.
    assert.equal(drainState({ handed: 11_000, lastHanded: 11_000, leaderLast: 101_000 }, onReplica(11_000)), "unsure");
  });

  it("asks the leader on an empty or a nothing-matching stream only when the leader holds something past the cursor", () => {
    assert.equal(drainState({ handed: 0, lastHanded: 0, leaderLast: 0 }, onReplica(0)), "passed");
    assert.equal(drainState({ handed: 0, lastHanded: 0, leaderLast: 5 }, onReplica(0)), "unsure");
  });
});

describe("afterLeaderCheck", () => {
  it("is done when the leader holds no matching message after the cursor: none match, deleted, expired or purged", () => {
    assert.equal(afterLeaderCheck(undefined, 100, 40), "done");
  });

  it("is done when the next matching message came after the call", () => {
    assert.equal(afterLeaderCheck(101, 100, 40), "done");
  });

  it("finds the count short when the leader held a matching message at the call that is not handed out", () => {
    assert.equal(afterLeaderCheck(100, 100, 40), "short");
    assert.equal(afterLeaderCheck(11_001, 101_000, 11_000), "short");
  });

  it("looks again when the cursor handed the answer out while the question was on its way", () => {
    assert.equal(afterLeaderCheck(41, 100, 60), "moved");
  });
});

describe("targets", () => {
  it("lowers the target on a recount that is lower (messages vanished), never raises it on one that is higher", () => {
    assert.deepEqual(lowerTarget(onReplica(50), onLeader(40)), onLeader(40));
    assert.deepEqual(lowerTarget(onLeader(50), onReplica(70)), onLeader(50));
  });

  it("raises a short target to the recount, or by one message when the recount is short again (the leader proved one)", () => {
    assert.deepEqual(raiseShortTarget(11_000, onLeader(101_000)), onLeader(101_000));
    assert.deepEqual(raiseShortTarget(11_000, onReplica(11_000)), onReplica(11_001));
  });
});
