// The hash exchange's partitioner hashes a row's key part by part: it must route every row where the key string would.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { keyGroupOf, keyOf, partitionerOf, partitionOfKeyGroup, positionalKeyOf, positionalPartitionerOf } from "../../src/core/keys.ts";
import { keyOfColumns } from "../../src/operators/join-static-table.ts";
import { joinKeyOf } from "../../src/plan/join-stream-analysis.ts";
import type { Row } from "../../src/core/types.ts";

const values: unknown[] = [
  "sit", "", "é☃\u0000x", "\u0002", "a\u0000sb", "\u0002\u0000\u00020", "\u0001", "n1", 0, -0, 1, -17, 2.5, 1e21, 1 / 3, Number.NaN, Number.POSITIVE_INFINITY, null, undefined, true, false,
  { start: 0, end: 1000 }, { start: 1_700_000_000_000, end: 1_700_000_001_000 }, { start: -0.5, end: 2 },
  [1, "a"], { other: 1 }, new Date(0),
];

function byKeyString(columns: string[], partitions: number): (row: Row) => number {
  const key = keyOf(columns);
  return (row) => partitionOfKeyGroup(keyGroupOf(key(row)), partitions);
}

describe("partitionerOf", () => {
  it("routes each value of one column, and each pair of two columns, to the partition of its key string", () => {
    for (const partitions of [2, 3, 7, 128]) {
      const single = partitionerOf(["k"], partitions);
      const singleExpected = byKeyString(["k"], partitions);
      for (const value of values) assert.equal(single({ k: value }), singleExpected({ k: value }), `${String(value)} over ${partitions}`);
      const pair = partitionerOf(["a", "b"], partitions);
      const pairExpected = byKeyString(["a", "b"], partitions);
      for (const a of values) for (const b of values) assert.equal(pair({ a, b }), pairExpected({ a, b }), `${String(a)}, ${String(b)} over ${partitions}`);
    }
  });

  it("spreads distinct keys over the partitions (a constant would pass the test above for one partition only)", () => {
    const partitionOf = partitionerOf(["gt", "window"], 4);
    const seen = new Set<number>();
    for (let index = 0; index < 200; index++) seen.add(partitionOf({ gt: `g${index % 7}`, window: { start: index * 1000, end: index * 1000 + 1000 } }));
    assert.equal(seen.size, 4);
  });
});

describe("keyOf and partitionerOf over a stream of rows", () => {
  // Both keep the last window's text: a row must get the key (and partition) a fresh function gives it, whatever came before.
  const windows: unknown[] = [
    { start: 0, end: 1000 }, { start: 0, end: 1000 }, { start: -0, end: 1000 }, { start: 0, end: 2000 }, { start: 1000, end: 2000 },
    { start: 0, end: 1000 }, { start: Number.NaN, end: 1000 }, { start: Number.NaN, end: 1000 }, { start: 1n, end: 2n },
    { start: 0, end: 1000 }, "w0:1000", 0, null, { start: 1_700_000_000_000, end: 1_700_000_001_000 }, { start: 1_700_000_000_000, end: 1_700_000_001_000 },
  ];

  it("gives each row the key and partition of its own values", () => {
    const key = keyOf(["window", "gt"]);
    const single = keyOf(["window"]);
    const partitionOf = partitionerOf(["window", "gt"], 7);
    for (let round = 0; round < 3; round++) {
      for (const [index, window] of windows.entries()) {
        const row = { window, gt: index % 3 === 0 ? null : `g${index % 2}` };
        assert.equal(key(row), keyOf(["window", "gt"])(row), `row ${index}`);
        assert.equal(single(row), keyOf(["window"])(row), `row ${index}`);
        assert.equal(partitionOf(row), partitionerOf(["window", "gt"], 7)(row), `row ${index}`);
        assert.equal(partitionOf(row), partitionOfKeyGroup(keyGroupOf(keyOf(["window", "gt"])(row)), 7), `row ${index}`);
      }
    }
  });
});

describe("long keys", () => {
  it("keys and routes a long past 2^53 (a bigint), and gives a long the same key and partition as a number or a bigint", () => {
    const key = keyOf(["id"]);
    const partition = partitionerOf(["id"], 7);
    const big = 2n ** 60n + 3n;
    assert.equal(key({ id: big }), `n${big}`);
    assert.notEqual(key({ id: big }), key({ id: big + 1n }));
    assert.equal(partition({ id: big }), partitionOfKeyGroup(keyGroupOf(key({ id: big })), 7));
    assert.equal(key({ id: 42 }), key({ id: 42n }));
    assert.equal(partition({ id: 42 }), partition({ id: 42n }));
  });
});

describe("keys of several columns under U+0000", () => {
  // Values whose texts, joined on U+0000 without escaping, make the same key: a part that holds the separator and what
  // follows it in another row ("a\u0000sb", "c" against "a", "b\u0000sc"), the escape character U+0002 itself and the
  // escaped forms' text, null's part U+0001, empty strings, and the texts of null, numbers and booleans.
  const adversarial: unknown[] = [
    "", "a", "b", "c", "\u0000", "\u0000\u0000", "a\u0000", "\u0000b", "a\u0000sb", "b\u0000sc", "a\u0000sb\u0000sc", "\u0002", "\u00020", "\u0002\u0002",
    "\u0002\u0000", "\u0000\u0002", "\u00020\u0000", "\u0001", "\u0000\u0001", "a\u0000\u0001", "\u0001\u0000sa", "null", "n1", "s", "t", "1", "true",
    null, 1, 2.5, true, false, { start: 0, end: 1000 }, "w0:1000", [1, "a"], "[1,\"a\"]",
  ];
  // The value a key stands for: a string apart from a number, a boolean or an object of the same text.
  const identity = (value: unknown): string => JSON.stringify([typeof value, value]);

  function assertOneKeyPerValue(name: string, width: number, key: (row: Row) => unknown, pool: readonly unknown[]): void {
    const columns = Array.from({ length: width }, (_, index) => `c${index}`);
    const owners = new Map<unknown, string>();
    const tuples: unknown[][] = width === 2 ? pool.flatMap((a) => pool.map((b) => [a, b])) : pool.flatMap((a) => pool.flatMap((b) => pool.map((c) => [a, b, c])));
    for (const tuple of tuples) {
      const row: Row = Object.fromEntries(columns.map((column, index) => [column, tuple[index]]));
      const value = key(row);
      const owner = owners.get(value);
      const mine = tuple.map(identity).join(", ");
      assert.ok(owner === undefined || owner === mine, `${name}: [${owner}] and [${mine}] get one key ${JSON.stringify(value)}`);
      owners.set(value, mine);
    }
  }

  it("keyOf gives two rows one key only when their values are the same (two and three columns)", () => {
    assertOneKeyPerValue("keyOf", 2, keyOf(["c0", "c1"]), adversarial);
    assertOneKeyPerValue("keyOf", 3, keyOf(["c0", "c1", "c2"]), adversarial);
  });

  it("keyOf's parts come back from the key: the last U+0000s are the separators, the parts after the first unescaped", () => {
    const unescape = (text: string): string => {
      let out = "";
      for (let index = 0; index < text.length; index++) {
        const character = text[index] as string;
        assert.notEqual(character, "\u0000", "an escaped part holds no U+0000");
        if (character !== "\u0002") out += character;
        else out += text[++index] === "0" ? "\u0000" : "\u0002";
      }
      return out;
    };
    const key = keyOf(["c0", "c1", "c2"]);
    const single = keyOf(["c"]);
    for (const a of adversarial) {
      for (const b of adversarial) {
        const pieces = key({ c0: a, c1: b, c2: a }).split("\u0000");
        const parts = [pieces.slice(0, -2).join("\u0000"), unescape(pieces.at(-2) as string), unescape(pieces.at(-1) as string)];
        assert.deepStrictEqual(parts, [single({ c: a }), single({ c: b }), single({ c: a })], `${identity(a)}, ${identity(b)}`);
      }
    }
  });

  it("keyOf leaves a key without U+0000 or U+0002 as it was (keys in checkpoints stay the same)", () => {
    const key = keyOf(["a", "b", "c"]);
    assert.equal(key({ a: "x", b: null, c: 3 }), "sx\u0000\u0001\u0000n3");
    assert.equal(key({ a: "", b: "null", c: true }), "s\u0000snull\u0000t");
    assert.equal(key({ a: "é\u0001", b: { start: 0, end: 1000 }, c: [1] }), "sé\u0001\u0000w0:1000\u0000o[1]");
    assert.equal(keyOf(["a"])({ a: "x\u0000y" }), "sx\u0000y");
    // The first part is never escaped: its key is the one it had.
    assert.equal(key({ a: "x\u0000\u0002", b: "y", c: 1 }), "sx\u0000\u0002\u0000sy\u0000n1");
    assert.equal(key({ a: "x", b: "y\u0000\u0002", c: 1 }), "sx\u0000sy\u00020\u0002\u0002\u0000n1");
  });

  it("the partitioners route each adversarial row where its key string goes", () => {
    for (const partitions of [3, 128]) {
      const byName = partitionerOf(["c0", "c1"], partitions);
      const byPosition = positionalPartitionerOf([0, 1], partitions);
      const key = keyOf(["c0", "c1"]);
      for (const a of adversarial) {
        for (const b of adversarial) {
          const expected = partitionOfKeyGroup(keyGroupOf(key({ c0: a, c1: b })), partitions);
          assert.equal(byName({ c0: a, c1: b }), expected, `${identity(a)}, ${identity(b)}`);
          assert.equal(byPosition([a, b]), expected, `${identity(a)}, ${identity(b)} by position`);
        }
      }
    }
  });

  it("a stream-stream join's key and a static join's key give different values different keys", () => {
    const notNull = adversarial.filter((value) => value !== null);
    assertOneKeyPerValue("joinKeyOf", 2, joinKeyOf(["c0", "c1"]), notNull);
    assertOneKeyPerValue("joinKeyOf", 3, joinKeyOf(["c0", "c1", "c2"]), notNull);
    assertOneKeyPerValue("keyOfColumns", 2, keyOfColumns(["c0", "c1"]), notNull);
    assertOneKeyPerValue("keyOfColumns", 3, keyOfColumns(["c0", "c1", "c2"]), notNull);
  });
});

describe("keyOf without columns", () => {
  it("gives every row the one empty key, as a global aggregation needs (it threw 'firstPart is not a function')", () => {
    const key = keyOf([]);
    assert.equal(key({ a: 1 }), "");
    assert.equal(key({}), "");
    assert.equal(partitionerOf([], 4)({ a: 1 }), partitionerOf([], 4)({ b: "x" }));
  });
});

describe("positionalKeyOf", () => {
  it("gives keyOf's string for the same values, whatever they are (state keyed either way is one state)", () => {
    const values: unknown[] = [null, undefined, "", "a", "a\u0000b", "\u0000", "a\u0002", "\u0002\u0000", 0, -0, Number.NaN, 1.5, 2n ** 60n, 5n, true, false,
      { start: 0, end: 10_000 }, { start: 1n, end: 2n }, { start: 0, end: 1, x: "a\u0000" }, { k: "a\u0000b", n: 2n ** 60n }, ["x\u0000", null, 3n]];
    const names = ["c0", "c1", "c2"];
    let state = 17;
    const pick = (): unknown => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return values[(state >>> 16) % values.length];
    };
    for (const width of [0, 1, 2, 3]) {
      for (const order of [[0, 1, 2], [2, 0, 1]]) {
        const columns = order.slice(0, width).map((index) => names[index] as string);
        const named = keyOf(columns);
        const positional = positionalKeyOf(order.slice(0, width));
        for (let row = 0; row < 2000; row++) {
          const array = [pick(), pick(), pick()];
          assert.equal(positional(array), named(Object.fromEntries(names.map((name, index) => [name, array[index]]))), `${columns.join(",")}: ${String(row)}`);
        }
      }
    }
  });
});
