// Reads a text file in chunks as numbered lines, so a file of any size streams through. A line longer than the limit
// is never held whole: it is skipped to its end and reported with its number, its size and its first characters.
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

export type LinePiece = LineRun | { readonly oversized: OversizedLine };

const CHUNK_BYTES = 4 * 1024 * 1024;
const HEAD_CHARS = 64 * 1024;

export class LineReader {
  private position = 0;
  private nextLine = 1;
  /** The start of a line whose end is in a later chunk (never longer than the limit). */
  private carry = "";
  /** A line over the limit whose end is in a later chunk: only its size is counted. */
  private skipping: OversizedLine | undefined;
  private readonly decoder = new TextDecoder();
  done = false;

  constructor(
    private readonly handle: FileHandle,
    private readonly maxLineBytes: number,
  ) {}

  /** Lines of the next chunk, in order; `done` is true after the last. */
  async next(): Promise<LinePiece[]> {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    const { bytesRead } = await this.handle.read(buffer, 0, CHUNK_BYTES, this.position);
    this.position += bytesRead;
    const end = bytesRead === 0;
    const text = this.decoder.decode(buffer.subarray(0, bytesRead), { stream: !end });
    const pieces: LinePiece[] = [];
    let run: string[] = [];
    let runFirst = this.nextLine;
    const line = (content: string): void => {
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
    }
    for (let newline = text.indexOf("\n", start); newline !== -1; newline = text.indexOf("\n", start)) {
      const content = this.carry === "" ? text.slice(start, newline) : this.carry + text.slice(start, newline);
      this.carry = "";
      start = newline + 1;
      line(content);
    }
    const rest = this.carry + text.slice(start);
    this.carry = "";
    if (this.tooLong(rest)) this.skipping = { line: this.nextLine, bytes: Buffer.byteLength(rest), head: rest.slice(0, HEAD_CHARS) };
    else this.carry = rest;
    if (end) {
      if (this.skipping) {
        pieces.push(...(run.length > 0 ? [{ lines: run, firstLine: runFirst }] : []), { oversized: this.skipping });
        run = [];
        this.skipping = undefined;
        this.nextLine++;
      } else if (this.carry !== "") {
        line(this.carry);
        this.carry = "";
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
