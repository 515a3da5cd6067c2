// Layout 2 (typed, 8-byte aligned columns): random schemas and values round-trip exactly in both layouts, layout 1
// frames still decode, a switch keeps writing layout 1, and malformed layout 2 frames are refused.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { decodeFrame, decodeFramePositional, encodeFrame, setFrameLayout } from "../../src/actors/codec.ts";
import { generateActivity, mulberry32 } from "../../src/connectors/sources/activity.ts";
import { TransportError } from "../../src/core/errors.ts";
import { FRAME_DATA, type DataFrame, type Frame, type PositionalDataFrame } from "../../src/core/frame.ts";
import type { Row } from "../../src/core/types.ts";
import { describeFrame } from "./fixtures/describe-frame.ts";

const LEAN = 0xc1;

function dataFrame(rows: Row[], seq = 1): DataFrame {
  return { kind: FRAME_DATA, sender: 5, seq, epoch: 2, since: 1_700_000_000_000.5, until: 1_700_000_000_002.5, rows };
}

/** Exact equality: values (-0, NaN, bigints), key order, and the rows' prototype. */
function assertSame(actual: Frame, expected: Frame, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
  assert.equal(describeFrame(actual), describeFrame(expected), message);
  if (actual.kind === FRAME_DATA && expected.kind === FRAME_DATA) {
    for (const [index, row] of actual.rows.entries()) {
      assert.equal(Object.getPrototypeOf(row), Object.prototype, message);
      assert.deepEqual(Object.keys(row), Object.keys(expected.rows[index] as Row), message);
    }
  }
}

/** The frame's bytes at an odd offset of a larger buffer (as a transport may hand them over). */
function unaligned(bytes: Uint8Array): Uint8Array {
  const holder = new Uint8Array(bytes.length + 11);
  holder.set(bytes, 3);
  return holder.subarray(3, 3 + bytes.length);
}

type Make = (random: () => number, row: number) => unknown;
const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
const SPECIAL = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53) + 1, 0.5, -1e-300, Number.MIN_VALUE];
const TEXT = ["", "a", "naïve", "☃", "𝄞 clef", "日本語", "x".repeat(40), "stairsup", "\u0000nul", "mixed ascii and ü"];
/** Column generators: each gives one kind of column (with or without nulls), or a mix a typed layout cannot hold. */
const COLUMNS: Record<string, Make> = {
  double: (random) => (random() < 0.1 ? pick(random, SPECIAL) : (random() - 0.5) * 1e6),
  int: (random) => Math.floor((random() - 0.5) * 2 ** 32),
  smallInt: (random) => Math.floor(random() * 100),
  intOrMinusZero: (random) => (random() < 0.05 ? -0 : Math.floor(random() * 1000)),
  intOrNull: (random) => (random() < 0.3 ? null : Math.floor(random() * 1000)),
  doubleOrNull: (random) => (random() < 0.3 ? null : pick(random, SPECIAL)),
  special: (random) => pick(random, SPECIAL),
  long: (random) => (random() < 0.5 ? 2n ** 53n + BigInt(Math.floor(random() * 1e9)) : -(2n ** 62n) - BigInt(Math.floor(random() * 1e9))),
  longExtremes: (random) => pick(random, [-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n]),
  string: (random) => pick(random, TEXT),
  stringOrNull: (random) => (random() < 0.2 ? null : pick(random, TEXT)),
  manyStrings: (random) => `s${Math.floor(random() * 2000)}`,
  boolean: (random) => random() < 0.5,
  booleanOrNull: (random) => (random() < 0.3 ? null : random() < 0.5),
  allNull: () => null,
  struct: (random, row) => ({ start: row, end: row + Math.floor(random() * 10) }),
  mixed: (random) => pick(random, [1, "one", null, true, 2n ** 60n]),
  missing: (random) => (random() < 0.5 ? undefined : 1),
};
const KINDS = Object.keys(COLUMNS);

/** A seeded random schema (1-12 columns of random kinds) and `count` rows of it. */
function randomFrame(seed: number, count: number): DataFrame {
  const random = mulberry32(seed);
  const width = 1 + Math.floor(random() * 12);
  const columns = Array.from({ length: width }, (_, index) => ({ name: `${pick(random, ["c", "列", "Col_"])}${index}`, make: COLUMNS[pick(random, KINDS)] as Make }));
  const rows = Array.from({ length: count }, (_, row) => {
    const values: Row = {};
    for (const column of columns) values[column.name] = column.make(random, row);
    return values;
  });
  return dataFrame(rows, seed);
}

const layouts = [1, 2] as const;

describe("frame layout 2: typed columns", () => {
  after(() => setFrameLayout(2));

  it("writes layout 2 by default: 8-byte aligned typed columns, int32, 1-byte string codes", () => {
    const rows = Array.from({ length: 256 }, (_, index) => ({ label: ["sit", "walk", null][index % 3] ?? null, count: index * 3 }));
    const bytes = encodeFrame(dataFrame(rows));
    assert.equal(bytes[0], LEAN);
    assert.equal(bytes[1], 2, "layout version");
    assert.equal(bytes.byteOffset % 8, 0, "the frame starts 8-byte aligned in the encoder's buffer");
    // 48 bytes of fixed part and padding, 256 one-byte codes, 256 int32, then the header: far below layout 1's 2,600.
    assert.ok(bytes.length < 48 + 256 + 1024 + 100, `${bytes.length} bytes`);
    assertSame(decodeFrame(bytes), dataFrame(rows));
  });

  it("decodes a layout 2 frame written by this build (stored bytes: a replay after an upgrade)", () => {
    // encodeFrame(expected) with layout 2, base64.
    const stored = Buffer.from(STORED_LAYOUT_2, "base64");
    const expected = dataFrame([{ s: "é", n: 1 }, { s: null, n: -0 }, { s: "é", n: 2 ** 40 }, { s: "ß", n: Number.NaN }]);
    assert.equal(stored[1], 2);
    assertSame(decodeFrame(new Uint8Array(stored)), expected);
    assertSame(decodeFrame(unaligned(new Uint8Array(stored))), expected);
    setFrameLayout(2);
    assert.equal(Buffer.from(encodeFrame(expected)).toString("base64"), STORED_LAYOUT_2);
  });

  it("random schemas and values round-trip exactly in both layouts, named and by position, aligned or not", () => {
    for (let seed = 1; seed <= 150; seed++) {
      const count = [0, 1, 2, 3, 7, 8, 9, 64, 255, 256, 300][seed % 11] as number;
      const frame = randomFrame(seed, count);
      for (const layout of layouts) {
        setFrameLayout(layout);
        const bytes = encodeFrame(frame).slice();
        const what = `seed ${seed}, layout ${layout}, ${count} rows`;
        if (bytes[0] === LEAN) assert.equal(bytes[1], count >= 4 ? layout : 1, what);
        assertSame(decodeFrame(bytes), frame, what);
        assertSame(decodeFrame(unaligned(bytes)), frame, what);
        const first = frame.rows[0];
        if (bytes[0] === LEAN && first !== undefined) {
          const columns = Object.keys(first);
          const arrays = decodeFramePositional(bytes) as PositionalDataFrame;
          assert.deepStrictEqual(arrays.columns, columns, what);
          assert.equal(describeFrame(arrays as unknown as Frame), describeFrame({ kind: FRAME_DATA, sender: frame.sender, seq: frame.seq, epoch: frame.epoch, since: frame.since, until: frame.until, columns, rows: frame.rows.map((row) => columns.map((column) => row[column])) } as unknown as Frame), what);
        }
      }
    }
  });

  it("frames of 1 to 3 rows are written in layout 1 (nothing for typed columns to speed up), 4 rows and more in layout 2", () => {
    setFrameLayout(2);
    const rows = generateActivity({ seed: 2, count: 5, rowsPerSecond: 10_000, startMs: 1_700_000_000_000 }) as unknown as Row[];
    for (const count of [1, 2, 3, 4, 5]) {
      const frame = dataFrame(rows.slice(0, count));
      const bytes = encodeFrame(frame);
      assert.equal(bytes[1], count < 4 ? 1 : 2, `${count} rows`);
      assertSame(decodeFrame(bytes), frame);
    }
  });

  it("every edge case in one frame per layout: -0, NaN, infinities, int32 bounds, longs past 2^53, unicode, all-null and missing values", () => {
    const rows = SPECIAL.map((special, index) => ({
      special,
      int: [0, 2 ** 31 - 1, -(2 ** 31), 7][index % 4] as number,
      notInt: [0, 2 ** 31, -1][index % 3] as number,
      minusZero: index === 5 ? -0 : index,
      maybe: index % 2 === 0 ? null : special,
      long: index % 2 === 0 ? 2n ** 53n + BigInt(index) : -(2n ** 63n) + BigInt(index),
      text: TEXT[index % TEXT.length] as string,
      nothing: null,
      missing: index % 3 === 0 ? undefined : "here",
      flag: index % 3 === 0 ? null : index % 2 === 0,
    }));
    for (const layout of layouts) {
      setFrameLayout(layout);
      const bytes = encodeFrame(dataFrame(rows));
      assert.equal(bytes[1], layout);
      const back = decodeFrame(bytes) as DataFrame;
      assertSame(back, dataFrame(rows), `layout ${layout}`);
      assert.ok(Object.is((back.rows[5] as Row).minusZero, -0), "-0 is not taken for an int32");
      assert.ok(Object.is((back.rows[1] as Row).special, -0));
      assert.ok("missing" in (back.rows[0] as Row) && (back.rows[0] as Row).missing === undefined, "an undefined value stays a key with undefined");
    }
  });

  it("more distinct strings than a code width holds: 1-byte codes, then 2 bytes past 255, 4 bytes past 65,535", () => {
    const cases = [255, 256, 1_000, 70_000].map((distinct) => Array.from({ length: Math.max(distinct, 300) }, (_, index) => ({ s: `v${index % distinct}`, again: index % 2 === 0 ? null : `v${(index * 7) % distinct}` })));
    for (const layout of layouts) {
      setFrameLayout(layout);
      for (const rows of cases) assertSame(decodeFrame(encodeFrame(dataFrame(rows))), dataFrame(rows), `layout ${layout}, ${rows.length} rows`);
    }
    setFrameLayout(2);
    // The frame's fourth column in the 1,000 case starts past 255 distinct strings: its codes are 2 bytes.
    const wide = encodeFrame(dataFrame(cases[2] as Row[]));
    assert.ok(wide.length > 1_000 * 2, `${wide.length} bytes`);
  });

  it("layout 1 frames still decode (an older peer, stored frames), and setFrameLayout(1) writes them", () => {
    const rows = generateActivity({ seed: 5, count: 256, rowsPerSecond: 10_000, startMs: 1_700_000_000_000 }) as unknown as Row[];
    assert.equal(setFrameLayout(1), 1);
    const old = encodeFrame(dataFrame(rows)).slice();
    assert.equal(old[1], 1);
    const oldSmall = encodeFrame(dataFrame(rows.slice(0, 2))).slice();
    assert.equal(setFrameLayout(2), 2);
    const typed = encodeFrame(dataFrame(rows)).slice();
    assert.equal(typed[1], 2);
    assert.ok(typed.length < old.length, `${typed.length} bytes in layout 2, ${old.length} in layout 1`);
    for (const bytes of [old, typed, oldSmall, old, typed]) assertSame(decodeFrame(bytes), dataFrame(bytes === oldSmall ? rows.slice(0, 2) : rows));
  });

  it("RILL_FRAME_LAYOUT=1 makes a process write layout 1", async () => {
    const codec = fileURLToPath(new URL("../../src/actors/codec.ts", import.meta.url));
    const script = `import { encodeFrame } from ${JSON.stringify(codec)}; process.stdout.write(String(encodeFrame({ kind: 0, sender: 0, seq: 1, epoch: 1, since: 0, until: 0, rows: [{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }] })[1]));`;
    const run = (env: NodeJS.ProcessEnv) => promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { env: { ...process.env, ...env } });
    assert.equal((await run({ RILL_FRAME_LAYOUT: "1" })).stdout, "1");
    assert.equal((await run({ RILL_FRAME_LAYOUT: "" })).stdout, "2");
  });

  it("refuses malformed layout 2 frames with a TransportError, whatever byte is cut or changed", () => {
    setFrameLayout(2);
    const rows = Array.from({ length: 20 }, (_, index) => ({ s: `v${index % 3}`, n: index % 4 === 0 ? null : index / 2, b: index % 2 === 0, t: 2n ** 60n }));
    const bytes = encodeFrame(dataFrame(rows)).slice();
    assert.equal(bytes[1], 2);
    for (let length = 0; length < bytes.length; length++) {
      assert.throws(() => decodeFrame(bytes.subarray(0, length)), (error: unknown) => length === 0 || error instanceof TransportError, `cut at ${length}`);
    }
    const forged = (at: number, value: number): Uint8Array => {
      const copy = bytes.slice();
      copy[at] = value;
      return copy;
    };
    // Fixed part 46 bytes, padded to 48: s (20 one-byte codes) at 48, n's null bitmap at 72 (3 bytes, padded to 80),
    // its doubles at 80, b at 240, t at 264.
    assert.throws(() => decodeFrame(forged(48, 0xff)), /column 's' refers to string 255/);
    assert.throws(() => decodeFrame(forged(74, 0xf0)), /column 'n' has a null bit past the last row/);
    assert.throws(() => decodeFrame(forged(240, 7)), /column 'b' has a boolean of 7/);
    assert.throws(() => decodeFrame(forged(42, 0xff)), TransportError, "a row count the bytes cannot hold");
  });
});

const STORED_LAYOUT_2 = "wQIAAAAAAAAUQAAAAAAAAPA/AAAAAAAAAEAACIBW/rx4QgAogFb+vHhCBAAAAAAAAQABAgAAAAAAAAAAAADwPwAAAAAAAACAAAAAAAAAcEIAAAAAAAD4f5WSoXOhbpICAJKiw6miw5+QwhIAAAA=";
