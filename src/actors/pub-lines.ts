// NATS messages (`PUB` line, payload, CRLF) written into a shared slab instead of new ArrayBuffers a publish.
//
// nats.js's `publish()` turns each message's protocol line (`PUB <subject> <size>\r\n`) into bytes with
// `TextEncoder.encode`, which makes a new off-heap ArrayBuffer every time: one a NATS message, about half of the
// ArrayBuffers a Rill process makes at rate (README, "GC pauses in scenario (b)"). Each scavenge frees the young
// ArrayBuffers nobody holds (`scavenge.sweep_array_buffers`; with `--no-concurrent-array-buffer-sweeping`, on the main
// thread, inside the pause), so their number sets a large part of every pause.
//
// Here the line is written into a 16 KB slab and handed to the client as a view of it (a view is an ordinary heap
// object, no new backing store), and a payload of up to 8 KB is copied after it, with its closing CRLF, in the same
// view: the client's flush packs its pending buffers into a new one (another ArrayBuffer) only when there are
// several, so a flush of one such message makes none either. A slab is only ever written forward: a full one is
// dropped, not reused, and a new one taken, so bytes that the client or the socket still holds (until the flush packs
// them, the socket has written them, or longer while disconnected) are never overwritten; a payload copied in at
// publish() may be overwritten by its encoder at once. One ArrayBuffer per slab, a hundred or so small messages.
//
// The client's outbound path is not public API: `connection.protocol.sendCommand(line, payload, CRLF)` is what its
// own `publish()` calls, after the checks (`_check`: closed, draining, subject; the server's max_payload) and the
// counters (`outBytes`, `outMsgs`) done here too. `pubLinesFor` checks that these members are there and returns
// undefined otherwise (another client version), and the transport then calls `publish()` as before.

// 16 KB, not more: a slab that lives through two scavenges is promoted, and a dead one then stays resident until the
// next mark-compact; 64 KB slabs lived that long at the demo's rate (ARCHITECTURE.md, "Off-heap buffers written forward are small").
const SLAB_BYTES = 16 * 1024;
/** Payloads up to this size are copied into the slab after their line (see `write`); larger ones are passed as they are. */
const INLINE_PAYLOAD_BYTES = 8 * 1024;
/** Subjects whose `PUB <subject> ` prefix is kept encoded; past this many the cache starts over (a process publishes to a few dozen). */
const MAX_PREFIXES = 1024;
const CRLF = new Uint8Array([13, 10]);
const encoder = new TextEncoder();

/** The members of nats.js's connection (`NatsConnectionImpl`) and protocol handler that `publish()` uses. */
interface ClientInternals {
  readonly _check: (subject: string, sub: boolean, pub: boolean) => void;
  readonly info?: { readonly max_payload?: number };
  readonly protocol: {
    outBytes: number;
    outMsgs: number;
    readonly sendCommand: (command: Uint8Array, ...payloads: Uint8Array[]) => void;
  };
}

function hasInternals(connection: object): connection is ClientInternals {
  const candidate = connection as Partial<ClientInternals>;
  const protocol = candidate.protocol as Partial<ClientInternals["protocol"]> | undefined;
  return typeof candidate._check === "function" && typeof protocol === "object" && protocol !== null
    && typeof protocol.sendCommand === "function" && typeof protocol.outBytes === "number" && typeof protocol.outMsgs === "number";
}

export class PubLines {
  private slab = new Uint8Array(SLAB_BYTES);
  private used = 0;
  private readonly prefixes = new Map<string, Uint8Array>();

  constructor(private readonly client: ClientInternals) {}

  /**
   * Publishes `payload` on `subject` as the client's `publish(subject, payload)` would (no reply, no headers), with
   * the line from the slab. Returns false, having sent nothing, when the payload is over the server's limit: the caller
   * then calls the client's `publish()`, which throws its own error.
   */
  publish(subject: string, payload: Uint8Array): boolean {
    const client = this.client;
    client._check(subject, false, true);
    const size = payload.length;
    const limit = client.info?.max_payload;
    if (limit !== undefined && size > limit) return false;
    const protocol = client.protocol;
    protocol.outBytes += size;
    protocol.outMsgs++;
    if (size <= INLINE_PAYLOAD_BYTES) protocol.sendCommand(this.write(subject, payload));
    else protocol.sendCommand(this.write(subject, undefined, size), payload, CRLF);
    return true;
  }

  /**
   * `PUB <subject> <size>\r\n`, and with `payload` the payload and its `\r\n` after it, as one view of the slab. A
   * whole message in one view is one buffer in the client's pending list: a flush that sends only it hands that view
   * to the socket as it is, where three buffers (line, payload, CRLF) would be packed into a new one.
   */
  private write(subject: string, payload: Uint8Array | undefined, size = payload?.length ?? 0): Uint8Array {
    const prefix = this.prefix(subject);
    const sizeDigits = digits(size);
    const length = prefix.length + sizeDigits + 2 + (payload === undefined ? 0 : size + 2);
    if (this.used + length > this.slab.length) {
      this.slab = new Uint8Array(Math.max(SLAB_BYTES, length));
      this.used = 0;
    }
    const slab = this.slab;
    const start = this.used;
    slab.set(prefix, start);
    let end = start + prefix.length + sizeDigits;
    for (let rest = size, at = end - 1; at >= start + prefix.length; at--, rest = Math.floor(rest / 10)) slab[at] = 48 + (rest % 10);
    slab[end++] = 13;
    slab[end++] = 10;
    if (payload !== undefined) {
      slab.set(payload, end);
      end += size;
      slab[end++] = 13;
      slab[end++] = 10;
    }
    this.used = end;
    return slab.subarray(start, end);
  }

  private prefix(subject: string): Uint8Array {
    let prefix = this.prefixes.get(subject);
    if (prefix === undefined) {
      if (this.prefixes.size >= MAX_PREFIXES) this.prefixes.clear();
      prefix = encoder.encode(`PUB ${subject} `);
      this.prefixes.set(subject, prefix);
    }
    return prefix;
  }
}

function digits(value: number): number {
  let count = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) count++;
  return count;
}

/** The slab writer for a nats.js connection, or undefined if the client does not have the members it needs. */
export function pubLinesFor(connection: object): PubLines | undefined {
  return hasInternals(connection) ? new PubLines(connection) : undefined;
}
