// Dead letters: a bad record as JSON on the query's dead-letter subject, cut to fit the broker's payload limit.
import { BinaryRecord } from "../core/binary-record.ts";
import { jsonWithLongs } from "../core/long.ts";
import type { Transport } from "./transport.ts";

/** JSON of a record; a long past 2^53 (a bigint) is written as its digits (JSON.stringify refuses bigints). */
export function safeJson(value: unknown): string {
  try {
    return jsonWithLongs(value);
  } catch {
    return String(value);
  }
}

/**
 * A dead letter as JSON that fits the broker's payload limit: a record too large to carry whole is cut, and the letter
 * says so with the record's full length, so it still reaches the dead-letter subject instead of failing the publish.
 * A binary record's bytes travel as `rawBase64`, cut the same way (to whole base64 quads) with `rawBase64Length`.
 */
export function deadLetterPayload(fields: Readonly<Record<string, string | undefined>>, raw: string, maxPayload: number, rawBase64?: string): Uint8Array {
  const encoder = new TextEncoder();
  const whole = encoder.encode(JSON.stringify({ ...fields, raw, ...(rawBase64 === undefined ? {} : { rawBase64 }) }));
  if (whole.length <= maxPayload) return whole;
  // JSON escaping can grow a character to six bytes, and UTF-8 to four: cut with room for both.
  let keep = Math.max(0, Math.floor((maxPayload - 1024) / 6));
  for (;;) {
    const binary = rawBase64 === undefined ? {} : { rawBase64: rawBase64.slice(0, keep - (keep % 4)), rawBase64Length: rawBase64.length };
    const cut = encoder.encode(JSON.stringify({ ...fields, raw: raw.slice(0, keep), ...binary, truncated: true, rawLength: raw.length }));
    if (cut.length <= maxPayload || keep === 0) return cut;
    keep = Math.floor(keep / 2);
  }
}

/** What every dead letter says: the query, the actor (`source`) and the reason; an operator's also name it and the epoch. */
export interface DeadLetterFields {
  readonly query: string;
  readonly source: string;
  readonly reason: string;
  readonly operator?: string;
  readonly epoch?: string;
}

/** One dead letter's bytes (the record as text, cut if needed) with the query, the actor, the reason and the time. */
export function deadLetterBytes(fields: DeadLetterFields, raw: unknown, maxPayload: number): Uint8Array {
  const at = new Date().toISOString();
  if (raw instanceof BinaryRecord) {
    const text = raw.decoded === undefined ? "" : safeJson(raw.decoded);
    return deadLetterPayload({ ...fields, at }, text, maxPayload, Buffer.from(raw.bytes).toString("base64"));
  }
  const text = typeof raw === "string" ? raw : safeJson(raw);
  return deadLetterPayload({ ...fields, at }, text, maxPayload);
}

/** Publishes one dead letter at once as a core NATS message (actors hold theirs until the commit: src/deadletters). */
export function publishDeadLetter(transport: Transport, subject: string, fields: DeadLetterFields, raw: unknown): void {
  transport.publish(subject, deadLetterBytes(fields, raw, transport.maxPayload));
}
