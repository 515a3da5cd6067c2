// Column bodies of layout 2 (row-columns.ts): each column a typed region that starts 8-byte aligned from the frame's
// start, written and read through typed arrays over the whole buffer instead of a DataView value by value.
//
// F64 doubles; F64_NULLS a null bitmap (bit set = null, ceil(count / 8) bytes, padded to 8) then doubles (0 where
// null); INT32 numbers that are all int32 and none -0; STRING8/16/32 dictionary codes (0 = null) of the narrowest
// width that holds the column's largest code; BIGINT int64; BOOLEAN and NULL as in layout 1. Little-endian: a
// big-endian machine writes layout 1 and refuses layout 2 (codec.ts).

import type { PositionalRow } from "../core/types.ts";

/** Layout 2 kinds (layout 1's 0-6 keep their meaning; STRING is 8-bit codes here). */
export const F64 = 0;
export const F64_NULLS = 1;
export const STRING8 = 2;
export const BIGINT64 = 3;
export const BOOLEAN8 = 4;
export const NULL_COLUMN = 5;
export const PACKED_COLUMN = 6;
export const STRING16 = 7;
export const STRING32 = 8;
export const INT32 = 9;
export const TYPED_KINDS = 10;

/** Typed arrays use the machine's byte order; layout 2 is little-endian. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Every typed view of one buffer, made once per buffer (a view costs an allocation; a frame has many columns). */
export class TypedViews {
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly b64: BigInt64Array;

  constructor(readonly buffer: ArrayBufferLike) {
    const words = buffer.byteLength >> 3;
    // Each view as long as the buffer allows, so that a region at its very end is never past a view's end.
    this.u8 = new Uint8Array(buffer);
    this.u16 = new Uint16Array(buffer, 0, buffer.byteLength >> 1);
    this.u32 = new Uint32Array(buffer, 0, buffer.byteLength >> 2);
    this.i32 = new Int32Array(buffer, 0, buffer.byteLength >> 2);
    this.f64 = new Float64Array(buffer, 0, words);
    this.b64 = new BigInt64Array(buffer, 0, words);
  }
}

export function align8(at: number): number {
  return (at + 7) & ~7;
}

/** Zeroes the padding from `at` to the next multiple of 8 and answers that offset (no stale bytes go on the wire). */
export function pad8(u8: Uint8Array, at: number): number {
  const end = align8(at);
  for (let index = at; index < end; index++) u8[index] = 0;
  return end;
}

/** Writes a column of numbers at the aligned byte offset `at`: int32 when every value is one (and none -0), else doubles. */
export function writeTypedNumbers(views: TypedViews, at: number, values: readonly unknown[], from: number, count: number): number {
  const { f64, i32 } = views;
  const base = at >> 3;
  let ints = true;
  let index = 0;
  while (index < count) {
    const value = values[from + index] as number;
    f64[base + index++] = value;
    if ((value | 0) !== value || (value === 0 && 1 / value < 0)) {
      ints = false;
      break;
    }
  }
  if (!ints) {
    // The rest without the int32 test (a column of doubles fails it at its first value).
    for (; index < count; index++) f64[base + index] = values[from + index] as number;
    writtenKind = F64;
    return at + count * 8;
  }
  // In place: int32 slot i (bytes 4i) never overtakes the doubles still to read (bytes 8j, j > i).
  const intBase = at >> 2;
  for (index = 0; index < count; index++) i32[intBase + index] = f64[base + index] as number;
  writtenKind = INT32;
  return at + count * 4;
}

/** writeTypedNumbers() for column `column` of rows by position (every value a number), read from the rows. */
export function writeTypedNumberRows(views: TypedViews, at: number, rows: readonly PositionalRow[], column: number, count: number): number {
  const { f64, i32 } = views;
  const base = at >> 3;
  let ints = true;
  let index = 0;
  while (index < count) {
    const value = (rows[index] as PositionalRow)[column] as number;
    f64[base + index++] = value;
    if ((value | 0) !== value || (value === 0 && 1 / value < 0)) {
      ints = false;
      break;
    }
  }
  if (!ints) {
    for (; index < count; index++) f64[base + index] = (rows[index] as PositionalRow)[column] as number;
    writtenKind = F64;
    return at + count * 8;
  }
  const intBase = at >> 2;
  for (index = 0; index < count; index++) i32[intBase + index] = f64[base + index] as number;
  writtenKind = INT32;
  return at + count * 4;
}

/** The kind the last writeTyped* call chose (a second answer without an object per column). */
export let writtenKind = F64;

/** A null bitmap, padded to 8 bytes, then the doubles (0 where null). */
export function writeTypedNullableNumbers(views: TypedViews, at: number, values: readonly unknown[], from: number, count: number): number {
  const { u8, f64 } = views;
  const bitmapBytes = (count + 7) >> 3;
  for (let index = 0; index < bitmapBytes; index++) u8[at + index] = 0;
  const base = align8(at + bitmapBytes) >> 3;
  for (let index = at + bitmapBytes; index < base * 8; index++) u8[index] = 0;
  for (let index = 0; index < count; index++) {
    const value = values[from + index];
    if (value === null) {
      u8[at + (index >> 3)] = (u8[at + (index >> 3)] as number) | (1 << (index & 7));
      f64[base + index] = 0;
    } else f64[base + index] = value as number;
  }
  return (base + count) * 8;
}

/** Copies longs already stored in `longs` from `from` (row-columns.ts, storeLongs): words, not bigints converted again. */
export function writeTypedBigInts(views: TypedViews, at: number, longs: BigInt64Array, from: number, count: number): number {
  views.b64.set(longs.subarray(from, from + count), at >> 3);
  return at + count * 8;
}

/** Bytes the column's region takes from its aligned start; -1 for a kind without a region (NULL, PACKED). */
export function regionBytes(kind: number, count: number): number {
  switch (kind) {
    case F64:
    case BIGINT64:
      return count * 8;
    case F64_NULLS:
      return align8((count + 7) >> 3) + count * 8;
    case INT32:
    case STRING32:
      return count * 4;
    case STRING16:
      return count * 2;
    case STRING8:
    case BOOLEAN8:
      return count;
    default:
      return -1;
  }
}

/**
 * Reads a column of layout 2 into `values` from `into` (one value a row). `base` is the frame's start in the views' buffer, `at`
 * the column's aligned offset in the frame; the caller checked that its region (regionBytes) lies inside the frame.
 */
export function readTypedColumn(kind: number, views: TypedViews, base: number, at: number, values: unknown[], into: number, count: number, dictionary: readonly string[]): void {
  const start = base + at;
  switch (kind) {
    case F64: {
      const f64 = views.f64;
      const first = start >> 3;
      for (let index = 0; index < count; index++) values[into + index] = f64[first + index];
      return;
    }
    case INT32: {
      const i32 = views.i32;
      const first = start >> 2;
      for (let index = 0; index < count; index++) values[into + index] = i32[first + index];
      return;
    }
    case F64_NULLS:
      readNullableNumbers(views, start, values, into, count);
      return;
    case STRING8:
      readCodes8(views.u8, start, values, into, count, dictionary);
      return;
    case STRING16:
      readCodes16(views.u16, start >> 1, values, into, count, dictionary);
      return;
    case STRING32:
      readCodes32(views.u32, start >> 2, values, into, count, dictionary);
      return;
    case BIGINT64: {
      const b64 = views.b64;
      const first = start >> 3;
      for (let index = 0; index < count; index++) values[into + index] = b64[first + index];
      return;
    }
    default: {
      // BOOLEAN8: a byte a row, as layout 1.
      const u8 = views.u8;
      for (let index = 0; index < count; index++) {
        const flag = u8[start + index];
        if (flag === 0 || flag === 1) values[into + index] = flag === 1;
        else if (flag === 2) values[into + index] = null;
        else throw new RangeError(`has a boolean of ${String(flag)}`);
      }
    }
  }
}

function readNullableNumbers(views: TypedViews, bitmap: number, values: unknown[], into: number, count: number): void {
  const { u8, f64 } = views;
  const bitmapBytes = (count + 7) >> 3;
  // Bits past the last row must be clear: anything else is not a frame this code wrote.
  if (count & 7 && (u8[bitmap + bitmapBytes - 1] as number) >> (count & 7) !== 0) throw new RangeError("has a null bit past the last row");
  const first = (bitmap + align8(bitmapBytes)) >> 3;
  for (let index = 0; index < count; index++) {
    values[into + index] = ((u8[bitmap + (index >> 3)] as number) >> (index & 7)) & 1 ? null : f64[first + index];
  }
}

// One loop per code width, so that each loop's typed-array loads see one kind of array.
function readCodes8(codes: Uint8Array, first: number, values: unknown[], into: number, count: number, dictionary: readonly string[]): void {
  const size = dictionary.length;
  for (let index = 0; index < count; index++) {
    const code = codes[first + index] as number;
    if (code > size) throw new RangeError(`refers to string ${code} of ${size}`);
    values[into + index] = code === 0 ? null : dictionary[code - 1];
  }
}

function readCodes16(codes: Uint16Array, first: number, values: unknown[], into: number, count: number, dictionary: readonly string[]): void {
  const size = dictionary.length;
  for (let index = 0; index < count; index++) {
    const code = codes[first + index] as number;
    if (code > size) throw new RangeError(`refers to string ${code} of ${size}`);
    values[into + index] = code === 0 ? null : dictionary[code - 1];
  }
}

function readCodes32(codes: Uint32Array, first: number, values: unknown[], into: number, count: number, dictionary: readonly string[]): void {
  const size = dictionary.length;
  for (let index = 0; index < count; index++) {
    const code = codes[first + index] as number;
    if (code > size) throw new RangeError(`refers to string ${code} of ${size}`);
    values[into + index] = code === 0 ? null : dictionary[code - 1];
  }
}
