// The time range of a stream-stream join condition, read as Spark's StreamingJoinHelper reads it, and the state
// watermarks that follow from it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseExpression } from "../../src/expr/parser.ts";
import { expired, isLate, keepUntil, rangeExpiry, arrivalDecision } from "../../src/operators/join-stream-eviction.ts";
import { conjuncts } from "../../src/plan/join-analysis.ts";
import { timeRangeOf, type ResolveTime } from "../../src/plan/join-time-range.ts";

const HOUR = 3_600_000;
const MINUTE = 60_000;
const resolve: ResolveTime = (name) => (name === "lt" || name === "l.t" ? { side: "left", column: "lt" } : name === "rt" ? { side: "right", column: "rt" } : undefined);
const range = (text: string) => timeRangeOf(conjuncts(parseExpression(text)), resolve);

describe("the time range of a join condition", () => {
  it("folds comparisons with intervals into bounds on leftTime - rightTime", () => {
    assert.deepEqual(range("id = rid AND rt >= lt AND rt <= lt + interval 1 hour"), { leftColumn: "lt", rightColumn: "rt", lower: -HOUR, upper: 0 });
    assert.deepEqual(range("lt BETWEEN rt - interval 10 minutes AND rt + interval '1 hour'"), { leftColumn: "lt", rightColumn: "rt", lower: -10 * MINUTE, upper: HOUR });
    assert.deepEqual(range("l.t > rt - interval 2 hours 30 minutes"), { leftColumn: "lt", rightColumn: "rt", lower: -150 * MINUTE, upper: undefined });
    assert.deepEqual(range("rt + interval 5 minutes < lt"), { leftColumn: "lt", rightColumn: "rt", lower: 5 * MINUTE, upper: undefined });
  });

  it("narrows repeated bounds and ignores what is not a time comparison across the sides", () => {
    assert.deepEqual(range("rt >= lt AND rt >= lt + interval 1 minute AND lt < other AND id = 3"), { leftColumn: "lt", rightColumn: "rt", lower: undefined, upper: -MINUTE });
    assert.equal(range("id = rid AND lt > timestamp '2026-01-01 00:00:00'"), undefined);
  });
});

describe("state watermarks and eviction", () => {
  const window = { leftColumn: "lt", rightColumn: "rt", lower: -HOUR, upper: 0 };
  it("bounds a side by the other side's watermarked time only", () => {
    assert.deepEqual(rangeExpiry("left", window, "rt"), { kind: "range", column: "lt", offset: HOUR });
    assert.deepEqual(rangeExpiry("right", window, "lt"), { kind: "range", column: "rt", offset: 0 });
    assert.deepEqual(rangeExpiry("left", window, undefined), { kind: "never" });
    assert.deepEqual(rangeExpiry("left", { ...window, lower: undefined }, "rt"), { kind: "never" });
  });

  it("keeps a row while a future row of the other side (above the watermark) could still match it", () => {
    const until = keepUntil({ kind: "range", column: "lt", offset: HOUR }, 0);
    assert.equal(until, HOUR);
    assert.equal(expired(until, HOUR), false, "a right row just above the watermark, at 1 hour + 1 ms, cannot match; one at exactly 1 hour is late: kept one step more");
    assert.equal(expired(until, HOUR + 1), true);
    assert.equal(keepUntil({ kind: "key", column: "w", window: true }, { start: 0, end: 10 * MINUTE }), 10 * MINUTE);
    assert.equal(keepUntil({ kind: "never" }, 5), Number.POSITIVE_INFINITY);
  });

  it("a row at the watermark is late (Spark's boundary), a window when its end is", () => {
    assert.equal(isLate(100, false, 100), true);
    assert.equal(isLate(101, false, 100), false);
    assert.equal(isLate({ start: 0, end: 100 }, true, 100), true);
    assert.equal(isLate(null, false, 100), false);
  });

  it("an unmatched outer row that can match nothing later leaves at once; a matched semi row is never buffered", () => {
    assert.deepEqual(arrivalDecision({ matched: false, preserved: true, semiLeft: false, until: 5, watermark: 10 }), { buffer: false, emitUnmatched: true });
    assert.deepEqual(arrivalDecision({ matched: true, preserved: true, semiLeft: false, until: 5, watermark: 10 }), { buffer: false, emitUnmatched: false });
    assert.deepEqual(arrivalDecision({ matched: false, preserved: true, semiLeft: false, until: 50, watermark: 10 }), { buffer: true, emitUnmatched: false });
    assert.deepEqual(arrivalDecision({ matched: true, preserved: false, semiLeft: true, until: 50, watermark: 10 }), { buffer: false, emitUnmatched: false });
    assert.deepEqual(arrivalDecision({ matched: false, preserved: false, semiLeft: true, until: 50, watermark: 10 }), { buffer: true, emitUnmatched: false });
  });
});
