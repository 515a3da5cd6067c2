// The rows of a data frame column by column: the column names once per frame, then each column's values packed by type.
//
// Layout after the frame's fixed fields (codec.ts): the columns in order, then a msgpack header [names, kinds,
// dictionary, packed, wide], then the header's length (uint32). NUMBER: 8-byte doubles. NUMBER_OR_NULL: a byte per row
// (1 = null), then 8-byte doubles. STRING: an index per row into the frame's string dictionary (0 = null), 2 bytes
// each, 4 when `wide`. BIGINT: 8-byte int64. BOOLEAN: a byte per row (0 false, 1 true, 2 null). NULL: nothing. PACKED
// (anything else: nested structs, arrays, binary, mixed types): the column's values as one msgpack array in `packed`.
// All little-endian. The header's msgpack is written and read by hand (frame-header.ts), msgpackr reading any other.
//
// A frame's rows must share one key set in one order (the rows of one operator do); otherwise the encoder answers
// undefined and the frame travels as plain msgpack.
import { Buffer } from "node:buffer";
import type { Packr } from "msgpackr";
import { TransportError } from "../core/errors.ts";
import type { PositionalRow, Row } from "../core/types.ts";
import { ARRAY_ROWS, ARRAY_ROWS_WIDTH, NAMED_ROWS, type ArrayRowsBuilder, type NamedRowsBuilder, type NamedRowsFactory } from "./array-rows.ts";
import { FrameDictionary } from "./frame-dictionary.ts";
import { headerBound, namesBytesOf, readHeader, writeHeader as writeHeaderBytes } from "./frame-header.ts";
import { GATHER_ROWS_WIDTH, GATHER_SLOTS, NAMED_GATHERS, SCATTER_SLOTS, type GatherColumn, type GatherRows, type GatherRowsFactory, type ScatterColumn } from "./column-slots.ts";
import { align8, NULL_COLUMN, pad8, PACKED_COLUMN, readTypedColumn, regionBytes, STRING16, STRING32, STRING8, TYPED_KINDS, TypedViews, writeTypedBigInts, writeTypedNullableNumbers, writeTypedNumberRows, writeTypedNumbers, writtenKind } from "./typed-columns.ts";

const NUMBER = 0;
const NUMBER_OR_NULL = 1;
const STRING = 2;
const BIGINT = 3;
const BOOLEAN = 4;
const NULL = 5;
const PACKED = 6;
const KINDS = 7;


/** One key set in one order, with its own copies of the column loops (column-slots.ts) and a row to clone. */
interface Layout {
  readonly names: readonly string[];
  readonly gathers: readonly GatherColumn[];
  readonly scatters: readonly ScatterColumn[];
  readonly template: Row;
  /** A row by position of this width, all null, to copy (a packed array: copies of it are, too). */
  readonly nulls: PositionalRow;
  /** This schema's own builder of decoded rows (array-rows.ts), or undefined: rows cloned first, then column by column. */
  readonly build: NamedRowsBuilder | undefined;
  /** This schema's own row-by-row gather for encoding (column-slots.ts), or undefined: a key-set pass, then column by column. */
  readonly gatherRows: GatherRows | undefined;
}

const layouts = new Map<string, Layout>();
/** Schemas remembered; past this (rows with ever new keys, or forged frames), a layout is made for the frame alone. */
const MAX_LAYOUTS = 1024;
let slotsTaken = 0;
/** Named-row factories taken so far, by width (array-rows.ts, NAMED_ROWS). */
const buildersTaken: number[] = new Array<number>(ARRAY_ROWS_WIDTH + 1).fill(0);
/** Past the pool, columns share these loops: slower (V8's caches there see many names), never wrong. */
const SHARED_GATHER: GatherColumn = (rows, name, values, at) => {
  let seen = 0;
  for (let index = 0; index < rows.length; index++) {
    const value = (rows[index] as Row)[name];
    values[at + index] = value;
    seen |= seenOf(value);
  }
  return seen;
};
const SHARED_SCATTER: ScatterColumn = (rows, name, values, at) => {
  for (let index = 0; index < rows.length; index++) (rows[index] as Row)[name] = values[at + index];
};

function layoutOf(names: readonly string[]): Layout {
  // JSON, not a join on a separator: a name may hold any character ('a\u0000b' is one column, not 'a' and 'b').
  const key = JSON.stringify(names);
  let layout = layouts.get(key);
  if (layout === undefined) {
    const kept = layouts.size < MAX_LAYOUTS;
    const own = kept && slotsTaken + names.length <= GATHER_SLOTS.length;
    const first = slotsTaken;
    if (own) slotsTaken += names.length;
    const template: Row = {};
    for (const name of names) {
      // A field that held a double and then null takes any value without changing the rows' shape.
      template[name] = 0.5;
      template[name] = null;
    }
    // The keys of an object are internalized strings: V8's caches match them by identity (names from msgpack are not).
    // In the frame's order, not Object.keys' order: an object lists integer-like keys ('0', '1') first, and a frame of
    // rows by position names its columns in the schema's order (['b', '1', '0']), which its values follow.
    const internalized = new Map(Object.keys(template).map((key) => [key, key]));
    const keys = names.map((name) => internalized.get(name) as string);
    layout = {
      names: keys,
      gathers: names.map((_name, column) => (own ? (GATHER_SLOTS[first + column] as GatherColumn) : SHARED_GATHER)),
      scatters: names.map((_name, column) => (own ? (SCATTER_SLOTS[first + column] as ScatterColumn) : SHARED_SCATTER)),
      template,
      nulls: names.map(() => null),
      build: kept ? namedBuilder(keys) : undefined,
      gatherRows: kept ? namedGather(keys) : undefined,
    };
    if (kept) layouts.set(key, layout);
  }
  return layout;
}

/** A builder of named rows that this schema owns (array-rows.ts), while its width's pool lasts. */
function namedBuilder(keys: readonly string[]): NamedRowsBuilder | undefined {
  const width = keys.length;
  if (width === 0 || width > ARRAY_ROWS_WIDTH) return undefined;
  const factories = NAMED_ROWS[width] as readonly NamedRowsFactory[];
  const taken = buildersTaken[width] as number;
  if (taken >= factories.length) return undefined;
  buildersTaken[width] = taken + 1;
  return (factories[taken] as NamedRowsFactory)(keys);
}

/** Named-row gathers taken so far, by width (column-slots.ts, NAMED_GATHERS). */
const gathersTaken: number[] = new Array<number>(GATHER_ROWS_WIDTH + 1).fill(0);

/** A row-by-row gather that this schema owns (column-slots.ts), while its width's pool lasts. */
function namedGather(keys: readonly string[]): GatherRows | undefined {
  const width = keys.length;
  if (width === 0 || width > GATHER_ROWS_WIDTH) return undefined;
  const factories = NAMED_GATHERS[width] as readonly GatherRowsFactory[];
  const taken = gathersTaken[width] as number;
  if (taken >= factories.length) return undefined;
  gathersTaken[width] = taken + 1;
  return (factories[taken] as GatherRowsFactory)(keys);
}

let lastRead: Layout | undefined;
/** The msgpack bytes of lastRead's names, as an encoder writes them. */
let lastReadNames: Uint8Array = new Uint8Array(0);

interface ReadHeader {
  readonly layout: Layout;
  readonly kinds: readonly unknown[];
  readonly dictionary: readonly string[];
  readonly packed: readonly unknown[];
  readonly wide: boolean;
}

/** The header from `start` to the length field: by hand when its names are the last schema's, else through msgpackr. */
function readFrameHeader(packr: Packr, bytes: Uint8Array, start: number): ReadHeader {
  const end = bytes.length - 4;
  if (lastRead !== undefined) {
    const fast = readHeader(bytes, start, end, lastReadNames);
    if (fast !== undefined) {
      const packed: unknown = fast.packed === undefined ? EMPTY : packr.unpack(fast.packed);
      if (!Array.isArray(packed)) throw malformed("its packed columns are not an array");
      if (fast.kinds.length !== lastRead.names.length) throw malformed(`it has ${fast.kinds.length} kinds for ${lastRead.names.length} columns`);
      return { layout: lastRead, kinds: fast.kinds, dictionary: fast.dictionary, packed, wide: fast.wide };
    }
  }
  const header: unknown = packr.unpack(bytes.subarray(start, end));
  if (!Array.isArray(header) || header.length !== 5) throw malformed("its header is not [names, kinds, dictionary, packed, wide]");
  const [names, kinds, dictionary, packed, wide] = header as [unknown, unknown, unknown, unknown, unknown];
  if (!isStrings(names) || !Array.isArray(kinds) || kinds.length !== names.length || !isStrings(dictionary) || !Array.isArray(packed) || typeof wide !== "boolean") {
    throw malformed("its header's names, kinds, dictionary or packed columns have the wrong types");
  }
  const layout = layoutOfNames(names);
  lastReadNames = namesBytesOf(packr, layout.names);
  return { layout, kinds, dictionary, packed, wide };
}

const EMPTY: readonly unknown[] = [];

/** No name twice and no '__proto__', as a decoder requires. */
function allowedNames(names: readonly string[]): boolean {
  return !names.includes("__proto__") && new Set(names).size === names.length;
}

/** The layout of a frame's column names; the last one is kept, as a channel's frames mostly share it. */
function layoutOfNames(names: readonly string[]): Layout {
  const last = lastRead;
  if (last !== undefined && last.names.length === names.length && last.names.every((name, index) => name === names[index])) return last;
  const seen = new Set<string>();
  for (const name of names) {
    if (name === "__proto__" || seen.has(name)) throw malformed(`its column '${name}' is not allowed or appears twice`);
    seen.add(name);
  }
  lastRead = layoutOf(names);
  return lastRead;
}

/** Reusable scratch space for encoding: grows to the largest frame seen and is never given away. */
export class ColumnWriter {
  private buffer = new Uint8Array(BUFFER_BYTES);
  private view = new DataView(this.buffer.buffer);
  /** Typed views of `buffer`, for layout 2. */
  private views = new TypedViews(this.buffer.buffer);
  /** Layout 2's string codes when a column's codes pass 255 (typed-columns.ts). */
  private codes = new Uint32Array(256);
  /** The layout version to write: 2 (typed columns) unless the codec asks for 1 (codec.ts, setFrameLayout). */
  version: 1 | 2 = 2;
  /** Where the frame being written starts, and where writing is. Frames given away are never written over. */
  private start = 0;
  private length = 0;
  /** The frame's values, column-major: a new array each frame (see readAll on V8's write barrier). */
  private values: unknown[] = [];
  private readonly dictionary = new FrameDictionary();
  private layout: Layout = layoutOf([]);
  /** The last column names encodeArrays() found allowed (a decoder refuses '__proto__' and repeated names). */
  private checkedNames: readonly string[] | undefined;

  /** The names of the last frame written and their msgpack bytes (a WeakMap look-up is a tenth of a small frame). */
  private lastNames: readonly string[] | undefined;
  private lastNamesBytes: Uint8Array = new Uint8Array(0);

  constructor(private readonly packr: Packr) {}

  /** The frame's fixed part, then the rows; undefined when the rows do not share one key set (the caller falls back). */
  encode(prefix: (view: DataView, at: number) => number, rows: readonly Row[]): Uint8Array | undefined {
    const count = rows.length;
    const layout = count > 0 ? this.layoutOfRow(rows[0] as Row) : layoutOf([]);
    if (layout === undefined) return undefined;
    const kinds: number[] = new Array<number>(layout.names.length);
    if (!this.gather(rows, layout, kinds)) return undefined;
    this.source = undefined;
    return this.write(prefix, layout.names, kinds, count);
  }

  /**
   * The same bytes from rows by position: each row an array of `names.length` values in the order of `names`. No key
   * set to prove and no names to look up: one indexed load a value. Undefined when a row is not an array of that
   * length, or when no column has a body (the caller falls back).
   */
  encodeArrays(prefix: (view: DataView, at: number) => number, names: readonly string[], rows: readonly PositionalRow[]): Uint8Array | undefined {
    if (names !== this.checkedNames) {
      if (!allowedNames(names)) return undefined;
      this.checkedNames = names;
    }
    const count = rows.length;
    const width = names.length;
    for (let index = 0; index < count; index++) {
      const row = rows[index];
      if (!Array.isArray(row) || row.length !== width) return undefined;
    }
    const values = new Array<unknown>(count * width);
    this.values = values;
    const kinds: number[] = new Array<number>(width);
    // In layout 2, a column of numbers or of strings is written straight from the rows (writeTyped): its values are
    // not copied into `values` first (a store a value, a quarter of the copy's cost). Other columns are copied.
    const direct = this.version === 2 && count >= TYPED_MIN_ROWS;
    for (let column = 0; column < width; column++) {
      const seen = seenArrays(rows, column);
      kinds[column] = seen;
      if (!direct || !(seen === SEEN_NUMBER || seen === SEEN_STRING || seen === (SEEN_STRING | SEEN_NULL))) gatherArrays(rows, column, values, column * count);
    }
    this.source = direct ? rows : undefined;
    return this.write(prefix, names, kinds, count);
  }

  /** The rows by position of the frame being written when writeTyped reads number and string columns from them. */
  private source: readonly PositionalRow[] | undefined;

  /** Writes the fixed part, the columns of `this.values` (column-major, `count` a column) and the header. */
  private write(prefix: (view: DataView, at: number) => number, names: readonly string[], kinds: number[], count: number): Uint8Array | undefined {
    const width = names.length;
    const values = this.values;
    const packed: unknown[][] = [];
    let stringColumns = 0;
    let sized = false;
    for (let column = 0; column < width; column++) {
      const kind = kindOfSeen(kinds[column] as number, values, column * count, count);
      kinds[column] = kind;
      if (kind === STRING) stringColumns++;
      if (kind === PACKED) packed.push(values.slice(column * count, column * count + count));
      if (kind !== NULL) sized = true;
    }
    // Every row must cost a byte at least, so that a decoder can bound the rows a frame claims by its length.
    if (!sized) return undefined;
    if (this.version === 2 && count >= TYPED_MIN_ROWS) return this.writeTyped(prefix, names, kinds, packed, count);
    const wide = stringColumns * count >= 0xffff;
    this.dictionary.begin();
    this.start = this.length;
    this.reserve(64 + count * width * 9);
    this.length = prefix(this.view, this.length);
    for (let column = 0; column < width; column++) {
      const start = column * count;
      switch (kinds[column]) {
        case NUMBER:
          this.length = writeNumbers(this.view, this.length, values, start, count);
          break;
        case NUMBER_OR_NULL:
          this.length = writeNullableNumbers(this.view, this.buffer, this.length, values, start, count);
          break;
        case STRING:
          this.length = this.writeStrings(this.length, start, count, wide);
          break;
        case BIGINT:
          this.length = writeBigInts(this.buffer, this.view, this.length, values, start, count);
          break;
        case BOOLEAN:
          this.length = writeBooleans(this.buffer, this.length, values, start, count);
          break;
        default:
          // NULL has no body; PACKED travels in the header.
          break;
      }
    }
    // The header goes last, followed by its length: the dictionary is known only once the strings are written.
    this.length = this.writeHeader(names, kinds, packed, wide);
    // A view, not a copy: the next frame starts after this one, and a full buffer is replaced, never reused.
    return this.buffer.subarray(this.start, this.length);
  }

  /** Layout 2: the frame starts 8-byte aligned in the buffer, and so does each column's region (typed-columns.ts). */
  private writeTyped(prefix: (view: DataView, at: number) => number, names: readonly string[], kinds: number[], packed: unknown[][], count: number): Uint8Array {
    const width = names.length;
    const values = this.values;
    const source = this.source;
    this.dictionary.begin();
    this.length = align8(this.length);
    this.start = this.length;
    this.reserve(64 + count * width * 9 + width * 8);
    const views = this.views;
    let at = pad8(this.buffer, prefix(this.view, this.length));
    // The fixed part names layout 1 (codec.ts); this frame is layout 2.
    this.buffer[this.start + 1] = 2;
    for (let column = 0; column < width; column++) {
      const start = column * count;
      const kind = kinds[column] as number;
      if (kind === NULL || kind === PACKED) continue;
      at = pad8(this.buffer, at);
      switch (kind) {
        case NUMBER:
          at = source === undefined ? writeTypedNumbers(views, at, values, start, count) : writeTypedNumberRows(views, at, source, column, count);
          kinds[column] = writtenKind;
          break;
        case NUMBER_OR_NULL:
          at = writeTypedNullableNumbers(views, at, values, start, count);
          break;
        case STRING:
          at = source === undefined ? this.writeCodes(at, start, count) : this.writeCodeRows(at, source, column, start, count);
          kinds[column] = this.stringKind;
          break;
        case BIGINT:
          at = writeTypedBigInts(views, at, storedLongs, start, count);
          break;
        default:
          at = writeBooleans(this.buffer, at, values, start, count);
          break;
      }
    }
    this.length = at;
    this.length = this.writeHeader(names, kinds, packed, false);
    return this.buffer.subarray(this.start, this.length);
  }

  /** The kind writeCodes() chose for its column. */
  private stringKind = STRING8;

  /** Strings as codes of one byte, or of 2 or 4 when the column's codes pass 255 (0 is null). */
  private writeCodes(at: number, from: number, count: number): number {
    const { values, dictionary, buffer } = this;
    for (let index = 0; index < count; index++) {
      const value = values[from + index];
      const code = value === null ? 0 : dictionary.codeOf(value as string);
      if (code > 0xff) return this.writeWideCodes(at, from, count);
      buffer[at + index] = code;
    }
    this.stringKind = STRING8;
    return at + count;
  }

  /** writeCodes() for column `column` of rows by position; past 255 codes, the column is copied and writeWideCodes() writes it. */
  private writeCodeRows(at: number, rows: readonly PositionalRow[], column: number, from: number, count: number): number {
    const { dictionary, buffer } = this;
    for (let index = 0; index < count; index++) {
      const value = (rows[index] as PositionalRow)[column];
      const code = value === null ? 0 : dictionary.codeOf(value as string);
      if (code > 0xff) {
        gatherArrays(rows, column, this.values, from);
        return this.writeWideCodes(at, from, count);
      }
      buffer[at + index] = code;
    }
    this.stringKind = STRING8;
    return at + count;
  }

  private writeWideCodes(at: number, from: number, count: number): number {
    const { values, dictionary } = this;
    if (this.codes.length < count) this.codes = new Uint32Array(count);
    const codes = this.codes;
    let largest = 0;
    // The strings before the first wide code are in the dictionary already: the same codes again.
    for (let index = 0; index < count; index++) {
      const value = values[from + index];
      const code = value === null ? 0 : dictionary.codeOf(value as string);
      codes[index] = code;
      if (code > largest) largest = code;
    }
    if (largest <= 0xffff) {
      const u16 = this.views.u16;
      for (let index = 0; index < count; index++) u16[(at >> 1) + index] = codes[index] as number;
      this.stringKind = STRING16;
      return at + count * 2;
    }
    this.views.u32.set(codes.subarray(0, count), at >> 2);
    this.stringKind = STRING32;
    return at + count * 4;
  }

  /** The layout of the first row's keys, reusing the last frame's when they are the same. */
  private layoutOfRow(first: Row): Layout | undefined {
    if (typeof first !== "object" || first === null || Array.isArray(first)) return undefined;
    const last = this.layout.names;
    let index = 0;
    let same = true;
    for (const key in first) {
      if (key === "__proto__") return undefined;
      if (key !== last[index]) same = false;
      index++;
    }
    if (same && index === last.length) return this.layout;
    const names: string[] = [];
    for (const key in first) names.push(key);
    this.layout = layoutOf(names);
    return this.layout;
  }

  /**
   * Copies the rows' values column-major into `values` and the kinds of value each column holds (SEEN_* masks) into
   * `seen`; false when a row's keys differ from the layout's.
   */
  private gather(rows: readonly Row[], layout: Layout, seen: number[]): boolean {
    const count = rows.length;
    const names = layout.names;
    const width = names.length;
    const values = new Array<unknown>(count * width);
    this.values = values;
    if (layout.gatherRows !== undefined) return layout.gatherRows(rows, values, seen);
    for (let index = 0; index < count; index++) if (!sameKeys(rows[index] as Row, names)) return false;
    for (let column = 0; column < width; column++) seen[column] = (layout.gathers[column] as GatherColumn)(rows, names[column] as string, values, column * count);
    return true;
  }

  /** Writes the header (frame-header.ts) and its length; answers where they end. */
  private writeHeader(names: readonly string[], kinds: readonly number[], packed: unknown[][], wide: boolean): number {
    const strings = this.dictionary.strings;
    // The names first: a pack answers a view of msgpackr's buffer, which the next pack reuses.
    if (names !== this.lastNames) {
      this.lastNames = names;
      this.lastNamesBytes = namesBytesOf(this.packr, names);
    }
    const namesBytes = this.lastNamesBytes;
    const packedBytes = packed.length === 0 ? undefined : this.packr.pack(packed);
    this.reserve(headerBound(names.length, strings) + namesBytes.length + (packedBytes?.length ?? 0) + 4);
    // After reserve(), which may move the frame to a new buffer.
    const end = writeHeaderBytes(this.buffer, this.length, namesBytes, kinds, strings, packedBytes, wide);
    this.view.setUint32(end, end - this.length, true);
    return end + 4;
  }

  /** Strings become codes in the frame's dictionary (0 is null). */
  private writeStrings(start: number, from: number, count: number, wide: boolean): number {
    const { values, dictionary, view } = this;
    let at = start;
    for (let index = from; index < from + count; index++) {
      const value = values[index];
      const code = value === null ? 0 : dictionary.codeOf(value as string);
      if (wide) {
        view.setUint32(at, code, true);
        at += 4;
      } else {
        view.setUint16(at, code, true);
        at += 2;
      }
    }
    return at;
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const written = this.length - this.start;
    const fresh = uninitialized(Math.max(BUFFER_BYTES, (written + bytes) * 2));
    fresh.set(this.buffer.subarray(this.start, this.length));
    this.buffer = fresh;
    this.view = new DataView(fresh.buffer);
    this.views = new TypedViews(fresh.buffer);
    this.start = 0;
    this.length = written;
  }
}

/**
 * Frames of fewer rows are written in layout 1 even when layout 2 is asked for: with one to three rows there is no
 * column loop for typed arrays to speed up, and the padding and views cost about 10% of a 1-row frame (README, "Typed
 * columns").
 */
const TYPED_MIN_ROWS = 4;

/**
 * The encoder's buffer: frames are written one after another into it until it is full, then into a new one (a frame
 * larger than this gets a buffer of twice its size). Small enough to fill, and be dropped, between two scavenges at a
 * few MB/s: a buffer that lives through two is promoted, and dead ones then stay resident until the next mark-compact
 * (ARCHITECTURE.md, "Off-heap buffers written forward are small").
 * A 256-row activity frame (14.7 KB) fits; 32 KB buffers still lived through two scavenges in the demo.
 */
const BUFFER_BYTES = 16 * 1024;

/**
 * A buffer that is not zeroed first (zeroing a 256 KB buffer was 2% of encoding a 256-row frame): every byte of a frame is
 * written before the frame is handed out, padding included (typed-columns.ts, pad8).
 */
function uninitialized(bytes: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer, 0, bytes);
}

function writeNumbers(view: DataView, start: number, values: readonly unknown[], from: number, count: number): number {
  let at = start;
  for (let index = from; index < from + count; index++, at += 8) view.setFloat64(at, values[index] as number, true);
  return at;
}

function writeNullableNumbers(view: DataView, buffer: Uint8Array, start: number, values: readonly unknown[], from: number, count: number): number {
  let flags = start;
  let at = start + count;
  for (let index = from; index < from + count; index++, at += 8, flags++) {
    const value = values[index];
    buffer[flags] = value === null ? 1 : 0;
    view.setFloat64(at, value === null ? 0 : (value as number), true);
  }
  return at;
}

/**
 * int64 through an aligned BigInt64Array, copied into the frame: V8 stores a bigint into a BigInt64Array several times
 * faster than DataView.setBigInt64 (and the frame's columns are not 8-byte aligned). Little-endian, as the machine.
 */
function writeBigInts(buffer: Uint8Array, view: DataView, start: number, values: readonly unknown[], from: number, count: number): number {
  // A few longs go straight through the DataView: two typed-array views would cost more than they save.
  if (!LITTLE_ENDIAN || count < FEW_LONGS) {
    for (let index = 0; index < count; index++) view.setBigInt64(start + index * 8, values[from + index] as bigint, true);
    return start + count * 8;
  }
  // storeLongs() stored them when their column's kind was chosen.
  buffer.set(new Uint8Array(storedLongs.buffer, from * 8, count * 8), start);
  return start + count * 8;
}

let longs = new BigInt64Array(256);
/** Typed arrays use the machine's byte order; the frame's is little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The encoder's longs, stored by storeLongs() at their place in the frame's values (column-major) when their column's
 * kind is chosen, so that writing the column copies 8-byte words instead of converting each bigint again.
 */
let storedLongs = new BigInt64Array(256);
/** The same words as int32 halves, to read a stored long's high word. */
let storedWords = new Int32Array(storedLongs.buffer);
/** The index of a long's high half in storedWords (typed arrays use the machine's byte order). */
const HIGH = LITTLE_ENDIAN ? 1 : 0;
const SAFE_HIGH = 0x200000;

/**
 * Stores `values[start, start + count)` into storedLongs at `start`; true when every one fits in 64 bits and is not a
 * safe integer (past 2^53 either way), the longs an int64 column holds. One `BigInt.asIntN` a long (is it the long it
 * stores?) and integer tests on its stored high word, where two bigint comparisons (builtin calls) were 87
 * instructions a long.
 */
function storeLongs(values: readonly unknown[], start: number, count: number): boolean {
  if (storedLongs.length < start + count) {
    const grown = new BigInt64Array(Math.max(start + count, storedLongs.length * 2));
    grown.set(storedLongs.subarray(0, start));
    storedLongs = grown;
    storedWords = new Int32Array(grown.buffer);
  }
  const stored = storedLongs;
  const words = storedWords;
  for (let index = start; index < start + count; index++) {
    const value = values[index] as bigint;
    if (BigInt.asIntN(64, value) !== value) return false;
    stored[index] = value;
    // Safe: -(2^53 - 1) <= value <= 2^53 - 1, that is high word in (-2^21, 2^21), or -2^21 with a low word that is not 0.
    const high = words[index * 2 + HIGH] as number;
    if (high < SAFE_HIGH && (high > -SAFE_HIGH || (high === -SAFE_HIGH && words[index * 2 + 1 - HIGH] !== 0))) return false;
  }
  return true;
}

/** Below this many longs in a column, DataView (see writeBigInts). */
const FEW_LONGS = 8;

/** A reused BigInt64Array of at least `count` longs. */
function longScratch(count: number): BigInt64Array {
  if (longs.length < count) longs = new BigInt64Array(Math.max(count, longs.length * 2));
  return longs;
}

function writeBooleans(buffer: Uint8Array, start: number, values: readonly unknown[], from: number, count: number): number {
  let at = start;
  for (let index = from; index < from + count; index++, at++) {
    const value = values[index];
    buffer[at] = value === null ? 2 : value === true ? 1 : 0;
  }
  return at;
}

/** The row has exactly these keys in this order (for-in: own and inherited enumerable keys, as msgpack writes them). */
function sameKeys(row: Row, names: readonly string[]): boolean {
  if (typeof row !== "object" || row === null) return false;
  let column = 0;
  for (const key in row) {
    if (key !== names[column]) return false;
    column++;
  }
  return column === names.length;
}

/** A value's kind as one bit, as the gather loops (column-slots.ts) compute it. */
function seenOf(value: unknown): number {
  return typeof value === "number" ? SEEN_NUMBER : typeof value === "string" ? SEEN_STRING : value === null ? SEEN_NULL : typeof value === "bigint" ? SEEN_BIGINT : typeof value === "boolean" ? SEEN_BOOLEAN : SEEN_OTHER;
}

/** The kinds of value column `column` of rows by position holds (SEEN_* bits). */
function seenArrays(rows: readonly PositionalRow[], column: number): number {
  let seen = 0;
  for (let index = 0; index < rows.length; index++) {
    const value = (rows[index] as PositionalRow)[column];
    seen |= typeof value === "number" ? SEEN_NUMBER : typeof value === "string" ? SEEN_STRING : value === null ? SEEN_NULL : typeof value === "bigint" ? SEEN_BIGINT : typeof value === "boolean" ? SEEN_BOOLEAN : SEEN_OTHER;
  }
  return seen;
}

/** Copies column `column` of rows by position into `values` from `at`; answers the kinds it saw (SEEN_* bits). */
function gatherArrays(rows: readonly PositionalRow[], column: number, values: unknown[], at: number): number {
  let seen = 0;
  for (let index = 0; index < rows.length; index++) {
    const value = (rows[index] as PositionalRow)[column];
    values[at + index] = value;
    seen |= typeof value === "number" ? SEEN_NUMBER : typeof value === "string" ? SEEN_STRING : value === null ? SEEN_NULL : typeof value === "bigint" ? SEEN_BIGINT : typeof value === "boolean" ? SEEN_BOOLEAN : SEEN_OTHER;
  }
  return seen;
}

const SEEN_NUMBER = 1;
const SEEN_STRING = 2;
const SEEN_NULL = 4;
const SEEN_BIGINT = 8;
const SEEN_BOOLEAN = 16;
const SEEN_OTHER = 32;

/** The narrowest kind that holds every value of the column exactly, from the kinds its values have (`seen`). */
function kindOfSeen(seen: number, values: readonly unknown[], start: number, count: number): number {
  switch (seen) {
    case SEEN_NUMBER:
      return NUMBER;
    case SEEN_NUMBER | SEEN_NULL:
      return NUMBER_OR_NULL;
    case SEEN_STRING:
    case SEEN_STRING | SEEN_NULL:
      return STRING;
    case SEEN_BOOLEAN:
    case SEEN_BOOLEAN | SEEN_NULL:
      return BOOLEAN;
    case SEEN_NULL:
    case 0:
      return NULL;
    case SEEN_BIGINT:
      // Only longs past 2^53 and within 64 bits: beyond 64 bits msgpack decides (as before), and a safe-integer bigint
      // keeps msgpack's answer (a number).
      return storeLongs(values, start, count) ? BIGINT : PACKED;
    default:
      return PACKED;
  }
}

/** Reads the rows that ColumnWriter wrote, from `offset` in `bytes`; throws TransportError on anything malformed. */
export function readColumns(packr: Packr, bytes: Uint8Array, view: DataView, offset: number, count: number, version: number): Row[] {
  return guarded(() => readAll(packr, bytes, view, offset, count, false, version).rows as Row[]);
}

/**
 * The same frame's rows by position: arrays in the order of `names` (the same array for every frame of one schema,
 * so a receiver may compare it by identity). No template clone and no keyed store: a copy of an all-null array, then
 * one indexed store a value.
 */
export function readColumnArrays(packr: Packr, bytes: Uint8Array, view: DataView, offset: number, count: number, version: number): { names: readonly string[]; rows: PositionalRow[] } {
  return guarded(() => readAll(packr, bytes, view, offset, count, true, version) as { names: readonly string[]; rows: PositionalRow[] });
}

function guarded<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    // A DataView read past the end, or msgpack that does not decode: the frame is malformed, as any other fault.
    if (error instanceof TransportError) throw error;
    throw malformed(error instanceof Error ? error.message : String(error), error);
  }
}

function readAll(packr: Packr, bytes: Uint8Array, view: DataView, offset: number, count: number, positional: boolean, version: number): { names: readonly string[]; rows: Row[] | PositionalRow[] } {
  if (count > bytes.length) throw malformed(`it claims ${count} rows in ${bytes.length} bytes`);
  if (bytes.length < offset + 4) throw malformed("it has no header");
  const headerLength = view.getUint32(bytes.length - 4, true);
  const bodyEnd = bytes.length - 4 - headerLength;
  if (bodyEnd < offset) throw malformed("its header runs past its start");
  const { layout, kinds, dictionary, packed, wide } = readFrameHeader(packr, bytes, bodyEnd);
  const names = layout.names;
  if (version === 2) return readAllTyped(bytes, offset, bodyEnd, count, positional, layout, kinds, dictionary, packed);
  const width = names.length;
  // As in readAllTyped: rows made in one piece from all columns' values (column-major) where a builder is there.
  const build = positional ? undefined : layout.build;
  const literal = positional ? width <= ARRAY_ROWS_WIDTH : build !== undefined;
  const rows = literal ? new Array<PositionalRow>(count) : positional ? arrayRows(layout.nulls, count) : namedRows(layout.template, count);
  // A new array each frame, not one kept from frame to frame: a long-lived array lives in V8's old generation, and
  // storing a young value (a new number, bigint or row) there takes the write barrier's slow path, a remembered-set
  // entry per store (under callgrind, 40% of decoding). A young array's barrier is a check.
  const values: unknown[] = new Array<unknown>(literal ? count * width : count);
  let at = offset;
  let packedIndex = 0;
  for (let column = 0; column < width; column++) {
    const kind = kinds[column] as unknown;
    if (typeof kind !== "number" || !Number.isInteger(kind) || kind < 0 || kind >= KINDS) throw malformed(`its column kind ${String(kind)} is unknown`);
    const name = layout.names[column] as string;
    const into = literal ? column * count : 0;
    if (kind === NULL) {
      if (literal) for (let index = 0; index < count; index++) values[into + index] = null;
      continue;
    }
    let columnValues = values;
    if (kind === PACKED) {
      const packedValues: unknown = packed[packedIndex++];
      if (!Array.isArray(packedValues) || packedValues.length !== count) throw malformed(`its packed column '${name}' does not have ${count} values`);
      columnValues = packedValues;
      if (literal) for (let index = 0; index < count; index++) values[into + index] = packedValues[index];
    } else {
      at = readColumn(kind, name, values, into, bytes, view, at, count, dictionary, wide);
    }
    if (literal) continue;
    if (positional) scatterArrays(rows as PositionalRow[], column, columnValues);
    else (layout.scatters[column] as ScatterColumn)(rows as Row[], name, columnValues, 0);
  }
  if (at !== bodyEnd || packedIndex !== packed.length) throw malformed(`its columns end at byte ${at}, its header starts at ${bodyEnd}`);
  if (build !== undefined) build(values, count, rows as Row[]);
  else if (literal) (ARRAY_ROWS[width] as ArrayRowsBuilder)(values, count, rows as PositionalRow[]);
  return { names: layout.names, rows };
}

/** Layout 2's columns: typed views over the frame (typed-columns.ts), or over a copy when it is not 8-byte aligned. */
function readAllTyped(bytes: Uint8Array, offset: number, bodyEnd: number, count: number, positional: boolean, layout: Layout, kinds: readonly unknown[], dictionary: readonly string[], packed: readonly unknown[]): { names: readonly string[]; rows: Row[] | PositionalRow[] } {
  const names = layout.names;
  const width = names.length;
  const base = typedViewsOf(bytes, bodyEnd);
  const views = currentViews;
  // Rows by position of a width that has a literal (array-rows.ts) are made after every column is read, each in one
  // piece from `values`, which then holds all columns (column-major); otherwise rows first, one column at a time after.
  const build = positional ? undefined : layout.build;
  const literal = positional ? width <= ARRAY_ROWS_WIDTH : build !== undefined;
  const rows = literal ? new Array<PositionalRow>(count) : positional ? arrayRows(layout.nulls, count) : namedRows(layout.template, count);
  const values: unknown[] = new Array<unknown>(literal ? count * width : count);
  let at = align8(offset);
  let packedIndex = 0;
  for (let column = 0; column < width; column++) {
    const kind = kinds[column] as unknown;
    if (typeof kind !== "number" || !Number.isInteger(kind) || kind < 0 || kind >= TYPED_KINDS) throw malformed(`its column kind ${String(kind)} is unknown`);
    const name = names[column] as string;
    const into = literal ? column * count : 0;
    if (kind === NULL_COLUMN) {
      if (literal) for (let index = 0; index < count; index++) values[into + index] = null;
      continue;
    }
    let columnValues = values;
    if (kind === PACKED_COLUMN) {
      const packedValues: unknown = packed[packedIndex++];
      if (!Array.isArray(packedValues) || packedValues.length !== count) throw malformed(`its packed column '${name}' does not have ${count} values`);
      columnValues = packedValues;
      if (literal) for (let index = 0; index < count; index++) values[into + index] = packedValues[index];
    } else {
      at = align8(at);
      const end = at + regionBytes(kind, count);
      if (end > bodyEnd) throw malformed(`its column '${name}' runs past its header's start`);
      try {
        readTypedColumn(kind, views, base, at, values, into, count, dictionary);
      } catch (error) {
        throw malformed(`its column '${name}' ${error instanceof Error ? error.message : String(error)}`, error);
      }
      at = end;
    }
    if (literal) continue;
    if (positional) scatterArrays(rows as PositionalRow[], column, columnValues);
    else (layout.scatters[column] as ScatterColumn)(rows as Row[], name, columnValues, 0);
  }
  if (at !== bodyEnd || packedIndex !== packed.length) throw malformed(`its columns end at byte ${at}, its header starts at ${bodyEnd}`);
  if (build !== undefined) build(values, count, rows as Row[]);
  else if (literal) (ARRAY_ROWS[width] as ArrayRowsBuilder)(values, count, rows as PositionalRow[]);
  return { names, rows };
}

/** Views of the last aligned buffer frames came in (a transport's or the encoder's), kept while frames share it. */
let bufferViews: TypedViews | undefined;
/** The aligned buffer the frame before came in: views are made over a buffer when a second frame or a large one uses it. */
let lastAligned: ArrayBufferLike | undefined;
/** An aligned copy of frames that are not 8-byte aligned, or small (a view per buffer would cost more than the copy). */
let scratchViews = new TypedViews(new ArrayBuffer(4096));
let currentViews = scratchViews;
/** Views worth making over a new buffer at once for a frame of at least this many bytes. */
const VIEWS_FOR_BYTES = 1024;

/** Sets currentViews to views that hold the frame's bytes up to `end`; answers where the frame starts in them. */
function typedViewsOf(bytes: Uint8Array, end: number): number {
  if ((bytes.byteOffset & 7) === 0) {
    const buffer = bytes.buffer;
    if (bufferViews !== undefined && bufferViews.buffer === buffer) {
      currentViews = bufferViews;
      return bytes.byteOffset;
    }
    if (end >= VIEWS_FOR_BYTES || buffer === lastAligned) {
      bufferViews = new TypedViews(buffer);
      currentViews = bufferViews;
      return bytes.byteOffset;
    }
    lastAligned = buffer;
  }
  if (scratchViews.u8.length < end) scratchViews = new TypedViews(new ArrayBuffer(Math.max(end, scratchViews.u8.length * 2)));
  const scratch = scratchViews.u8;
  if (end < 256) for (let index = 0; index < end; index++) scratch[index] = bytes[index] as number;
  else scratch.set(end === bytes.length ? bytes : bytes.subarray(0, end));
  currentViews = scratchViews;
  return 0;
}

function namedRows(template: Row, count: number): Row[] {
  const rows: Row[] = new Array<Row>(count);
  for (let index = 0; index < count; index++) rows[index] = { ...template };
  return rows;
}

function arrayRows(nulls: PositionalRow, count: number): PositionalRow[] {
  const rows: PositionalRow[] = new Array<PositionalRow>(count);
  for (let index = 0; index < count; index++) rows[index] = nulls.slice();
  return rows;
}

function scatterArrays(rows: PositionalRow[], column: number, values: readonly unknown[]): void {
  for (let index = 0; index < rows.length; index++) (rows[index] as PositionalRow)[column] = values[index];
}

function readColumn(kind: number, name: string, values: unknown[], into: number, bytes: Uint8Array, view: DataView, start: number, count: number, dictionary: readonly string[], wide: boolean): number {
  switch (kind) {
    case NUMBER:
      return readNumbers(view, start, values, into, count);
    case NUMBER_OR_NULL:
      return readNullableNumbers(name, bytes, view, start, values, into, count);
    case STRING:
      return wide ? readWideStrings(name, view, start, values, into, count, dictionary) : readStrings(name, view, start, values, into, count, dictionary);
    case BIGINT:
      return readBigInts(bytes, view, start, values, into, count);
    case BOOLEAN:
      return readBooleans(name, bytes, start, values, into, count);
    default:
      return start;
  }
}

function readNumbers(view: DataView, start: number, values: unknown[], into: number, count: number): number {
  let at = start;
  for (let index = 0; index < count; index++, at += 8) values[into + index] = view.getFloat64(at, true);
  return at;
}

function readNullableNumbers(name: string, bytes: Uint8Array, view: DataView, start: number, values: unknown[], into: number, count: number): number {
  let flags = start;
  let at = start + count;
  for (let index = 0; index < count; index++, at += 8, flags++) {
    const flag = bytes[flags];
    if (flag === 0) values[into + index] = view.getFloat64(at, true);
    else if (flag === 1) values[into + index] = null;
    else throw malformed(`its column '${name}' has a null flag of ${String(flag)}`);
  }
  return at;
}

function readStrings(name: string, view: DataView, start: number, values: unknown[], into: number, count: number, dictionary: readonly string[]): number {
  const size = dictionary.length;
  let at = start;
  for (let index = 0; index < count; index++, at += 2) {
    const code = view.getUint16(at, true);
    if (code > size) throw malformed(`its column '${name}' refers to string ${code} of ${size}`);
    values[into + index] = code === 0 ? null : dictionary[code - 1];
  }
  return at;
}

function readWideStrings(name: string, view: DataView, start: number, values: unknown[], into: number, count: number, dictionary: readonly string[]): number {
  const size = dictionary.length;
  let at = start;
  for (let index = 0; index < count; index++, at += 4) {
    const code = view.getUint32(at, true);
    if (code > size) throw malformed(`its column '${name}' refers to string ${code} of ${size}`);
    values[into + index] = code === 0 ? null : dictionary[code - 1];
  }
  return at;
}

function readBigInts(bytes: Uint8Array, view: DataView, start: number, values: unknown[], into: number, count: number): number {
  const end = start + count * 8;
  if (end > bytes.length) throw malformed(`its int64 column runs past its end`);
  if (!LITTLE_ENDIAN || count < FEW_LONGS) {
    for (let index = 0; index < count; index++) values[into + index] = view.getBigInt64(start + index * 8, true);
    return end;
  }
  const longs = longScratch(count);
  new Uint8Array(longs.buffer, 0, count * 8).set(bytes.subarray(start, end));
  for (let index = 0; index < count; index++) values[into + index] = longs[index];
  return end;
}

function readBooleans(name: string, bytes: Uint8Array, start: number, values: unknown[], into: number, count: number): number {
  let at = start;
  for (let index = 0; index < count; index++, at++) {
    const flag = bytes[at];
    if (flag === 0 || flag === 1) values[into + index] = flag === 1;
    else if (flag === 2) values[into + index] = null;
    else throw malformed(`its column '${name}' has a boolean of ${String(flag)}`);
  }
  return at;
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

function malformed(reason: string, cause?: unknown): TransportError {
  return new TransportError(`A data frame is malformed: ${reason}.`, cause === undefined ? {} : { cause });
}
