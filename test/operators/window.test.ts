// Window assignment follows Spark's boundary rules: [start, end), every sliding window that covers the time.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { windowsOf } from "../../src/operators/window.ts";

const MINUTE = 60_000;

describe("windowsOf", () => {
  it("puts a time into the one tumbling window that contains it, start included and end excluded", () => {
    assert.deepEqual(windowsOf(7 * MINUTE, 10 * MINUTE, 10 * MINUTE, 0), [{ start: 0, end: 10 * MINUTE }]);
    assert.deepEqual(windowsOf(10 * MINUTE, 10 * MINUTE, 10 * MINUTE, 0), [{ start: 10 * MINUTE, end: 20 * MINUTE }]);
  });

  it("puts a time into every sliding window that covers it, latest start first", () => {
    assert.deepEqual(windowsOf(7 * MINUTE, 10 * MINUTE, 5 * MINUTE, 0), [{ start: 5 * MINUTE, end: 15 * MINUTE }, { start: 0, end: 10 * MINUTE }]);
    assert.deepEqual(windowsOf(5 * MINUTE, 10 * MINUTE, 5 * MINUTE, 0), [{ start: 5 * MINUTE, end: 15 * MINUTE }, { start: 0, end: 10 * MINUTE }]);
    assert.equal(windowsOf(7 * MINUTE, 10 * MINUTE, 2 * MINUTE, 0).length, 5);
  });

  it("shifts windows by startTime", () => {
    assert.deepEqual(windowsOf(7 * MINUTE, 10 * MINUTE, 10 * MINUTE, 3 * MINUTE), [{ start: 3 * MINUTE, end: 13 * MINUTE }]);
    assert.deepEqual(windowsOf(2 * MINUTE, 10 * MINUTE, 10 * MINUTE, 3 * MINUTE), [{ start: -7 * MINUTE, end: 3 * MINUTE }]);
  });
});
