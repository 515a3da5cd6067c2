// A lean frame's header written and read by hand (frame-header.ts): the same msgpack bytes as msgpackr's, and a
// receiver that reads by hand only what matches the schema it read last, whatever order schemas come in.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Packr } from "msgpackr";
import { decodeFrame, decodeFramePositional, encodeFrame, isPositional } from "../../src/actors/codec.ts";
import { headerBound, namesBytesOf, readHeader, writeHeader } from "../../src/actors/frame-header.ts";
import { generateActivity } from "../../src/connectors/sources/activity.ts";
import { TransportError } from "../../src/core/errors.ts";
import { FRAME_DATA, type DataFrame, type Frame, type PositionalDataFrame } from "../../src/core/frame.ts";
import type { Row } from "../../src/core/types.ts";
import { describeFrame } from "./fixtures/describe-frame.ts";

const LEAN = 0xc1;
const packr = new Packr({ useRecords: true, moreTypes: false, bundleStrings: false });

function dataFrame(rows: Row[], seq = 1): DataFrame {
  return { kind: FRAME_DATA, sender: 2, seq, epoch: 5, since: 10.5, until: 11.5, rows };
}

function assertSame(actual: Frame, expected: Frame): void {
  assert.deepStrictEqual(actual, expected);
  assert.equal(describeFrame(actual), describeFrame(expected));
}

/** The header of a lean frame: from its start (its length is the last 4 bytes) to the length field. */
function headerOf(bytes: Uint8Array): Uint8Array {
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bytes.length - 4, true);
  return bytes.subarray(bytes.length - 4 - length, bytes.length - 4);
}

const allKinds = (index: number): Row => ({
  n: index / 3,
  maybe: index % 2 === 0 ? null : index,
  special: [Number.NaN, -0, Number.POSITIVE_INFINITY, 2 ** 60][index % 4] as number,
  s: index % 3 === 0 ? null : ["a", "naïve ☃ 𝄞", "", "x".repeat(40), "y".repeat(300)][index % 5] as string,
  long: 2n ** 60n + BigInt(index),
  negative: -(2n ** 63n) + BigInt(index),
  flag: index % 3 === 0 ? null : index % 2 === 0,
  nothing: null,
  nested: { start: index, end: index + 1 },
});

describe("frame header written and read by hand", () => {
  it("writes exactly msgpackr's bytes for the header: few and many columns, short, long and unicode strings, packed columns", () => {
    const cases: Array<{ names: string[]; kinds: number[]; strings: string[]; packed: unknown[][]; wide: boolean }> = [
      { names: ["a"], kinds: [0], strings: [], packed: [], wide: false },
      { names: Array.from({ length: 20 }, (_, index) => `column${index}`), kinds: Array.from({ length: 20 }, (_, index) => index % 7), strings: ["", "a", "x".repeat(31), "x".repeat(32), "y".repeat(255), "z".repeat(256), "é".repeat(20), "☃".repeat(100), "𝄞"], packed: [[{ a: 1 }, [2, 3]]], wide: true },
      { names: ["s"], kinds: [2], strings: Array.from({ length: 70_000 }, (_, index) => `s${index}`), packed: [], wide: true },
    ];
    for (const { names, kinds, strings, packed, wide } of cases) {
      const expected = new Uint8Array(packr.pack([names, kinds, strings, packed, wide]));
      const namesBytes = namesBytesOf(packr, names);
      const packedBytes = packed.length === 0 ? undefined : new Uint8Array(packr.pack(packed));
      const buffer = new Uint8Array(headerBound(names.length, strings) + namesBytes.length + (packedBytes?.length ?? 0));
      const end = writeHeader(buffer, 0, namesBytes, kinds, strings, packedBytes, wide);
      assert.deepEqual(buffer.subarray(0, end), expected);
      const header = readHeader(expected, 0, expected.length, namesBytes);
      assert.ok(header !== undefined, "a header with the expected names is read by hand");
      assert.deepEqual([header.kinds, header.dictionary, header.packed === undefined ? [] : packr.unpack(header.packed), header.wide], [kinds, strings, packed, wide]);
    }
  });

  it("reads by hand only a header whose names are byte for byte the ones given, and refuses a cut header", () => {
    const bytes = new Uint8Array(packr.pack([["x", "y"], [0, 0], [], [], false]));
    assert.ok(readHeader(bytes, 0, bytes.length, namesBytesOf(packr, ["x", "y"])) !== undefined);
    // The same length, other names: msgpackr reads it (the caller), never this.
    assert.equal(readHeader(bytes, 0, bytes.length, namesBytesOf(packr, ["y", "x"])), undefined);
    assert.equal(readHeader(bytes, 0, bytes.length, namesBytesOf(packr, ["x"])), undefined);
    for (let end = 0; end < bytes.length; end++) assert.equal(readHeader(bytes, 0, end, namesBytesOf(packr, ["x", "y"])), undefined, `cut at ${end}`);
  });

  it("a string with a lone surrogate gets msgpackr's bytes (U+FFFD in its place, as before)", () => {
    const frame = dataFrame([{ s: "a\ud800b" }, { s: "ok" }]);
    const bytes = encodeFrame(frame);
    assert.equal(bytes[0], LEAN);
    assert.deepEqual(headerOf(bytes), new Uint8Array(packr.pack([["s"], [2], ["a\ud800b", "ok"], [], false])));
    assertSame(decodeFrame(bytes), dataFrame([{ s: "a\ufffdb" }, { s: "ok" }]));
  });
});

describe("frames on one receiver, schema by schema", () => {
  it("small frames (1 and 3 rows) of every column kind round-trip, frame after frame of one schema", () => {
    for (const size of [1, 3, 1, 3]) {
      for (let first = 0; first < 6; first++) {
        const frame = dataFrame(Array.from({ length: size }, (_, index) => allKinds(first + index)), first + 1);
        const bytes = encodeFrame(frame);
        assert.equal(bytes[0], LEAN);
        assertSame(decodeFrame(bytes), frame);
        const positional = decodeFramePositional(bytes);
        assert.ok(isPositional(positional));
        assert.deepStrictEqual(positional.rows, frame.rows.map((row) => Object.values(row)));
      }
    }
  });

  it("a schema change in the middle of a channel, and back: each frame decodes to its own columns", () => {
    // The same names in another order (the same header length), one name more, one name renamed, then the first again.
    const schemas: Array<(index: number) => Row> = [
      (index) => ({ x: index, y: `v${index}` }),
      (index) => ({ y: `w${index}`, x: index * 2 }),
      (index) => ({ x: index, y: `v${index}`, z: index % 2 === 0 }),
      (index) => ({ x: index, q: `v${index}` }),
      (index) => ({ x: -index, y: `u${index}` }),
    ];
    const frames = [0, 0, 1, 1, 0, 2, 3, 0, 4].map((schema, seq) => dataFrame([0, 1, 2].map((index) => (schemas[schema] as (index: number) => Row)(index + seq)), seq + 1));
    for (const frame of frames) {
      const bytes = encodeFrame(frame);
      assertSame(decodeFrame(bytes), frame);
      const positional = decodeFramePositional(bytes) as PositionalDataFrame;
      assert.deepEqual(positional.columns, Object.keys(frame.rows[0] as Row));
    }
  });

  it("a receiver whose last schema is another decodes a frame it did not expect (a replay after a rollback, a restarted sender)", () => {
    const activity = generateActivity({ seed: 4, count: 3, rowsPerSecond: 10_000, startMs: 1_700_000_000_000 }) as unknown as Row[];
    const old = dataFrame(activity, 1);
    const oldBytes = encodeFrame(old).slice();
    // The sender restarts with a new schema; the receiver reads its frames, then the old frame arrives again.
    const renamed = dataFrame(activity.map((row) => ({ ...row, gt: undefined, label: row.gt }) as Row).map(({ gt: _gt, ...row }) => row), 2);
    assertSame(decodeFrame(encodeFrame(renamed)), renamed);
    assertSame(decodeFrame(oldBytes), old);
    assertSame(decodeFrame(encodeFrame(renamed)), renamed);
    assertSame(decodeFrame(oldBytes), old);
  });

  it("a frame that names the last schema but carries a wrong header is refused, never misread", () => {
    const frame = dataFrame([{ a: 1, b: "x" }, { a: 2, b: "y" }]);
    const good = encodeFrame(frame).slice();
    assertSame(decodeFrame(good), frame);
    const header = headerOf(good);
    const start = good.length - 4 - header.length;
    const names = namesBytesOf(packr, ["a", "b"]);
    // The kinds array follows the names: claim three kinds for two columns, or a kind that does not exist.
    const kindsAt = start + 1 + names.length;
    // (0x0c: past layout 2's kinds, as 0x07 is past layout 1's.)
    for (const [at, value] of [[kindsAt, 0x93], [kindsAt + 1, 0x0c], [good.length - 5, 0xc0]] as const) {
      const forged = good.slice();
      forged[at] = value;
      assert.throws(() => decodeFrame(forged), TransportError, `byte ${at} set to ${value}`);
    }
  });

  it("a dictionary of more than 65,535 strings in a frame, twice in a row (the second read by hand)", () => {
    const rows = Array.from({ length: 70_000 }, (_, index) => ({ id: `id-${index}`, n: index }));
    for (const seq of [1, 2]) assertSame(decodeFrame(encodeFrame(dataFrame(rows, seq))), dataFrame(rows, seq));
  });
});

describe("short dictionary strings read again", () => {
  it("each frame decodes to its own strings when short strings of one length, and ones sharing a table slot, follow each other", () => {
    // Every 1-3 letter string over a small alphabet, in an order that revisits each: a table keyed on too little
    // (the length, the slot) would hand back a string read before for other bytes.
    const alphabet = ["a", "b", "c", "x", "y", "z", "0", "_", " "];
    const strings: string[] = [""];
    for (const first of alphabet) {
      strings.push(first);
      for (const second of alphabet) {
        strings.push(first + second);
        for (const third of alphabet) strings.push(first + second + third);
      }
    }
    strings.push("nexus4_1", "nexus4_2", "samsungold_1", "samsungold_2", "stairsdown!!", "stairsdown!?");
    for (let round = 0; round < 3; round++) {
      for (let index = 0; index < strings.length; index++) {
        const text = strings[(index * 37 + round * 11) % strings.length] as string;
        const other = strings[(index * 53 + round) % strings.length] as string;
        const frame = dataFrame([{ a: text, b: other }, { a: other, b: text }], index + 1);
        assertSame(decodeFrame(encodeFrame(frame)), frame);
      }
    }
  });
});
