// State values as Rill writes them to LMDB: the msgpack bytes of the value followed by their CRC-32, so a flipped
// byte inside a value that still decodes is found when the value is read (at restore and at the fold).
import { crc32 } from "node:zlib";
import { Packr } from "msgpackr";

/**
 * The format of the state values in a checkpoint, recorded in its meta (`stateFormat`): 2 = msgpack + CRC-32.
 * Absent: written by a Rill before checksums, with plain values; such a checkpoint is upgraded when it is opened.
 */
export const STATE_FORMAT = 2;

const CHECKSUM_BYTES = 4;

// Records off: the bytes of a value depend on the value alone, never on what this packer encoded before.
// int64AsType "auto": a long past 2^53 reads back as a bigint, as lmdb's own encoder did (src/core/long.ts).
// ("auto" is in msgpackr's unpacker, not yet in its types.)
const packr = new Packr({ useRecords: false, int64AsType: "auto" as "bigint" });

/** The value's msgpack bytes and their CRC-32 (big-endian), in one buffer. */
export function encodeStateValue(value: unknown): Uint8Array {
  const packed = packr.pack(value);
  const bytes = Buffer.allocUnsafe(packed.length + CHECKSUM_BYTES);
  packed.copy(bytes, 0);
  bytes.writeUInt32BE(crc32(packed), packed.length);
  return bytes;
}

/** Why stored bytes are not a state value of this format, or undefined when their checksum holds. */
export function damageOf(stored: unknown): string | undefined {
  if (!(stored instanceof Uint8Array)) return `a value of type ${stored === null ? "null" : typeof stored} where checksummed bytes belong`;
  if (stored.length <= CHECKSUM_BYTES) return `a value of ${stored.length} bytes, too short to hold a checksum`;
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.length);
  const end = bytes.length - CHECKSUM_BYTES;
  const expected = bytes.readUInt32BE(end);
  const actual = crc32(bytes.subarray(0, end));
  return actual === expected ? undefined : `a value whose CRC-32 is ${hex(actual)} where ${hex(expected)} was written`;
}

/** The value of bytes whose checksum `damageOf` has accepted. */
export function decodeStateValue(stored: Uint8Array): unknown {
  return packr.unpack(stored.subarray(0, stored.length - CHECKSUM_BYTES));
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
