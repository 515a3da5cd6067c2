// Channels between two actors: sequence numbers and credit-based flow control, so nothing is dropped.
import { TransportError } from "../core/errors.ts";
import { FRAME_BARRIER, FRAME_CREDIT, FRAME_DATA, FRAME_WATERMARK, type ChannelFrame, type CreditFrame, type PositionalDataFrame } from "../core/frame.ts";
import type { EpochParams } from "../core/param-values.ts";
import type { PositionalRow, Row } from "../core/types.ts";
import { toNamedRow } from "../operators/positional-operator.ts";
import { encodeFrame } from "./codec.ts";
import { hopTrace } from "./hop-trace.ts";
import type { Transport } from "./transport.ts";

export interface FlowControl {
  /** Rows a receiver lets a sender have in flight. */
  readonly window: number;
  /** Most rows in one frame (keeps frames under the broker's payload limit). */
  readonly maxFrameRows: number;
}

/** Rows of one frame: named, or (with `columns`) arrays in the order of `columns`. */
type PendingRows = { rows: Row[]; columns: undefined; since: number; until: number } | { rows: PositionalRow[]; columns: readonly string[]; since: number; until: number };
type Pending = PendingRows | { control: "barrier"; epoch: number; final: boolean; params: EpochParams | undefined } | { control: "watermark"; watermark: number };

/** The sending end: rows queue here during a turn and leave as frames while credit lasts. */
export class OutputChannel {
  private readonly pending: Pending[] = [];
  private current: Row[] | PositionalRow[] = [];
  /** The column order of `current`'s rows when they are arrays; undefined when they are named. */
  private currentColumns: readonly string[] | undefined;
  private currentSince = Number.POSITIVE_INFINITY;
  private currentUntil = Number.NEGATIVE_INFINITY;
  private seq = 0;
  private credits: number;
  framesSent = 0;
  rowsSent = 0;
  creditWaits = 0;
  /** `sender stage->receiver stage`, set by the actor when hop traces are on (RILL_TRACE_HOPS). */
  traceLabel = "";

  constructor(
    private readonly transport: Transport,
    readonly subject: string,
    private readonly senderIndex: number,
    private readonly flow: FlowControl,
    /** Takes a row that alone exceeds the payload limit: it cannot be sent. */
    private readonly oversized: (row: Row, bytes: number) => void = (_row, bytes) => {
      throw new TransportError(`A row of ${bytes} bytes exceeds the broker's payload limit of ${this.transport.maxPayload} bytes.`);
    },
  ) {
    this.credits = flow.window;
  }

  push(row: Row, since: number, until: number): void {
    if (this.currentColumns !== undefined) this.seal();
    (this.current as Row[]).push(row);
    if (since < this.currentSince) this.currentSince = since;
    if (until > this.currentUntil) this.currentUntil = until;
  }

  /**
   * A row by position, its values in the order of `columns` (one array for every row of a schema: compared by
   * identity). It leaves in a frame of rows of the same columns, encoded from the arrays: the bytes named rows give.
   */
  pushPositional(row: PositionalRow, columns: readonly string[], since: number, until: number): void {
    if (this.currentColumns !== columns) {
      this.seal();
      this.currentColumns = columns;
    }
    (this.current as PositionalRow[]).push(row);
    if (since < this.currentSince) this.currentSince = since;
    if (until > this.currentUntil) this.currentUntil = until;
  }

  get pendingRows(): number {
    return this.current.length;
  }

  barrier(epoch: number, final: boolean, params?: EpochParams): void {
    this.seal();
    this.pending.push({ control: "barrier", epoch, final, params });
  }

  /** The watermark follows every row queued before it. */
  watermark(watermark: number): void {
    this.seal();
    this.pending.push({ control: "watermark", watermark });
  }

  /** Credit never exceeds the window: an honest receiver never grants more, so a forged grant cannot lift flow control. */
  grant(credits: number): void {
    this.credits = Math.min(this.credits + credits, this.flow.window);
  }

  /** Sends what credit allows; returns true when nothing is left waiting. */
  flush(epoch: number): boolean {
    // The usual turn (one frame's rows, credit to spare, nothing queued before them): they leave as one frame, as the
    // loop below would send them, without a queue entry for them first.
    const rows = this.current;
    if (this.pending.length === 0 && rows.length > 0 && rows.length <= this.credits && rows.length <= this.flow.maxFrameRows) {
      const since = this.currentSince;
      const until = Math.max(this.currentSince, this.currentUntil);
      const columns = this.currentColumns;
      this.current = [];
      this.currentColumns = undefined;
      this.currentSince = Number.POSITIVE_INFINITY;
      this.currentUntil = Number.NEGATIVE_INFINITY;
      this.sendRows(rows, columns, epoch, since, until);
      this.credits -= rows.length;
      this.rowsSent += rows.length;
      return true;
    }
    this.seal();
    while (this.pending.length > 0) {
      const head = this.pending[0] as Pending;
      if ("rows" in head) {
        if (this.credits <= 0) {
          this.creditWaits++;
          return false;
        }
        const take = Math.min(this.credits, this.flow.maxFrameRows, head.rows.length);
        const rows = take === head.rows.length ? head.rows : head.rows.splice(0, take);
        if (rows === head.rows) this.pending.shift();
        this.sendRows(rows, head.columns, epoch, head.since, head.until);
        this.credits -= take;
        this.rowsSent += take;
      } else {
        this.pending.shift();
        if (head.control === "barrier") this.send({ kind: FRAME_BARRIER, sender: this.senderIndex, seq: ++this.seq, epoch: head.epoch, final: head.final, ...(head.params ? { params: head.params } : {}) });
        else {
          this.send({ kind: FRAME_WATERMARK, sender: this.senderIndex, seq: ++this.seq, watermark: head.watermark });
          if (hopTrace) hopTrace.record(`${this.traceLabel}: watermark frame`, Number.NaN, Number.NaN, 0);
        }
      }
    }
    return true;
  }

  private seal(): void {
    if (this.current.length === 0) {
      this.currentColumns = undefined;
      return;
    }
    const until = Math.max(this.currentSince, this.currentUntil);
    this.pending.push(this.currentColumns === undefined
      ? { rows: this.current as Row[], columns: undefined, since: this.currentSince, until }
      : { rows: this.current as PositionalRow[], columns: this.currentColumns, since: this.currentSince, until });
    this.current = [];
    this.currentColumns = undefined;
    this.currentSince = Number.POSITIVE_INFINITY;
    this.currentUntil = Number.NEGATIVE_INFINITY;
  }

  /** Sends rows as one frame, or as several when one would exceed the broker's payload limit. */
  private sendRows(rows: Row[] | PositionalRow[], columns: readonly string[] | undefined, epoch: number, since: number, until: number): void {
    if (hopTrace) hopTrace.record(`${this.traceLabel}: encode`, since, until, rows.length);
    // Two literals, never `{ ...fixed, rows }`: V8 (Node 20) gives the copy of a spread object literal a map outside
    // any transition tree, so adding `rows` to it made a new map (and descriptor array) for every frame. Maps live in
    // the old generation and hold what they point to through every scavenge: in scenario (b) that kept ~250 KB more
    // alive through each scavenge and tripled its pause (decision 56).
    const seq = this.seq + 1;
    const bytes = columns === undefined
      ? encodeFrame({ kind: FRAME_DATA, sender: this.senderIndex, seq, epoch, since, until, rows: rows as Row[] })
      : encodeFrame({ kind: FRAME_DATA, sender: this.senderIndex, seq, epoch, since, until, columns, rows: rows as PositionalRow[] });
    if (bytes.length > this.transport.maxPayload && rows.length > 1) {
      const half = rows.length >> 1;
      this.sendRows(rows.slice(0, half), columns, epoch, since, until);
      this.sendRows(rows.slice(half), columns, epoch, since, until);
      return;
    }
    if (bytes.length > this.transport.maxPayload) {
      // Never sent, so never consumed: its credit comes back at once.
      this.credits++;
      this.rowsSent--;
      // Whoever takes it (a dead letter) sees a named row, whatever form it travelled in.
      this.oversized(columns === undefined ? (rows[0] as Row) : toNamedRow(columns, rows[0] as PositionalRow), bytes.length);
      return;
    }
    this.seq++;
    this.framesSent++;
    this.transport.publish(this.subject, bytes);
    if (hopTrace) hopTrace.record(`${this.traceLabel}: published`, since, until, rows.length);
  }

  private send(frame: ChannelFrame): void {
    this.framesSent++;
    this.transport.publish(this.subject, encodeFrame(frame));
  }
}

/** The receiving end: checks sequence numbers and gives credit back as rows are consumed. */
export class InputChannel {
  private expectedSeq = 1;
  private consumed = 0;

  constructor(
    private readonly transport: Transport,
    readonly senderIndex: number,
    private readonly creditSubject: string,
    private readonly receiverIndex: number,
    private readonly flow: FlowControl,
    private readonly describe: string,
  ) {}

  /** Throws on a gap: a lost frame is a failure, never a silent loss. */
  check(frame: ChannelFrame | PositionalDataFrame): void {
    if (frame.seq !== this.expectedSeq) {
      throw new TransportError(`Channel ${this.describe}: expected frame ${this.expectedSeq}, got ${frame.seq}; ${frame.seq > this.expectedSeq ? "frames were lost" : "a frame arrived twice"}.`);
    }
    this.expectedSeq++;
  }

  /** Records rows processed; returns credit to the sender once half the window is used. */
  consume(rows: number): void {
    this.consumed += rows;
    if (this.consumed * 2 >= this.flow.window) {
      const frame: CreditFrame = { kind: FRAME_CREDIT, receiver: this.receiverIndex, credits: this.consumed };
      this.consumed = 0;
      this.transport.publish(this.creditSubject, encodeFrame(frame));
    }
  }
}
