// Exact longs: numbers while safe, bigints past 2^53, 64-bit wrapping as Java's long; JSON in and out digit for digit.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  addLong, doubleToLongValue, jsonWithLongs, longOfBigInt, multiplyLong, negateLong, parseJsonWithLongs, parseLongText, remainderLong, subtractLong,
} from "../../src/core/long.ts";

describe("long values", () => {
  it("keeps one form per value: a number while safe, a bigint beyond", () => {
    assert.equal(longOfBigInt(5n), 5);
    assert.equal(longOfBigInt(9007199254740993n), 9007199254740993n);
    assert.equal(longOfBigInt(2n ** 64n + 3n), 3, "wraps at 64 bits");
  });

  it("adds, subtracts and multiplies exactly past 2^53, wrapping at 64 bits as Java does", () => {
    assert.equal(addLong(9007199254740991, 2), 9007199254740993n);
    assert.equal(addLong(1424686733090638193n, 7), 1424686733090638200n);
    assert.equal(subtractLong(9007199254740993n, 2), 9007199254740991);
    assert.equal(multiplyLong(1424686733090, 1_000_000), 1424686733090000000n);
    assert.equal(addLong(9223372036854775807n, 1), -9223372036854775808n);
    assert.equal(multiplyLong(3, 4), 12);
    assert.equal(remainderLong(1424686733090638193n, 1_000_000_000), 90638193);
    assert.equal(remainderLong(5, 0), null);
    assert.equal(negateLong(-9223372036854775808n), -9223372036854775808n);
  });

  it("parses integer text exactly, null past the long range, and truncates doubles with saturation", () => {
    assert.equal(parseLongText("1424686733090638193"), 1424686733090638193n);
    assert.equal(parseLongText("9223372036854775808"), null);
    assert.equal(doubleToLongValue(1e19), 9223372036854775807n);
    assert.equal(doubleToLongValue(-2.5), -2);
  });

  it("reads and writes JSON longs digit for digit", () => {
    const row = parseJsonWithLongs('{"Creation_Time":1424686733090638193,"note":"1424686733090638193 in a string","x":1.5,"n":-9007199254740993}');
    assert.deepEqual(row, { Creation_Time: 1424686733090638193n, note: "1424686733090638193 in a string", x: 1.5, n: -9007199254740993n });
    assert.equal(jsonWithLongs(row), '{"Creation_Time":1424686733090638193,"note":"1424686733090638193 in a string","x":1.5,"n":-9007199254740993}');
    assert.deepEqual(parseJsonWithLongs('{"a":12,"b":1e300}'), { a: 12, b: 1e300 });
  });
});
