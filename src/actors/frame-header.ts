// A lean frame's header (row-columns.ts), written and read by hand instead of through msgpackr: the same msgpack bytes,
// `[names, kinds, dictionary, packed, wide]`, so the layout version stays 1 and either side may be older.
//
// At 10,000 rows a second a frame holds one to three rows, and packing and unpacking the header through msgpackr
// (arrays and strings built and walked each frame) was most of a small frame's cost. Here the column names are packed
// once per schema and copied as bytes; a decoder compares them with the bytes of the schema it read last and decodes
// them only when they differ. Kinds are one byte each, the dictionary's strings are written and read directly. A
// header in any other valid msgpack form is read by msgpackr, as before: this is a fast path, never a second format.
import type { Packr } from "msgpackr";

const FIXARRAY_5 = 0x95;
const FALSE = 0xc2;
const TRUE = 0xc3;
const EMPTY_ARRAY = 0x90;

/** The msgpack bytes of each schema's names (one array of names per schema: layouts are kept). */
const namesBytesCache = new WeakMap<readonly string[], Uint8Array>();

export function namesBytesOf(packr: Packr, names: readonly string[]): Uint8Array {
  let bytes = namesBytesCache.get(names);
  if (bytes === undefined) {
    // A copy: msgpackr's answer is a view of its own buffer, which later packs may write over.
    bytes = new Uint8Array(packr.pack(names));
    namesBytesCache.set(names, bytes);
  }
  return bytes;
}

/** Bytes a header needs at most, past the names and the packed columns. */
export function headerBound(width: number, strings: readonly string[]): number {
  let bound = 1 + 5 + width + 5 + 1 + 1;
  for (let index = 0; index < strings.length; index++) bound += 5 + 3 * (strings[index] as string).length;
  return bound;
}

/**
 * Writes the header from `at`; answers where it ends. The caller reserved headerBound() + names + packed bytes. A lone
 * surrogate becomes U+FFFD, as msgpackr writes it too.
 */
export function writeHeader(buffer: Uint8Array, at: number, names: Uint8Array, kinds: readonly number[], strings: readonly string[], packed: Uint8Array | undefined, wide: boolean): number {
  let end = at;
  buffer[end++] = FIXARRAY_5;
  buffer.set(names, end);
  end += names.length;
  end = writeArrayLength(buffer, end, kinds.length);
  for (let index = 0; index < kinds.length; index++) buffer[end++] = kinds[index] as number;
  end = writeArrayLength(buffer, end, strings.length);
  for (let index = 0; index < strings.length; index++) end = writeString(buffer, end, strings[index] as string);
  if (packed === undefined) buffer[end++] = EMPTY_ARRAY;
  else {
    buffer.set(packed, end);
    end += packed.length;
  }
  buffer[end++] = wide ? TRUE : FALSE;
  return end;
}

function writeArrayLength(buffer: Uint8Array, at: number, length: number): number {
  if (length < 16) {
    buffer[at] = 0x90 | length;
    return at + 1;
  }
  if (length < 0x10000) {
    buffer[at] = 0xdc;
    buffer[at + 1] = length >>> 8;
    buffer[at + 2] = length & 0xff;
    return at + 3;
  }
  buffer[at] = 0xdd;
  writeUint32(buffer, at + 1, length);
  return at + 5;
}

function writeUint32(buffer: Uint8Array, at: number, value: number): void {
  buffer[at] = value >>> 24;
  buffer[at + 1] = (value >>> 16) & 0xff;
  buffer[at + 2] = (value >>> 8) & 0xff;
  buffer[at + 3] = value & 0xff;
}

const encoder = new TextEncoder();

/** A msgpack str: ASCII byte by byte, anything else through TextEncoder (its length is known only after). */
function writeString(buffer: Uint8Array, at: number, value: string): number {
  const length = value.length;
  if (length < 32) {
    let ascii = true;
    for (let index = 0; index < length; index++) {
      const code = value.charCodeAt(index);
      if (code >= 0x80) {
        ascii = false;
        break;
      }
      buffer[at + 1 + index] = code;
    }
    if (ascii) {
      buffer[at] = 0xa0 | length;
      return at + 1 + length;
    }
  }
  // str32 header, then the bytes; moved back when a shorter header will do.
  const written = encoder.encodeInto(value, buffer.subarray(at + 5)).written;
  const header = written < 32 ? 1 : written < 0x100 ? 2 : written < 0x10000 ? 3 : 5;
  if (header !== 5) buffer.copyWithin(at + header, at + 5, at + 5 + written);
  if (header === 1) buffer[at] = 0xa0 | written;
  else if (header === 2) {
    buffer[at] = 0xd9;
    buffer[at + 1] = written;
  } else if (header === 3) {
    buffer[at] = 0xda;
    buffer[at + 1] = written >>> 8;
    buffer[at + 2] = written & 0xff;
  } else {
    buffer[at] = 0xdb;
    writeUint32(buffer, at + 1, written);
  }
  return at + header + written;
}

/** A header read by the fast path; undefined when it is in another msgpack form (the caller asks msgpackr). */
export interface Header {
  readonly kinds: readonly number[];
  readonly dictionary: readonly string[];
  /** The packed columns' bytes (a msgpack array), or undefined when there are none. */
  readonly packed: Uint8Array | undefined;
  readonly wide: boolean;
}

/**
 * Reads the header in `bytes` from `at` to `end`, when its names are exactly `names` (the bytes of the schema the
 * decoder read last). Undefined for any other header, which the caller then reads whole through msgpackr: a new
 * schema, another encoder's choice of msgpack forms, or bytes that are not a header at all.
 */
export function readHeader(bytes: Uint8Array, at: number, end: number, names: Uint8Array): Header | undefined {
  if (bytes[at] !== FIXARRAY_5 || end - at < names.length + 5) return undefined;
  let from = at + 1;
  for (let index = 0; index < names.length; index++) if (bytes[from + index] !== names[index]) return undefined;
  from += names.length;
  const kindCount = readArrayLength(bytes, from, end);
  if (kindCount < 0) return undefined;
  from += arrayHeaderBytes(bytes[from] as number);
  if (from + kindCount > end) return undefined;
  const kinds = new Array<number>(kindCount);
  for (let index = 0; index < kindCount; index++) {
    const kind = bytes[from++] as number;
    // Positive fixints only; anything else goes to msgpackr (and is refused there if it is no kind).
    if (kind > 0x7f) return undefined;
    kinds[index] = kind;
  }
  const stringCount = readArrayLength(bytes, from, end);
  if (stringCount < 0 || stringCount > end - from) return undefined;
  from += arrayHeaderBytes(bytes[from] as number);
  const dictionary = new Array<string>(stringCount);
  for (let index = 0; index < stringCount; index++) {
    const read = readString(bytes, from, end);
    if (read === undefined) return undefined;
    dictionary[index] = read;
    from = stringEnd;
  }
  const wideByte = bytes[end - 1];
  if (wideByte !== TRUE && wideByte !== FALSE) return undefined;
  // The packed columns fill what is left between the dictionary and the last byte.
  const packed = bytes[from] === EMPTY_ARRAY && from + 1 === end - 1 ? undefined : bytes.subarray(from, end - 1);
  if (packed !== undefined && packed.length === 0) return undefined;
  return { kinds, dictionary, packed, wide: wideByte === TRUE };
}

/** The length of the msgpack array header at `at`, or -1 when there is none. */
function readArrayLength(bytes: Uint8Array, at: number, end: number): number {
  const first = bytes[at] as number;
  if (at >= end) return -1;
  if ((first & 0xf0) === 0x90) return first & 0x0f;
  if (first === 0xdc && at + 3 <= end) return ((bytes[at + 1] as number) << 8) | (bytes[at + 2] as number);
  if (first === 0xdd && at + 5 <= end) return readUint32(bytes, at + 1);
  return -1;
}

function arrayHeaderBytes(first: number): number {
  return first === 0xdc ? 3 : first === 0xdd ? 5 : 1;
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (((bytes[at] as number) << 24) >>> 0) + (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number));
}

const decoder = new TextDecoder("utf-8", { fatal: true });
/** Where the string readString() read last ends (a second answer without an object per string). */
let stringEnd = 0;

function readString(bytes: Uint8Array, at: number, end: number): string | undefined {
  const first = bytes[at] as number;
  let length: number;
  let from: number;
  if ((first & 0xe0) === 0xa0) {
    length = first & 0x1f;
    from = at + 1;
  } else if (first === 0xd9) {
    length = bytes[at + 1] as number;
    from = at + 2;
  } else if (first === 0xda) {
    length = ((bytes[at + 1] as number) << 8) | (bytes[at + 2] as number);
    from = at + 3;
  } else if (first === 0xdb) {
    length = readUint32(bytes, at + 1);
    from = at + 5;
  } else return undefined;
  if (at >= end || from + length > end) return undefined;
  stringEnd = from + length;
  // Up to 12 characters, V8 keeps a concatenation flat (no cons string); ASCII only, the rest goes to TextDecoder.
  if (length <= 12) {
    // A channel's dictionary strings repeat from frame to frame (a device, a user, an activity): the string read last
    // time for the same bytes is returned when the table holds it. Building one by concatenation is a new string per
    // character, and every frame carries its dictionary (bench/micro/frame-allocations.ts, a 1-row frame of a windowed
    // activity row encoded and decoded: 3,043 heap bytes before the table, 2,615 with it).
    let hash = length;
    for (let index = from; index < from + length; index++) {
      const code = bytes[index] as number;
      if (code >= 0x80) return utf8(bytes, from, length);
      hash = Math.imul(hash ^ code, 0x01000193);
    }
    const slot = (hash >>> 0) & (SHORT_STRINGS - 1);
    const known = shortStrings[slot];
    if (known !== undefined && sameAscii(known, bytes, from, length)) return known;
    let text = "";
    for (let index = from; index < from + length; index++) text += String.fromCharCode(bytes[index] as number);
    shortStrings[slot] = text;
    return text;
  }
  return utf8(bytes, from, length);
}

/** Short ASCII strings read before, by a hash of their bytes (a slot keeps the last string that hashed to it). */
const SHORT_STRINGS = 256;
const shortStrings = new Array<string | undefined>(SHORT_STRINGS).fill(undefined);

function sameAscii(text: string, bytes: Uint8Array, from: number, length: number): boolean {
  if (text.length !== length) return false;
  for (let index = 0; index < length; index++) if (text.charCodeAt(index) !== bytes[from + index]) return false;
  return true;
}

/** Undefined for bytes that are not UTF-8 (msgpackr then reads the header, as it always did). */
function utf8(bytes: Uint8Array, from: number, length: number): string | undefined {
  try {
    return decoder.decode(bytes.subarray(from, from + length));
  } catch {
    // Handled: the caller falls back to msgpackr for the whole header.
    return undefined;
  }
}
