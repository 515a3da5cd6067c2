// When a worker is lost (src/workers/liveness.ts): heartbeats judge a worker at work; a worker being placed is judged by
// its placement request's timeout; after it answers, its silence is excused as long again as the request took, or until
// its attempt commits; each edge of those rules.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { answered, ended, expire, fresh, heard, judge, mayJudge, requested } from "../../src/workers/liveness.ts";

const TIMEOUT = 1000;

describe("worker liveness", () => {
  it("without a placement, a worker is lost once silent for longer than the timeout, not at the timeout itself", () => {
    const state = heard(fresh(0), 500);
    assert.deepEqual(judge(state, 1500, TIMEOUT), { lost: false, why: "heard" });
    assert.deepEqual(judge(state, 1501, TIMEOUT), { lost: true, silentMs: 1001, excusedMs: 0 });
    assert.equal(judge(heard(state, 1400), 2300, TIMEOUT).lost, false, "a heartbeat resets the silence");
  });

  it("while a placement request is out, silence never makes the worker lost (the request's timeout judges it)", () => {
    const placing = requested(fresh(0), "q/a0", 100);
    assert.deepEqual(judge(placing, 100_000, TIMEOUT), { lost: false, why: "placing" });
    assert.deepEqual(judge(requested(placing, "other/a3", 200), 100_000, TIMEOUT), { lost: false, why: "placing" }, "two requests out");
  });

  it("after the answer, silence is excused as long again as the request took, then counts from the excuse's end", () => {
    // Requested at 1000, answered at 4500 (3.5 s): excused until 8000, lost after 9000.
    const state = answered(requested(fresh(0), "q/a0", 1000), "q/a0", 4500);
    assert.deepEqual(state.excuses.get("q/a0"), { kind: "answered", until: 8000 });
    assert.deepEqual(judge(state, 8000, TIMEOUT), { lost: false, why: "excused" }, "the excuse's last instant");
    assert.deepEqual(judge(state, 9000, TIMEOUT), { lost: false, why: "heard" }, "silent for exactly the timeout after the excuse");
    assert.deepEqual(judge(state, 9001, TIMEOUT), { lost: true, silentMs: 9001, excusedMs: 8000 });
    assert.equal(judge(heard(state, 8800), 9700, TIMEOUT).lost, false, "a heartbeat after the excuse counts from itself");
  });

  it("a quick answer is a short excuse: the usual timeout follows almost at once", () => {
    const state = answered(requested(heard(fresh(0), 990), "q/a0", 1000), "q/a0", 1010);
    assert.equal(judge(state, 2020, TIMEOUT).lost, false);
    assert.equal(judge(state, 2021, TIMEOUT).lost, true);
  });

  it("the attempt's first commit ends the excuse early: silence counts from the commit", () => {
    const state = ended(answered(requested(fresh(0), "q/a0", 1000), "q/a0", 11_000), "q/a0", 12_000, "committed");
    assert.equal(state.excuses.size, 0);
    assert.equal(judge(state, 13_000, TIMEOUT).lost, false);
    assert.deepEqual(judge(state, 13_001, TIMEOUT), { lost: true, silentMs: 13_001, excusedMs: 12_000 });
  });

  it("a commit after the excuse ran out changes nothing: silence still counts from the excuse's end", () => {
    const state = ended(answered(requested(fresh(0), "q/a0", 1000), "q/a0", 2000), "q/a0", 5000, "committed");
    assert.equal(state.excusedUntil, 3000);
    assert.equal(judge(state, 4001, TIMEOUT).lost, true);
  });

  it("a commit never ends an excuse for a request still out; dropping the attempt does (its request is abandoned)", () => {
    const placing = requested(fresh(0), "q/a0", 1000);
    assert.deepEqual(ended(placing, "q/a0", 2000, "committed"), placing);
    const dropped = ended(placing, "q/a0", 2000, "dropped");
    assert.equal(dropped.excuses.size, 0);
    assert.equal(judge(dropped, 3000, TIMEOUT).lost, false);
    assert.equal(judge(dropped, 3001, TIMEOUT).lost, true, "silence counts from the drop");
  });

  it("another attempt's commit or drop leaves this one's excuse alone; an answer without a request changes nothing", () => {
    const state = answered(requested(fresh(0), "q/a1", 1000), "q/a1", 4000);
    assert.deepEqual(ended(state, "q/a0", 4500, "committed"), state);
    assert.deepEqual(ended(state, "q/a0", 4500, "dropped"), state);
    assert.deepEqual(answered(fresh(0), "q/a0", 100), fresh(0));
    assert.deepEqual(answered(state, "q/a1", 5000), state, "a second answer of the same request");
  });

  it("the sources' request after the operators' one: placing again, then the later excuse", () => {
    let state = answered(requested(fresh(0), "q/a0", 0), "q/a0", 4000);
    state = requested(state, "q/a0", 4100);
    assert.deepEqual(judge(state, 60_000, TIMEOUT), { lost: false, why: "placing" });
    state = answered(state, "q/a0", 4300);
    assert.deepEqual(state.excuses.get("q/a0"), { kind: "answered", until: 4500 });
    assert.equal(state.excusedUntil, 4100, "the first excuse lasted until the second request went out");
    assert.equal(judge(state, 5500, TIMEOUT).lost, false);
    assert.equal(judge(state, 5501, TIMEOUT).lost, true);
  });

  it("expire folds excuses that ran out into the floor and judges alike", () => {
    const state = answered(requested(fresh(0), "q/a0", 1000), "q/a0", 2000);
    assert.deepEqual(expire(state, 2500), state, "still running");
    const expired = expire(state, 3500);
    assert.equal(expired.excuses.size, 0);
    assert.equal(expired.excusedUntil, 3000);
    for (const now of [3500, 4000, 4001, 6000]) assert.deepEqual(judge(expired, now, TIMEOUT), judge(state, now, TIMEOUT), `at ${now}`);
  });
});

describe("the driver's own stalls", () => {
  it("a check far behind its time (the driver's event loop stalled) is skipped once; the next one judges", () => {
    assert.equal(mayJudge(1000, 1250, 250, false), true, "on time");
    assert.equal(mayJudge(1000, 1500, 250, false), true, "twice the period: still judged");
    assert.equal(mayJudge(1000, 1501, 250, false), false, "later: the heartbeats that came meanwhile are unread");
    assert.equal(mayJudge(1501, 3000, 250, true), true, "late again right after a skip: judged, so a driver stalled over and over still notices losses");
  });
});
