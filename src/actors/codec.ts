// Frame encoding with msgpackr: rows of one shape are written once per frame as a record structure.
import { Packr } from "msgpackr";
import type { Frame } from "../core/frame.ts";

const packr = new Packr({ useRecords: true, moreTypes: false, bundleStrings: false });

export function encodeFrame(frame: Frame): Uint8Array {
  return packr.pack(frame);
}

export function decodeFrame(bytes: Uint8Array): Frame {
  return packr.unpack(bytes) as Frame;
}
