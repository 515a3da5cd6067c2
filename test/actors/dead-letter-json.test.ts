// A dead letter's record is JSON a reader can use: a long past 2^53 (a bigint) keeps its digits.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { safeJson } from "../../src/actors/dead-letter.ts";

describe("dead letter JSON", () => {
  it("writes a long past 2^53 as its digits, not as [object Object]", () => {
    const text = safeJson({ id: 2n ** 60n + 7n, name: "a" });
    assert.ok(text.includes(String(2n ** 60n + 7n)), text);
    assert.ok(!text.includes("[object Object]"), text);
    assert.equal(safeJson({ n: 1, s: "x" }), JSON.stringify({ n: 1, s: "x" }));
  });
});
