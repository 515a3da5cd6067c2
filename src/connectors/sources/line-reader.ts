// Reads a text file in chunks as numbered lines, so a file of any size streams through. A line longer than the limit
// is never held whole: it is skipped to its end and reported with its number, its size and its first characters.
// A line that is not valid UTF-8 is reported with its number instead of being decoded with replacement characters.
import type { FileHandle } from "node:fs/promises";

/** Consecutive lines (without "\n"), the first of them line `firstLine` (1-based). */
export interface LineRun {
  readonly lines: string[];
  readonly firstLine: number;
}

export interface OversizedLine {
  readonly line: number;
  /** The whole line's size in bytes (UTF-8). */
  bytes: number;
  /** Its first characters, for the dead letter. */
  readonly head: string;
}

/** A line whose bytes are not valid UTF-8; `head` is its first characters with U+FFFD for the bad bytes. */
export interface InvalidLine {
  readonly line: number;
  readonly head: string;
}

export type LinePiece = LineRun | { readonly oversized: OversizedLine } | { readonly invalid: InvalidLine };

const CHUNK_BYTES = 4 * 1024 * 1024;
const HEAD_CHARS = 64 * 1024;
const NEWLINE = 0x0a;
const BYTE_ORDER_MARK = [0xef, 0xbb, 0xbf];

/** Decoders shared by every reader: the strict one checks a whole chunk at once; the lenient one runs only on a bad chunk. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });

export class LineReader {
  private position = 0;
  private nextLine = 1;
  /** The start of a line whose end is in a later chunk (never longer than the limit). */
  private carry = "";
  /** A line over the limit whose end is in a later chunk: only its size is counted. */
  private skipping: OversizedLine | undefined;
  /** The last bytes of the previous chunk when they end inside a character (at most three). */
  private pendingBytes: Buffer = Buffer.alloc(0);
  /** Whether `carry` holds bytes that are not UTF-8. */
  private carryInvalid = false;
  done = false;

  constructor(
    private readonly handle: FileHandle,
    private readonly maxLineBytes: number,
  ) {}

  /** Lines of the next chunk, in order; `done` is true after the last. */
  async next(): Promise<LinePiece[]> {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    const first = this.position === 0;
    const { bytesRead } = await this.handle.read(buffer, 0, CHUNK_BYTES, this.position);
    this.position += bytesRead;
    const end = bytesRead === 0;
    let bytes = this.pendingBytes.length > 0 ? Buffer.concat([this.pendingBytes, buffer.subarray(0, bytesRead)]) : buffer.subarray(0, bytesRead);
    if (first && BYTE_ORDER_MARK.every((byte, index) => bytes[index] === byte)) bytes = bytes.subarray(BYTE_ORDER_MARK.length);
    const complete = end ? bytes.length : completeLength(bytes);
    this.pendingBytes = Buffer.from(bytes.subarray(complete));
    const { text, invalidSegments } = decodeChunk(bytes.subarray(0, complete));
    let segment = 0;
    const pieces: LinePiece[] = [];
    let run: string[] = [];
    let runFirst = this.nextLine;
    const line = (content: string, invalid: boolean): void => {
      if (invalid && !this.tooLong(content)) {
        if (run.length > 0) pieces.push({ lines: run, firstLine: runFirst });
        run = [];
        pieces.push({ invalid: { line: this.nextLine++, head: content.slice(0, HEAD_CHARS) } });
        return;
      }
      if (this.tooLong(content)) {
        if (run.length > 0) pieces.push({ lines: run, firstLine: runFirst });
        run = [];
        pieces.push({ oversized: { line: this.nextLine++, bytes: Buffer.byteLength(content), head: content.slice(0, HEAD_CHARS) } });
        return;
      }
      if (run.length === 0) runFirst = this.nextLine;
      run.push(content);
      this.nextLine++;
    };
    let start = 0;
    if (this.skipping) {
      const newline = text.indexOf("\n");
      const tail = newline === -1 ? text : text.slice(0, newline);
      this.skipping.bytes += Buffer.byteLength(tail);
      if (newline === -1 && !end) return pieces;
      pieces.push({ oversized: this.skipping });
      this.skipping = undefined;
      this.nextLine++;
      start = newline === -1 ? text.length : newline + 1;
      segment = 1;
    }
    for (let newline = text.indexOf("\n", start); newline !== -1; newline = text.indexOf("\n", start)) {
      const content = this.carry === "" ? text.slice(start, newline) : this.carry + text.slice(start, newline);
      const invalid = this.carryInvalid || (invalidSegments?.has(segment) ?? false);
      this.carry = "";
      this.carryInvalid = false;
      start = newline + 1;
      segment++;
      line(content, invalid);
    }
    const rest = this.carry + text.slice(start);
    const restInvalid = this.carryInvalid || (invalidSegments?.has(segment) ?? false);
    this.carry = "";
    this.carryInvalid = false;
    if (this.tooLong(rest)) this.skipping = { line: this.nextLine, bytes: Buffer.byteLength(rest), head: rest.slice(0, HEAD_CHARS) };
    else {
      this.carry = rest;
      this.carryInvalid = restInvalid;
    }
    if (end) {
      if (this.skipping) {
        pieces.push(...(run.length > 0 ? [{ lines: run, firstLine: runFirst }] : []), { oversized: this.skipping });
        run = [];
        this.skipping = undefined;
        this.nextLine++;
      } else if (this.carry !== "") {
        line(this.carry, this.carryInvalid);
        this.carry = "";
        this.carryInvalid = false;
      }
      this.done = true;
    }
    if (run.length > 0) pieces.push({ lines: run, firstLine: runFirst });
    return pieces;
  }

  private tooLong(text: string): boolean {
    // A UTF-16 unit is at most three bytes of UTF-8: only long strings need counting.
    return text.length * 3 > this.maxLineBytes && Buffer.byteLength(text) > this.maxLineBytes;
  }
}

/** The chunk's text; when it is not all UTF-8, also which of its newline-separated segments are not (0 is the first). */
export function decodeChunk(bytes: Uint8Array): { text: string; invalidSegments?: Set<number> } {
  try {
    return { text: strictUtf8.decode(bytes) };
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
  // A newline byte is never part of a multi-byte character, so each line can be checked alone.
  const invalidSegments = new Set<number>();
  let start = 0;
  for (let segment = 0; start <= bytes.length; segment++) {
    const newline = bytes.indexOf(NEWLINE, start);
    const stop = newline === -1 ? bytes.length : newline;
    try {
      strictUtf8.decode(bytes.subarray(start, stop));
    } catch {
      invalidSegments.add(segment);
    }
    start = stop + 1;
  }
  return { text: lenientUtf8.decode(bytes), invalidSegments };
}

/** How many leading bytes end on a whole character: a character cut by the chunk's end waits for the next chunk. */
function completeLength(bytes: Uint8Array): number {
  for (let index = bytes.length - 1; index >= Math.max(0, bytes.length - 4); index--) {
    const byte = bytes[index] as number;
    if ((byte & 0xc0) === 0x80) continue;
    const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return index + size > bytes.length ? index : bytes.length;
  }
  return bytes.length;
}
