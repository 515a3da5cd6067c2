// Frames on the wire: data frames carry their rows column by column, any frame decodes by itself, bad bytes are refused.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { Packr } from "msgpackr";
import { decodeFrame, encodeFrame, setFrameLayout } from "../../src/actors/codec.ts";
import { generateActivity } from "../../src/connectors/sources/activity.ts";
import { TransportError } from "../../src/core/errors.ts";
import { FRAME_BARRIER, FRAME_CREDIT, FRAME_DATA, FRAME_WATERMARK, type DataFrame, type Frame } from "../../src/core/frame.ts";
import type { Row } from "../../src/core/types.ts";
import { describeFrame } from "./fixtures/describe-frame.ts";

const LEAN = 0xc1;

function dataFrame(rows: Row[], fields: Partial<DataFrame> = {}): DataFrame {
  return { kind: FRAME_DATA, sender: 3, seq: 41, epoch: 7, since: 1_700_000_000_000.25, until: 1_700_000_000_001.75, rows, ...fields };
}

function roundTrip(frame: Frame): { bytes: Uint8Array; back: Frame } {
  const bytes = encodeFrame(frame);
  return { bytes, back: decodeFrame(bytes) };
}

/** Exact equality, key order included (deepEqual ignores the order of keys). */
function assertSame(actual: Frame, expected: Frame): void {
  assert.deepStrictEqual(actual, expected);
  assert.equal(describeFrame(actual), describeFrame(expected));
}

describe("frame codec", () => {
  it("carries activity rows column by column and gives back the same rows, bigints and protocol fields exact", () => {
    const rows = generateActivity({ seed: 3, count: 256, rowsPerSecond: 10_000, startMs: 1_700_000_000_000 });
    assert.ok(rows.some((row) => row.gt === null), "the frame must hold a null label");
    const frame = dataFrame(rows as unknown as Row[], { sender: 2 ** 40 + 1, seq: 2 ** 53 - 1, epoch: 123_456, since: -0.5, until: 1e300 });
    const { bytes, back } = roundTrip(frame);
    assert.equal(bytes[0], LEAN);
    assertSame(back, frame);
    // Names travel once per frame, not once per row: msgpack with field names in each row's record took about 72 bytes a row.
    assert.ok(bytes.length < rows.length * 60, `${bytes.length} bytes for ${rows.length} rows`);
  });

  it("carries narrow rows and every column kind: nullable numbers, strings, booleans, all-null, nested, binary, mixed", () => {
    const rows: Row[] = [];
    for (let index = 0; index < 300; index++) {
      rows.push({
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
        maybe: index % 9 === 0 ? undefined : "x",
      });
    }
    const frame = dataFrame(rows);
    const { bytes, back } = roundTrip(frame);
    assert.equal(bytes[0], LEAN);
    assertSame(back, frame);
    assert.ok(Object.is(((back as DataFrame).rows[1] as Row).special, -0), "-0 stays -0");
  });

  it("narrow two-column rows", () => {
    const frame = dataFrame(Array.from({ length: 256 }, (_, index) => ({ user: `u${index % 11}`, count: index * 7 })));
    const { bytes, back } = roundTrip(frame);
    assert.equal(bytes[0], LEAN);
    assertSame(back, frame);
  });

  it("uses wide string indexes when a frame holds 65,535 string cells or more, and a Map past 16 distinct values", () => {
    const rows = Array.from({ length: 70_000 }, (_, index) => ({ id: `id-${index}`, label: `l${index % 40}` }));
    const { back } = roundTrip(dataFrame(rows));
    assertSame(back, dataFrame(rows));
  });

  it("strings the encoder's hash table cannot tell apart (same length and same first, middle and last character) all keep their values", () => {
    // Long probes make the rest of the frame use a Map; the values before and after the switch must both be right.
    const rows = Array.from({ length: 600 }, (_, index) => {
      const digits = String(index % 300).padStart(3, "0");
      return { id: `A${digits}M${digits}Z`, again: `A${String((index * 7) % 300).padStart(3, "0")}M${String((index * 7) % 300).padStart(3, "0")}Z` };
    });
    const frame = dataFrame(rows);
    const { bytes, back } = roundTrip(frame);
    assert.equal(bytes[0], LEAN);
    assertSame(back, frame);
  });

  it("more distinct strings than the encoder's table holds (past 512 a frame), then repeats, in two columns that share values", () => {
    const rows = Array.from({ length: 2_000 }, (_, index) => ({ a: `s${index % 1_500}`, b: index % 2 === 0 ? `s${index % 700}` : null }));
    const { back } = roundTrip(dataFrame(rows));
    assertSame(back, dataFrame(rows));
  });

  it("a frame's strings never leak into the next frame's dictionary: equal, empty, unicode and look-alike strings across frames", () => {
    const frames = [
      dataFrame([{ s: "" }, { s: "a" }, { s: "naïve ☃ 𝄞" }, { s: ["x", "y"].join("") }, { s: "xy" }, { s: null }]),
      dataFrame([{ s: "xy" }, { s: "𝄞" }, { s: "" }, { s: "b" }]),
      dataFrame(Array.from({ length: 700 }, (_, index) => ({ s: `w${index}` }))),
      dataFrame([{ s: "w1" }, { s: "a" }, { s: "w699" }]),
    ];
    for (const frame of frames) {
      const { bytes, back } = roundTrip(frame);
      assert.equal(bytes[0], LEAN);
      assertSame(back, frame);
    }
    // Frames decoded after all were encoded: no frame depends on the encoder's state when it was written.
    const encoded = frames.map((frame) => new Uint8Array(encodeFrame(frame)));
    encoded.forEach((bytes, index) => assertSame(decodeFrame(bytes), frames[index] as Frame));
  });

  it("int64 columns keep every long exact: the extremes, negatives, NaN and infinities beside them, and a safe long among bigints", () => {
    const extremes = [-(2n ** 63n), 2n ** 63n - 1n, -(2n ** 53n) - 1n, 2n ** 53n + 1n, -123456789012345678n];
    const rows = Array.from({ length: 40 }, (_, index) => ({ long: extremes[index % extremes.length] as bigint, x: [Number.NaN, Number.POSITIVE_INFINITY, -1.5][index % 3] as number }));
    const { bytes, back } = roundTrip(dataFrame(rows));
    assert.equal(bytes[0], LEAN);
    assertSame(back, dataFrame(rows));
    assert.ok(Number.isNaN(((back as DataFrame).rows[0] as Row).x as number));
    // A bigint that is a safe integer keeps msgpack's answer for its column (a number), as before; past 64 bits msgpack refuses.
    const mixed = [...rows.slice(0, 3), { long: 5n, x: 1 }];
    assertSame(decodeFrame(encodeFrame(dataFrame(mixed))), dataFrame(mixed.map((row) => ({ ...row, long: row.long === 5n ? 5 : row.long }))));
    assert.throws(() => encodeFrame(dataFrame([{ long: 2n ** 64n }])), RangeError);
  });

  it("an int64 column holds exactly the longs past 2^53 within 64 bits: each side of both safe-integer bounds and of 64 bits", () => {
    // One odd long among longs that fit, so the column's kind is decided by that long alone (layout 2 from 4 rows, layout 1 below).
    const cases: [bigint, "int64" | "packed" | "refused"][] = [
      [2n ** 53n - 1n, "packed"],
      [2n ** 53n, "int64"],
      [-(2n ** 53n) + 1n, "packed"],
      [-(2n ** 53n), "int64"],
      [2n ** 63n - 1n, "int64"],
      [2n ** 63n, "packed"],
      [-(2n ** 63n), "int64"],
      // Below 64 bits signed msgpack refuses, as past 64 bits unsigned (above).
      [-(2n ** 63n) - 1n, "refused"],
    ];
    for (const count of [1, 16]) {
      for (const [long, kind] of cases) {
        const rows = Array.from({ length: count }, (_, index) => ({ long: index === count - 1 ? long : 2n ** 60n }));
        if (kind === "refused") {
          assert.throws(() => encodeFrame(dataFrame(rows)), RangeError);
          continue;
        }
        const back = ((decodeFrame(encodeFrame(dataFrame(rows))) as DataFrame).rows.at(-1) as Row).long;
        // A packed column goes through msgpack: a safe long comes back a number, 2^63 (a uint64) a bigint.
        const expected = kind === "packed" && long >= -(2n ** 53n) && long <= 2n ** 53n ? Number(long) : long;
        assert.equal(back, expected, `${long} in a frame of ${count}`);
      }
    }
  });

  it("rows that do not share one key set in one order travel as msgpack, unchanged", () => {
    const cases: Row[][] = [
      [{ a: 1, b: 2 }, { b: 2, a: 1 }],
      [{ a: 1, b: 2 }, { a: 1 }],
      [{ a: 1 }, { a: 1, b: 2 }],
      [{ a: 1 }, { c: 1 }],
      [{ a: null }, { a: null }],
      [{}, {}],
    ];
    for (const rows of cases) {
      const frame = dataFrame(rows);
      const { bytes, back } = roundTrip(frame);
      assert.notEqual(bytes[0], LEAN, JSON.stringify(rows));
      assertSame(back, frame);
    }
  });

  it("an empty data frame and every control frame round-trip", () => {
    const frames: Frame[] = [
      dataFrame([]),
      { kind: FRAME_BARRIER, sender: 1, seq: 9, epoch: 4, final: true },
      { kind: FRAME_WATERMARK, sender: 0, seq: 10, watermark: 1_700_000_000_000 },
      { kind: FRAME_CREDIT, receiver: 2, credits: 512 },
    ];
    for (const frame of frames) assertSame(roundTrip(frame).back, frame);
  });

  it("control frames and window structs use the code's fixed record ids: no record defined inside the message (per-frame garbage)", () => {
    // 0xd4 0x72: msgpackr's record definition (fixext 1, type "r"); before the fixed ids every message carried one.
    const definesRecord = (bytes: Uint8Array) => bytes.some((byte, at) => byte === 0xd4 && bytes[at + 1] === 0x72);
    const controls: Frame[] = [
      { kind: FRAME_WATERMARK, sender: 0, seq: 10, watermark: 1_700_000_000_000 },
      { kind: FRAME_CREDIT, receiver: 2, credits: 512 },
      { kind: FRAME_BARRIER, sender: 1, seq: 9, epoch: 4, final: false },
    ];
    for (const frame of controls) {
      const bytes = encodeFrame(frame);
      assert.equal(definesRecord(bytes), false, describeFrame(frame));
      assertSame(decodeFrame(bytes), frame);
    }
    const windows = dataFrame([0, 1, 2].map((index) => ({ window: { start: index * 1000, end: index * 1000 + 1000 }, gt: "sit", count: index })));
    const bytes = encodeFrame(windows);
    assert.equal(bytes[0], LEAN);
    assert.equal(definesRecord(bytes), false);
    assertSame(decodeFrame(bytes), windows);
  });

  it("a message that defines its own record with a fixed id (the previous encoder's) decodes, and the fixed ids stay intact after it", () => {
    const watermark: Frame = { kind: FRAME_WATERMARK, sender: 0, seq: 10, watermark: 5 };
    const credit: Frame = { kind: FRAME_CREDIT, receiver: 2, credits: 512 };
    // The previous encoder numbered its records from the first id in each message: the credit frame's keys under id 0x40.
    const old = new Packr({ useRecords: true, moreTypes: false, bundleStrings: false }).pack(credit);
    assertSame(decodeFrame(old), credit);
    assertSame(decodeFrame(encodeFrame(watermark)), watermark);
    assertSame(decodeFrame(encodeFrame(credit)), credit);
  });

  it("frames of different schemas interleaved on one process decode each to its own rows", () => {
    const a = dataFrame([{ x: 1, y: "a" }, { x: 2, y: "b" }]);
    const b = dataFrame([{ y: "c", x: 3 }]);
    const c = dataFrame([{ x: "s", y: 4 }]);
    const encoded = [a, b, c, a, b].map((frame) => encodeFrame(frame));
    assert.deepEqual(encoded.map(decodeFrame).map(describeFrame), [a, b, c, a, b].map(describeFrame));
  });

  it("a fresh receiver in a new process decodes a frame it never saw a schema for (a replay after a restart)", async () => {
    const rows = generateActivity({ seed: 9, count: 100, rowsPerSecond: 10_000, startMs: 1_700_000_000_000 }) as unknown as Row[];
    const frames = [dataFrame(rows), dataFrame(rows.map((row) => ({ gt: row.gt, count: row.Index })), { seq: 42 })];
    const child = fileURLToPath(new URL("./fixtures/decode-frame.ts", import.meta.url));
    for (const frame of frames) {
      const run = promisify(execFile)(process.execPath, ["--import", "tsx", child], { maxBuffer: 8 * 1024 * 1024 });
      run.child.stdin?.end(Buffer.from(encodeFrame(frame)).toString("base64"));
      const { stdout } = await run;
      assert.equal(stdout, describeFrame(frame));
    }
  });

  it("bytes already given away stay intact while later frames are encoded (the encoder writes after them, never over)", () => {
    const first = dataFrame(Array.from({ length: 256 }, (_, index) => ({ id: index, name: `n${index % 5}` })));
    const firstBytes = encodeFrame(first);
    const copy = new Uint8Array(firstBytes);
    for (let round = 0; round < 200; round++) encodeFrame(dataFrame(Array.from({ length: 300 }, (_, index) => ({ id: -index, name: `other${round}` }))));
    assert.deepEqual(firstBytes, copy);
    assertSame(decodeFrame(firstBytes), first);
  });

  it("a data frame in the old msgpack form still decodes", () => {
    const frame = dataFrame([{ a: 1, b: "x" }]);
    const old = new Packr({ useRecords: true, moreTypes: false, bundleStrings: false }).pack(frame);
    assertSame(decodeFrame(old), frame);
  });

  it("a lean frame written by the previous encoder (layout 1, one dictionary range per column) still decodes to the same rows", () => {
    // Bytes from encodeFrame at cfb76ba, before the shared string table: the format is unchanged, only how codes are chosen.
    const old = Buffer.from("wQEAAAAAAADwPwAAAAAAAABAAAAAAAAACEAAAAAAAAASQAAAAAAAABZABQAAAAEAAgABAAMAAAAAAQABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADwPwAAAAAAAAAAAAAAAAAAAEABAAABAAAAAAAAAAAQAQAAAAAAABACAAAAAAAAEAMAAAAAAAAQBAAAAAAAABAAAAAAAAAAAAAAAAAAAPg/AAAAAAAACEAAAAAAAAASQAAAAAAAABhABAAFAAQABQAEAJWWoXOhbqFioXSheKRzYW1llgIBBAMAApWhYaXDqeKYg6ChYaFikMIoAAAA", "base64");
    const rows = [0, 1, 2, 3, 4].map((i) => ({ s: ["a", "é☃", "a", "", null][i] ?? null, n: i % 2 ? null : i / 2, b: i % 3 === 0, t: 2n ** 60n + BigInt(i), x: i * 1.5, same: ["a", "b"][i % 2] ?? null }));
    const expected = dataFrame(rows, { sender: 1, seq: 2, epoch: 3, since: 4.5, until: 5.5 });
    assertSame(decodeFrame(new Uint8Array(old)), expected);
    // And the new encoder's frame of the same rows decodes the same (its dictionary holds "a" once for both columns).
    const { bytes, back } = roundTrip(expected);
    assertSame(back, expected);
    assert.ok(bytes.length < old.length, `${bytes.length} bytes now, ${old.length} before`);
  });

  it("refuses malformed lean frames (layout 1) with a TransportError, whatever byte is cut or changed", () => {
    const rows = Array.from({ length: 20 }, (_, index) => ({ s: `v${index % 3}`, n: index % 4 === 0 ? null : index, b: index % 2 === 0, t: 2n ** 60n }));
    // Layout 2's malformed frames: test/actors/codec-typed.test.ts.
    setFrameLayout(1);
    const bytes = encodeFrame(dataFrame(rows)).slice();
    setFrameLayout(2);
    assert.equal(bytes[0], LEAN);
    for (let length = 0; length < bytes.length; length++) {
      assert.throws(() => decodeFrame(bytes.subarray(0, length)), (error: unknown) => length === 0 || error instanceof TransportError, `cut at ${length}`);
    }
    const forged = (at: number, value: number): Uint8Array => {
      const copy = new Uint8Array(bytes);
      copy[at] = value;
      return copy;
    };
    assert.throws(() => decodeFrame(forged(1, 9)), /layout version 9/);
    const count = new DataView(bytes.buffer, bytes.byteOffset).getUint32(42, true);
    assert.equal(count, 20);
    assert.throws(() => decodeFrame(forged(42, 0xff)), TransportError, "a row count the bytes cannot hold");
    // The first string column's first index, past the dictionary.
    assert.throws(() => decodeFrame(forged(46, 0xff)), /refers to string/);
    // The nullable number column's first null flag.
    assert.throws(() => decodeFrame(forged(46 + 40, 7)), /null flag/);
  });
});
