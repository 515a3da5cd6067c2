// Source offsets only move forward: the pure check the coordinator makes on an epoch's acked offsets before it commits.
//
// Offsets are opaque to the protocol (a stream sequence, a list of files, a generator's count), so each source says
// how two of its offsets compare (`SourceReader.offsetOrder`). An ack whose offset is behind the one committed before
// it would make a restart read rows again (or, forged the other way on a later restart, skip them): a forged ack on
// the coordinator subject, or a bug. Either way the epoch must not commit.

/** Whether `later` is at or after `earlier`, for one source's offsets; false also when either is not such an offset. */
export type OffsetOrder = (earlier: unknown, later: unknown) => boolean;

/** Offsets that count something from 0 (a stream sequence, rows of a memory stream): a whole number never smaller. */
export const sequenceOrder: OffsetOrder = (earlier, later) => isCount(earlier) && isCount(later) && later >= earlier;

export function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** A source whose acked offset is behind the last one the coordinator took (committed, or handed to the commit). */
export interface OffsetRegression {
  readonly source: string;
  readonly previous: unknown;
  /** Undefined: the ack carried no offset although an earlier epoch had one. */
  readonly acked: unknown;
}

/**
 * The first source, in `orders`, whose offset in `acked` is not at or after its offset in `previous`. A source with no
 * previous offset (nothing read yet) is not checked; one whose ack has lost its offset is a regression (a restart
 * would read it from the start). Sources without an order are opaque and not checked.
 */
export function findOffsetRegression(
  previous: Readonly<Record<string, unknown>>,
  acked: Readonly<Record<string, unknown>>,
  orders: ReadonlyMap<string, OffsetOrder>,
): OffsetRegression | undefined {
  for (const [source, order] of orders) {
    const before = previous[source];
    if (before === undefined) continue;
    const now = acked[source];
    if (now === undefined || !order(before, now)) return { source, previous: before, acked: now };
  }
  return undefined;
}

/** An offset for an error message: JSON, cut to 200 characters. */
export function describeOffset(offset: unknown): string {
  if (offset === undefined) return "none";
  let text: string;
  try {
    text = JSON.stringify(offset) ?? String(offset);
  } catch {
    // A value JSON cannot show (a cycle, a bigint) is still named, by its type.
    text = `(a ${typeof offset})`;
  }
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
