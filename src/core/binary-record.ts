// A record that arrived as bytes (msgpack, or JSON that is not UTF-8): its dead letter keeps the bytes.

/** What a source hands to the dead letter for a binary payload: the bytes, and what was decoded from them if anything. */
export class BinaryRecord {
  constructor(
    readonly bytes: Uint8Array,
    readonly decoded?: unknown,
  ) {}
}
