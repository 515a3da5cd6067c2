// Rows by position on the wire: arrays in a known column order encode to the same bytes as named rows, and any frame
// decodes to arrays (lean frames) or to what it was sent as (msgpack frames).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Packr } from "msgpackr";
import { decodeFrame, decodeFramePositional, encodeFrame, isPositional, setFrameLayout } from "../../src/actors/codec.ts";
import { generateActivity } from "../../src/connectors/sources/activity.ts";
import { TransportError } from "../../src/core/errors.ts";
import { FRAME_DATA, type DataFrame, type PositionalDataFrame } from "../../src/core/frame.ts";
import type { PositionalRow, Row } from "../../src/core/types.ts";

const LEAN = 0xc1;
const FIXED = { kind: FRAME_DATA, sender: 3, seq: 41, epoch: 7, since: 1_700_000_000_000.25, until: 1_700_000_000_001.75 } as const;

function named(rows: Row[]): DataFrame {
  return { ...FIXED, rows };
}

function positional(columns: readonly string[], rows: PositionalRow[]): PositionalDataFrame {
  return { ...FIXED, columns, rows };
}

/** The same rows by position, in the order of the first row's keys. */
function byPosition(rows: Row[]): PositionalDataFrame {
  const columns = Object.keys(rows[0] ?? {});
  return positional(columns, rows.map((row) => columns.map((column) => row[column])));
}

function everyKind(): Row[] {
  return Array.from({ length: 300 }, (_, index) => ({
    key: `k${index % 7}`,
    n: index % 5 === 0 ? null : index / 3,
    special: [Number.NaN, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 60][index % 5],
    flag: index % 3 === 0 ? null : index % 2 === 0,
    nothing: null,
    window: { start: index * 1000, end: index * 1000 + 500 },
    list: [index, `s${index}`],
    bytes: new Uint8Array([index & 255, 1, 2]),
    long: index % 2 === 0 ? index : 2n ** 62n + BigInt(index),
    big: 2n ** 62n - BigInt(index),
    unicode: index % 4 === 0 ? "naïve ☃ 𝄞" : `u${index}`,
  }));
}

const CASES: Record<string, Row[]> = {
  activity: generateActivity({ seed: 3, count: 256, rowsPerSecond: 10_000, startMs: 1_700_000_000_000 }) as unknown as Row[],
  "every column kind": everyKind(),
  narrow: Array.from({ length: 256 }, (_, index) => ({ user: `u${index % 11}`, count: index * 7 })),
  "wide string indexes": Array.from({ length: 70_000 }, (_, index) => ({ id: `id-${index}`, label: `l${index % 40}` })),
};

describe("frame codec, rows by position", () => {
  for (const [name, rows] of Object.entries(CASES)) {
    it(`${name}: arrays encode to the very bytes of the named rows, and decode back to the same arrays and names`, () => {
      const namedBytes = encodeFrame(named(rows)).slice();
      const frame = byPosition(rows);
      const bytes = encodeFrame(frame);
      assert.equal(bytes[0], LEAN);
      assert.deepEqual(bytes, namedBytes);
      const back = decodeFramePositional(bytes);
      assert.ok(isPositional(back));
      assert.deepStrictEqual(back, frame);
      // And the named decoder reads the positional sender's bytes to the named rows.
      assert.deepStrictEqual(decodeFrame(bytes), named(rows));
    });
  }

  it("a named sender's lean frame decodes to arrays, the names one array per schema (compared by identity)", () => {
    const rows = CASES.narrow as Row[];
    const first = decodeFramePositional(encodeFrame(named(rows)));
    const second = decodeFramePositional(encodeFrame(named(rows.slice(0, 3))));
    assert.ok(isPositional(first) && isPositional(second));
    assert.deepEqual(first.columns, ["user", "count"]);
    assert.equal(first.columns, second.columns);
    assert.deepStrictEqual(first.rows, rows.map((row) => [row.user, row.count]));
  });

  it("positional rows that cannot travel lean (all null, no columns, a name a decoder refuses) travel as msgpack and keep their form", () => {
    const cases: PositionalDataFrame[] = [
      positional(["a", "b"], [[null, null], [null, null]]),
      positional([], [[], []]),
      positional(["a", "a"], [[1, 2]]),
      positional(["__proto__", "b"], [[1, 2]]),
    ];
    for (const frame of cases) {
      const bytes = encodeFrame(frame);
      assert.notEqual(bytes[0], LEAN, JSON.stringify(frame.columns));
      assert.deepStrictEqual(decodeFramePositional(bytes), frame);
    }
    // The named decoder names them (a later duplicate name wins, as an object literal would).
    assert.deepStrictEqual(decodeFrame(encodeFrame(cases[0] as PositionalDataFrame)), named([{ a: null, b: null }, { a: null, b: null }]));
  });

  it("rows whose length differs from the columns' travel as msgpack, unchanged", () => {
    const frame = positional(["a", "b"], [[1, 2], [3]]);
    const bytes = encodeFrame(frame);
    assert.notEqual(bytes[0], LEAN);
    assert.deepStrictEqual(decodeFramePositional(bytes), frame);
  });

  it("an old msgpack frame with named rows decodes named, for the receiver to convert by its schema", () => {
    const frame = named([{ a: 1, b: "x" }]);
    const old = new Packr({ useRecords: true, moreTypes: false, bundleStrings: false }).pack(frame);
    assert.deepStrictEqual(decodeFramePositional(old), frame);
  });

  it("refuses malformed lean frames with a TransportError when decoding to arrays too", () => {
    const bytes = encodeFrame(byPosition(Array.from({ length: 20 }, (_, index) => ({ s: `v${index % 3}`, n: index % 4 === 0 ? null : index, b: index % 2 === 0, t: 2n ** 60n }))));
    for (let length = 1; length < bytes.length; length++) {
      assert.throws(() => decodeFramePositional(bytes.subarray(0, length)), TransportError, `cut at ${length}`);
    }
  });

  it("columns named like array indexes ('1', '0') after another keep their order and values, in both layouts and at 3 and 4 rows", () => {
    // An object lists integer-like keys first: the decoder once took the frame's column order from such an object, so
    // the values of 'b' came out as '0', those of '1' as 'b' (the rows of positional stages, wrong without an error).
    const columns = ["b", "1", "0", "x", "10"];
    for (const count of [3, 4, 9]) {
      for (const layout of [2, 1] as const) {
        setFrameLayout(layout);
        try {
          const rows: PositionalRow[] = Array.from({ length: count }, (_, index) => [`b${index}`, index, index * 2, index % 2 === 0, index === 1 ? null : `t${index}`]);
          const bytes = encodeFrame(positional(columns, rows));
          assert.equal(bytes[0], LEAN);
          const decoded = decodeFramePositional(bytes);
          assert.ok(isPositional(decoded));
          assert.deepStrictEqual([...decoded.columns], columns, `${count} rows, layout ${layout}`);
          assert.deepStrictEqual(decoded.rows, rows, `${count} rows, layout ${layout}`);
          const asNamed = decodeFrame(bytes);
          assert.ok(asNamed.kind === FRAME_DATA);
          assert.deepStrictEqual(asNamed.rows, rows.map((row) => Object.fromEntries(columns.map((column, index) => [column, row[index]]))));
        } finally {
          setFrameLayout(2);
        }
      }
    }
  });

  it("a column whose name holds the character a schema's names were joined with is its own column, not two", () => {
    // Layouts were kept under the names joined by U+0000: ['a\u0000b'] found the layout of ['a', 'b'], and its frame
    // was refused as malformed (a positional sender writes it lean; a named one fell back to msgpack).
    assert.deepStrictEqual((decodeFrame(encodeFrame(named([{ a: 1, b: 2 }]))) as DataFrame).rows, [{ a: 1, b: 2 }]);
    for (const count of [1, 4]) {
      const rows: PositionalRow[] = Array.from({ length: count }, (_, index) => [index + 5]);
      const bytes = encodeFrame(positional(["a\u0000b"], rows));
      assert.equal(bytes[0], LEAN);
      const decoded = decodeFramePositional(bytes);
      assert.ok(isPositional(decoded));
      assert.deepStrictEqual([...decoded.columns], ["a\u0000b"]);
      assert.deepStrictEqual(decoded.rows, rows);
      assert.deepStrictEqual((decodeFrame(bytes) as DataFrame).rows, rows.map((row) => ({ "a\u0000b": row[0] })));
    }
  });
});
