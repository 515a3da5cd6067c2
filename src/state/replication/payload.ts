// The bytes of a delta or snapshot: msgpack of [stateId, keyGroup, key, value bytes or null] rows, cut into chunks.
// Value bytes are the checkpoint's own (src/state/value-codec.ts: msgpack + CRC-32), so a restore installs them in
// the local LMDB as they are and the usual checks apply when they are read.
import { crc32 } from "node:zlib";
import { Packr } from "msgpackr";
import { CheckpointError } from "../../core/errors.ts";

/** A state entry as stored: the value's checksummed bytes, or null for a removed key. */
export interface StoredEntry {
  readonly stateId: string;
  readonly keyGroup: number;
  readonly key: string;
  readonly bytes: Uint8Array | null;
}

export interface Manifest {
  readonly chunks: number;
  readonly bytes: number;
  /** CRC-32 of the whole payload: a chunk that was changed or mixed up with another fails it. */
  readonly crc: number;
  readonly entries: number;
}

/** Below NATS's default max_payload (1 MiB), with room for the protocol's headers. */
export const CHUNK_BYTES = 256 * 1024;

const packr = new Packr({ useRecords: false });

export function encodeEntries(entries: readonly StoredEntry[]): { manifest: Manifest; chunks: Uint8Array[] } {
  const payload = packr.pack(entries.map((entry) => [entry.stateId, entry.keyGroup, entry.key, entry.bytes]));
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < payload.length; offset += CHUNK_BYTES) chunks.push(payload.subarray(offset, Math.min(payload.length, offset + CHUNK_BYTES)));
  if (chunks.length === 0) chunks.push(new Uint8Array(0));
  return { manifest: { chunks: chunks.length, bytes: payload.length, crc: crc32(payload), entries: entries.length }, chunks };
}

/** The entries of a payload whose chunks were read in order; a CheckpointError names `what` when they do not add up. */
export function decodeEntries(manifest: Manifest, chunks: readonly Uint8Array[], what: string): StoredEntry[] {
  const payload = Buffer.concat(chunks);
  if (payload.length !== manifest.bytes || crc32(payload) !== manifest.crc) {
    throw new CheckpointError(`The replicated state ${what} is damaged: its chunks hold ${payload.length} bytes with CRC-32 ${crc32(payload)}, its manifest says ${manifest.bytes} bytes with ${manifest.crc}. The query cannot restore this state; start it with a new checkpoint location (its state then starts empty).`);
  }
  const rows = packr.unpack(payload) as Array<[string, number, string, Uint8Array | null]>;
  return rows.map(([stateId, keyGroup, key, bytes]) => ({ stateId, keyGroup, key, bytes: bytes === null ? null : new Uint8Array(bytes) }));
}

export function encodeManifest(manifest: Manifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(manifest));
}

export function decodeManifest(bytes: Uint8Array, what: string): Manifest {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Manifest>;
    if ([parsed.chunks, parsed.bytes, parsed.crc, parsed.entries].every((value) => Number.isInteger(value))) return parsed as Manifest;
  } catch (error) {
    throw new CheckpointError(`The manifest of the replicated state ${what} is not JSON: ${String(error)}`, { cause: error });
  }
  throw new CheckpointError(`The manifest of the replicated state ${what} lacks chunks, bytes, crc or entries.`);
}
