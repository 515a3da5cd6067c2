// The decisions of a stream-stream join, as pure functions: how long a buffered row can still meet a row of the other
// side (Spark's state watermarks, from the time-range condition or a watermarked join key), when a row is late, and
// when a row without a match is final and may be emitted with nulls.
//
// Conventions: times are milliseconds; `watermark` is the join's input watermark (Spark's global watermark). A row whose
// watermarked time is at or below it is late and dropped (Spark's rule), so every future row of a watermarked side has
// a time above it.

export type JoinSide = "left" | "right";

/**
 * What the condition says about `d = leftTime - rightTime` (one timestamp column on each side): `lower <= d` (or `<`)
 * and `d <= upper` (or `<`). Either bound may be missing.
 */
export interface TimeRange {
  readonly leftColumn: string;
  readonly rightColumn: string;
  readonly lower: number | undefined;
  readonly upper: number | undefined;
}

/** How one side's buffered rows expire, as the analysis found it. */
export type Expiry =
  /** The join key holds a watermarked time (or a window over it): the key is gone once the watermark passes it. */
  | { readonly kind: "key"; readonly column: string; readonly window: boolean }
  /** A time-range condition bounds this side's time from below by the other side's watermarked time. */
  | { readonly kind: "range"; readonly column: string; readonly offset: number }
  /** Nothing bounds it: the rows stay (Spark's unbounded state for a join without watermarks). */
  | { readonly kind: "never" };

/**
 * The expiry of one side's rows from the range condition (Spark's state value watermark), when the other side's column
 * in the range is its watermarked column: a left row at time tL can meet a future right row (tR > watermark) only while
 * tL - tR >= lower holds for some such tR, i.e. while watermark < tL - lower. Symmetrically, a right row at tR can meet a
 * future left row only while watermark < tR + upper.
 */
export function rangeExpiry(side: JoinSide, range: TimeRange, otherWatermarked: string | undefined): Expiry {
  if (side === "left") {
    if (range.lower === undefined || otherWatermarked !== range.rightColumn) return { kind: "never" };
    return { kind: "range", column: range.leftColumn, offset: -range.lower };
  }
  if (range.upper === undefined || otherWatermarked !== range.leftColumn) return { kind: "never" };
  return { kind: "range", column: range.rightColumn, offset: range.upper };
}

/**
 * The last watermark at which a buffered row can still find a match: once the watermark is above it, the row is
 * removed (and, unmatched on an outer side, emitted with nulls). Infinity: kept for ever; NaN never happens (a row
 * without a time keeps Infinity, since nothing proves it cannot match).
 */
export function keepUntil(expiry: Expiry, time: unknown): number {
  if (expiry.kind === "never") return Number.POSITIVE_INFINITY;
  if (expiry.kind === "key") {
    // A window's rows: every row of the key has the same window, which the watermark closes at its end (Spark's
    // eviction predicate on a window column compares its end).
    const value = expiry.window ? (time as { end?: unknown } | null)?.end : time;
    return typeof value === "number" ? value : Number.POSITIVE_INFINITY;
  }
  return typeof time === "number" ? time + expiry.offset : Number.POSITIVE_INFINITY;
}

/** The row can never match again: the watermark has passed the last moment it could. */
export function expired(until: number, watermark: number): boolean {
  return watermark > until;
}

/**
 * A row of a watermarked side is late when its watermarked time (a window's end) is at or below the watermark: Spark
 * drops it before the join, since the other side's rows it could meet may already be gone.
 */
export function isLate(time: unknown, window: boolean, watermark: number): boolean {
  const value = window ? (time as { end?: unknown } | null)?.end : time;
  return typeof value === "number" && value <= watermark;
}

/**
 * What happens to an arriving row besides its matches: whether it is buffered for rows of the other side still to come,
 * and whether it leaves now with nulls (an outer side's row that matched nothing and can match nothing later).
 */
export function arrivalDecision(options: {
  readonly matched: boolean;
  /** The row's side keeps its unmatched rows (left side of a left or full outer join, right of a right or full). */
  readonly preserved: boolean;
  /** Left semi join, left side: a matched row has been emitted once and is never needed again. */
  readonly semiLeft: boolean;
  readonly until: number;
  readonly watermark: number;
}): { readonly buffer: boolean; readonly emitUnmatched: boolean } {
  const { matched, preserved, semiLeft, until, watermark } = options;
  const future = !expired(until, watermark);
  if (semiLeft) return { buffer: !matched && future, emitUnmatched: false };
  return { buffer: future, emitUnmatched: preserved && !matched && !future };
}

/** A buffered row removed by the watermark leaves with nulls when its side is preserved and nothing matched it. */
export function emitOnEviction(preserved: boolean, matched: boolean): boolean {
  return preserved && !matched;
}
