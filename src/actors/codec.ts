// Frame encoding with msgpackr: rows of one shape are written once per frame as a record structure.
import { Packr } from "msgpackr";
import type { Frame } from "../core/frame.ts";

const LONGS_EXACT = { int64AsType: "auto" };

// A long past 2^53 travels as a bigint (msgpack int64) and comes back as one; smaller ones stay numbers (src/core/long.ts).
// ("auto" is in msgpackr's runtime since 1.9, not in its type declarations.)
const packr = new Packr({ useRecords: true, moreTypes: false, bundleStrings: false, ...(LONGS_EXACT as object) });

export function encodeFrame(frame: Frame): Uint8Array {
  return packr.pack(frame);
}

export function decodeFrame(bytes: Uint8Array): Frame {
  return packr.unpack(bytes) as Frame;
}
