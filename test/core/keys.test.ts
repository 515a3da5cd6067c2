// The hash exchange's partitioner hashes a row's key part by part: it must route every row where the key string would.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { keyGroupOf, keyOf, partitionerOf, partitionOfKeyGroup } from "../../src/core/keys.ts";
import type { Row } from "../../src/core/types.ts";

const values: unknown[] = [
  "sit", "", "é☃\u0000x", "n1", 0, -0, 1, -17, 2.5, 1e21, 1 / 3, Number.NaN, Number.POSITIVE_INFINITY, null, undefined, true, false,
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
