// Join keys (stream-stream and static) of a struct or array holding a long past 2^53: JSON.stringify threw on the
// bigint ("Do not know how to serialize a BigInt"), so the row failed the query instead of joining.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { keyOfColumns } from "../../src/operators/join-static-table.ts";
import { joinKeyOf } from "../../src/plan/join-stream-analysis.ts";

const BIG = 2n ** 60n;

describe("join keys of structs holding longs past 2^53", () => {
  it("stream-stream: equal structs one key, different structs two", () => {
    for (const columns of [["s"], ["k", "s"]]) {
      const key = joinKeyOf(columns);
      assert.equal(key({ k: 1, s: { x: BIG } }), key({ k: 1, s: { x: BIG } }));
      assert.notEqual(key({ k: 1, s: { x: BIG } }), key({ k: 1, s: { x: BIG + 1n } }));
    }
  });
  it("static: equal structs one key, different structs two", () => {
    for (const columns of [["s"], ["k", "s"]]) {
      const key = keyOfColumns(columns);
      assert.equal(key({ k: 1, s: [BIG] }), key({ k: 1, s: [BIG] }));
      assert.notEqual(key({ k: 1, s: [BIG] }), key({ k: 1, s: [BIG + 1n] }));
    }
    // Without longs, the key is JSON.stringify's text, as before.
    assert.equal(keyOfColumns(["s"])({ s: { x: 1 } }), '{"x":1}');
  });
});
