// rowExtender gives exactly what `{ ...row, [column]: value }` gives: keys, their order, values, for any mix of rows.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Row } from "../../src/core/types.ts";
import { rowExtender } from "../../src/operators/row-extender.ts";

function assertSpreadLike(rows: Row[], column: string): void {
  const extend = rowExtender(column);
  rows.forEach((row, index) => {
    const value = { start: index, end: index + 1 };
    const actual = extend(row, value);
    const expected = { ...row, [column]: value };
    assert.deepStrictEqual(actual, expected, `row ${index}`);
    assert.deepEqual(Object.keys(actual), Object.keys(expected), `key order of row ${index}`);
    assert.notEqual(actual, row);
    assert.equal(Object.getPrototypeOf(actual), Object.prototype);
  });
}

describe("rowExtender", () => {
  it("rows of one shape, then others: the same keys in another order, one key fewer, one more, a renamed key", () => {
    const rows: Row[] = [
      { a: 1, b: "x", c: 2.5 },
      { a: 2, b: "y", c: -1 },
      { b: "z", a: 3, c: 0 },
      { a: 4, b: "w" },
      { a: 4.5, b: "w", c: 1 },
      { a: 4.75, b: "w" },
      { a: 5, b: "v", c: 1, d: null },
      { a: 6, b: "u", e: 7 },
      { a: 7, b: "t", c: 3 },
    ];
    assertSpreadLike(rows, "window");
  });

  it("a row that already has the column keeps its place; undefined, null and nested values are copied as they are", () => {
    assertSpreadLike([{ window: "old", a: 1 }, { window: undefined, a: null }, { a: { nested: [1, 2] }, window: 3 }, { a: undefined }], "window");
  });

  it("integer-like keys come first, as the spread puts them, and a '__proto__' key stays a key, never the prototype", () => {
    const withProto = JSON.parse('{"a": 1, "__proto__": {"polluted": true}, "b": 2}') as Row;
    assertSpreadLike([{ b: 1, 2: "two", 1: "one" }, withProto, { b: 1, 2: "two", 1: "one" }, withProto], "window");
    assertSpreadLike([{ x: 1 }, { x: 2 }], "__proto__");
  });
});
