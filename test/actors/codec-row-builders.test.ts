// Decoded rows are built by per-schema builders (src/actors/array-rows.ts) up to 16 columns and for the first 64
// schemas, and column by column past either limit: every width and every schema decodes the same rows, with their keys
// in order, named and by position, in both layouts; and rows by position encode to the same bytes as named rows.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { decodeFrame, decodeFramePositional, encodeFrame, setFrameLayout } from "../../src/actors/codec.ts";
import { FRAME_DATA, type DataFrame, type Frame, type PositionalDataFrame } from "../../src/core/frame.ts";
import type { Row } from "../../src/core/types.ts";
import { describeFrame } from "./fixtures/describe-frame.ts";

function dataFrame(rows: Row[]): DataFrame {
  return { kind: FRAME_DATA, sender: 1, seq: 1, epoch: 1, since: 10.5, until: 20.5, rows };
}

/** Rows of `width` columns named `${prefix}${column}`: numbers, labels, longs, a nested value, all-null, booleans, a string a row. */
function rowsOf(prefix: string, width: number, count: number): Row[] {
  return Array.from({ length: count }, (_, index) => {
    const row: Row = {};
    for (let column = 0; column < width; column++) {
      const name = `${prefix}${column}`;
      switch (column % 7) {
        case 0:
          row[name] = index * 1.5 + column;
          break;
        case 1:
          row[name] = ["a", "b", null][(index + column) % 3] ?? null;
          break;
        case 2:
          row[name] = 2n ** 60n + BigInt(index);
          break;
        case 3:
          row[name] = { at: index };
          break;
        case 4:
          row[name] = null;
          break;
        case 5:
          row[name] = index % 2 === 0;
          break;
        default:
          // A string a row: with 256 rows, codes past 255 (2-byte codes in layout 2).
          row[name] = `${name}-${index}`;
      }
    }
    return row;
  });
}

function assertRoundTrip(frame: DataFrame, what: string): void {
  const bytes = encodeFrame(frame).slice();
  assert.equal(bytes[0], 0xc1, `${what}: a lean frame`);
  const named = decodeFrame(bytes) as DataFrame;
  assert.deepStrictEqual(named, frame, what);
  assert.equal(describeFrame(named), describeFrame(frame), what);
  for (const [index, row] of named.rows.entries()) {
    assert.equal(Object.getPrototypeOf(row), Object.prototype, what);
    assert.deepEqual(Object.keys(row), Object.keys(frame.rows[index] as Row), what);
  }
  const columns = Object.keys(frame.rows[0] ?? {});
  // Rows by position give the same bytes (layout 2 writes number and string columns straight from them).
  const byPosition: PositionalDataFrame = { ...frame, columns, rows: frame.rows.map((row) => columns.map((column) => row[column])) };
  assert.deepEqual(encodeFrame(byPosition), bytes, `${what}: the same bytes by position`);
  const arrays = decodeFramePositional(bytes) as PositionalDataFrame;
  assert.deepStrictEqual(arrays.columns, columns, what);
  const expected = { kind: FRAME_DATA, sender: frame.sender, seq: frame.seq, epoch: frame.epoch, since: frame.since, until: frame.until, columns, rows: frame.rows.map((row) => columns.map((column) => row[column])) };
  assert.equal(describeFrame(arrays as unknown as Frame), describeFrame(expected as unknown as Frame), what);
  for (const row of arrays.rows) assert.equal(row.length, columns.length, what);
}

describe("decoded rows: per-schema builders and the column-by-column path", () => {
  after(() => setFrameLayout(2));

  it("rows of 1 to 40 columns decode the same, named and by position, in both layouts", () => {
    for (const layout of [1, 2] as const) {
      setFrameLayout(layout);
      for (let width = 1; width <= 40; width++) {
        for (const count of [1, 3, 4, 256]) assertRoundTrip(dataFrame(rowsOf(`w${width}_`, width, count)), `layout ${layout}, ${width} columns, ${count} rows`);
      }
    }
  });

  it("more schemas than there are row builders decode the same, and the first schema again after them", () => {
    for (const layout of [1, 2] as const) {
      setFrameLayout(layout);
      for (let schema = 0; schema < 100; schema++) assertRoundTrip(dataFrame(rowsOf(`s${layout}_${schema}_`, 1 + (schema % 16), 5)), `layout ${layout}, schema ${schema}`);
      assertRoundTrip(dataFrame(rowsOf(`s${layout}_0_`, 1, 5)), `layout ${layout}, schema 0 again`);
    }
  });
});
