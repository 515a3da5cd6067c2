// The manual clock: intervals fire as often as they fall due within an advance, earliest first, and can be cancelled.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../src/core/clock.ts";

describe("ManualClock", () => {
  it("fires each interval as often as it falls due, in time order, with now() at the due time", () => {
    const clock = new ManualClock(1000);
    const calls: string[] = [];
    clock.setInterval(() => calls.push(`a@${clock.now()}`), 300);
    const cancel = clock.setInterval(() => calls.push(`b@${clock.now()}`), 500);
    clock.advance(299);
    assert.deepEqual(calls, []);
    clock.advance(701);
    assert.deepEqual(calls, ["a@1300", "b@1500", "a@1600", "a@1900", "b@2000"]);
    assert.equal(clock.now(), 2000);
    cancel();
    clock.advance(500);
    assert.deepEqual(calls.slice(5), ["a@2200", "a@2500"]);
  });
});
