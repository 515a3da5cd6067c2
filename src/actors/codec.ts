// Frame encoding: data frames carry their rows column by column (row-columns.ts); control frames, and rows that do not
// share one key set, are msgpack.
//
// A lean data frame starts with 0xc1, the one byte msgpack never uses, then a version byte, the frame's sender, seq,
// epoch, since and until as doubles and its row count as a uint32, then the columns: layout 2 (typed, 8-byte aligned
// columns, typed-columns.ts) by default, layout 1 (row-columns.ts) when RILL_FRAME_LAYOUT=1 or setFrameLayout(1) asks
// for it (a peer that reads only layout 1) or on a big-endian machine. Both are read. Every frame names its own columns
// (about 80 bytes for the activity schema, a third of a byte per row of a 256-row frame), so any frame decodes by
// itself: a receiver that starts fresh after a restart, or a frame sent again after a rollback, needs no channel history.
import { Packr } from "msgpackr";
import { TransportError } from "../core/errors.ts";
import { FRAME_DATA, type DataFrame, type Frame, type PositionalDataFrame } from "../core/frame.ts";
import type { PositionalRow, Row } from "../core/types.ts";
import { ColumnWriter, readColumnArrays, readColumns } from "./row-columns.ts";
import { LITTLE_ENDIAN } from "./typed-columns.ts";

const LONGS_EXACT = { int64AsType: "auto" };

/**
 * The shapes every process knows from this code, as msgpackr records with fixed ids: the control frames a channel
 * sends and a window's struct (a `packed` column of a lean frame). Without them each message defined its records
 * anew, and each decode built a structure and a reader closure for them (per frame, on every hop). The list is part of
 * the wire format: append only, never reorder (a shape not listed still travels, defined inside its message as before).
 */
export const KNOWN_STRUCTURES: readonly (readonly string[])[] = [
  ["kind", "sender", "seq", "watermark"],
  ["kind", "receiver", "credits"],
  ["kind", "sender", "seq", "epoch", "final"],
  ["kind", "sender", "seq", "epoch", "final", "params"],
  ["start", "end"],
];

// A long past 2^53 travels as a bigint (msgpack int64) and comes back as one; smaller ones stay numbers (src/core/long.ts).
// ("auto" is in msgpackr's runtime since 1.9, not in its type declarations.)
// maxSharedStructures equal to the list's length: a shape not listed gets an id of its message's own, never a shared one.
// One instance packs and another unpacks: msgpackr keeps its fixed records in one array per instance, and a message
// from the previous encoder (which defined its own records under the same ids) would otherwise disturb the packing side.
function newPackr(): Packr {
  return new Packr({
    useRecords: true,
    // isShared, as msgpackr marks the structures it loads itself: a message that defines a record under a fixed id
    // (the previous encoder numbered its own from the same first id) has it restored once that message is read.
    structures: KNOWN_STRUCTURES.map((keys) => Object.assign([...keys], { isShared: true })),
    maxSharedStructures: KNOWN_STRUCTURES.length,
    moreTypes: false,
    bundleStrings: false,
    ...(LONGS_EXACT as object),
  });
}
const packr = newPackr();
const unpackr = newPackr();

/** The first byte of a lean data frame (msgpack's "never used"), and the layout's version. */
const LEAN_FRAME = 0xc1;
const LEAN_VERSION = 1;
const TYPED_VERSION = 2;
/** Marker, version, five doubles, the row count. */
const FIXED_BYTES = 2 + 5 * 8 + 4;

const writer = new ColumnWriter(packr);
/** The layout data frames are written in (both are read). */
let frameLayout: 1 | 2 = 2;
setFrameLayout(process.env.RILL_FRAME_LAYOUT === "1" ? 1 : 2);

/**
 * Chooses the layout of the data frames this process writes from now on: 2 (typed columns, the default) or 1, which
 * builds before layout 2 read (set RILL_FRAME_LAYOUT=1 in every process of a query that has such a peer). A big-endian
 * machine always writes layout 1. Answers the layout in force.
 */
export function setFrameLayout(version: 1 | 2): 1 | 2 {
  frameLayout = version === 2 && LITTLE_ENDIAN ? 2 : 1;
  writer.version = frameLayout;
  return frameLayout;
}

/**
 * A frame's bytes. A data frame's rows are objects, or (a PositionalDataFrame) arrays in the order of its `columns`:
 * both give the same lean bytes, which a decoder reads either way. Positional rows that cannot travel lean (no column
 * with a body, names a decoder refuses) travel as msgpack with their `columns`.
 */
export function encodeFrame(frame: Frame | PositionalDataFrame): Uint8Array {
  if (frame.kind === FRAME_DATA) {
    const lean = isPositional(frame)
      ? writer.encodeArrays((view, at) => writeFixed(view, at, frame), frame.columns, frame.rows)
      : writer.encode((view, at) => writeFixed(view, at, frame), frame.rows);
    if (lean !== undefined) return lean;
  }
  return packr.pack(frame);
}

/** A frame with its rows as objects (a frame sent with positional rows gets its rows named). */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length > 0 && bytes[0] === LEAN_FRAME) return decodeLean(bytes);
  const frame = unpackr.unpack(bytes) as Frame | PositionalDataFrame;
  return isPositional(frame) ? { ...fixedOf(frame), rows: namedRows(frame.columns, frame.rows) } : frame;
}

/**
 * A frame whose data rows come as arrays where the bytes allow it: a lean frame always (its `columns` the same array
 * for every frame of one schema), a msgpack frame sent positional. A msgpack frame sent with named rows (rows that
 * did not share one key set, from a sender that is not positional) stays named: the receiver converts by its schema.
 */
export function decodeFramePositional(bytes: Uint8Array): Frame | PositionalDataFrame {
  if (bytes.length > 0 && bytes[0] === LEAN_FRAME) {
    const view = checkLean(bytes);
    const { names, rows } = readColumnArrays(unpackr, bytes, view, FIXED_BYTES, view.getUint32(42, true), bytes[1] as number);
    // One literal, not a spread of the fixed fields: a spread and an added key cost more than the rest of a small frame.
    return { kind: FRAME_DATA, sender: view.getFloat64(2, true), seq: view.getFloat64(10, true), epoch: view.getFloat64(18, true), since: view.getFloat64(26, true), until: view.getFloat64(34, true), columns: names, rows };
  }
  return unpackr.unpack(bytes) as Frame | PositionalDataFrame;
}

export function isPositional(frame: Frame | PositionalDataFrame): frame is PositionalDataFrame {
  return frame.kind === FRAME_DATA && (frame as Partial<PositionalDataFrame>).columns !== undefined;
}

function namedRows(columns: readonly string[], rows: readonly PositionalRow[]): Row[] {
  return rows.map((values) => {
    const row: Row = {};
    for (let column = 0; column < columns.length; column++) row[columns[column] as string] = values[column];
    return row;
  });
}

function fixedOf(frame: PositionalDataFrame): Omit<DataFrame, "rows"> {
  return { kind: FRAME_DATA, sender: frame.sender, seq: frame.seq, epoch: frame.epoch, since: frame.since, until: frame.until };
}

function writeFixed(view: DataView, at: number, frame: DataFrame | PositionalDataFrame): number {
  view.setUint8(at, LEAN_FRAME);
  // Layout 1; ColumnWriter sets 2 when it writes the frame in layout 2.
  view.setUint8(at + 1, LEAN_VERSION);
  view.setFloat64(at + 2, frame.sender, true);
  view.setFloat64(at + 10, frame.seq, true);
  view.setFloat64(at + 18, frame.epoch, true);
  view.setFloat64(at + 26, frame.since, true);
  view.setFloat64(at + 34, frame.until, true);
  view.setUint32(at + 42, frame.rows.length, true);
  return at + FIXED_BYTES;
}

function checkLean(bytes: Uint8Array): DataView {
  if (bytes.length < FIXED_BYTES + 4) throw new TransportError(`A data frame of ${bytes.length} bytes is too short.`);
  const version = bytes[1];
  if (version !== LEAN_VERSION && (version !== TYPED_VERSION || !LITTLE_ENDIAN)) {
    throw new TransportError(`A data frame has layout version ${String(version)}; this build reads version ${LEAN_VERSION}${LITTLE_ENDIAN ? ` and ${TYPED_VERSION}` : " (a big-endian machine does not read 2)"}.`);
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function decodeLean(bytes: Uint8Array): DataFrame {
  const view = checkLean(bytes);
  const rows = readColumns(unpackr, bytes, view, FIXED_BYTES, view.getUint32(42, true), bytes[1] as number);
  return { kind: FRAME_DATA, sender: view.getFloat64(2, true), seq: view.getFloat64(10, true), epoch: view.getFloat64(18, true), since: view.getFloat64(26, true), until: view.getFloat64(34, true), rows };
}
