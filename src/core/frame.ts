// Frames: what travels between actors. A data frame carries rows; control frames carry barriers, ends and credits.
import type { EpochParams } from "./param-values.ts";
import type { PositionalRow, Row } from "./types.ts";

export const FRAME_DATA = 0;
export const FRAME_BARRIER = 1;
export const FRAME_CREDIT = 2;
export const FRAME_WATERMARK = 3;

/**
 * Rows from one sender to one receiver. `seq` counts frames on that channel from 1; `since` and `until` are the
 * ingest times (ms) of the oldest and the newest row, so the sink can spread the frame's latency over its rows.
 */
export interface DataFrame {
  readonly kind: typeof FRAME_DATA;
  readonly sender: number;
  readonly seq: number;
  readonly epoch: number;
  readonly since: number;
  readonly until: number;
  readonly rows: Row[];
}

/** A data frame whose rows are arrays in the order of `columns` (rows by position inside the engine; same bytes). */
export interface PositionalDataFrame extends Omit<DataFrame, "rows"> {
  readonly columns: readonly string[];
  readonly rows: PositionalRow[];
}

/** Marks the end of an epoch on a channel (asynchronous barrier snapshot). `final` asks the query to end after it. */
export interface BarrierFrame {
  readonly kind: typeof FRAME_BARRIER;
  readonly sender: number;
  readonly seq: number;
  readonly epoch: number;
  readonly final: boolean;
  /** The parameter values of the epoch after this one (src/params), when the query uses parameters. */
  readonly params?: EpochParams;
}

/** The sender's event-time watermark advanced: it will send no row older than `watermark` (ms) that matters downstream. */
export interface WatermarkFrame {
  readonly kind: typeof FRAME_WATERMARK;
  readonly sender: number;
  readonly seq: number;
  readonly watermark: number;
}

/** A receiver grants its sender room for `credits` more rows. */
export interface CreditFrame {
  readonly kind: typeof FRAME_CREDIT;
  readonly receiver: number;
  readonly credits: number;
}

export type ChannelFrame = DataFrame | BarrierFrame | WatermarkFrame;
export type Frame = ChannelFrame | CreditFrame;
