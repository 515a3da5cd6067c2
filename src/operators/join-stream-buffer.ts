// One join key's buffered rows on one side of a stream-stream join, kept sorted by the last watermark each can match at
// (`until`: its time plus a constant under a time range, so the order of its time). The watermark then removes a prefix,
// and a probe skips the prefix that ended before the probing row's time, both found by binary search.
import type { Row } from "../core/types.ts";

/** A buffered row: the row as it came (hidden columns included), the last watermark it can match at, whether it matched. */
export interface Buffered {
  readonly row: Row;
  readonly until: number;
  matched: boolean;
}

/** Inserts after every entry with an `until` at most the new one's (equal ones keep their arrival order). */
export function insertSorted(list: Buffered[], entry: Buffered): void {
  const until = entry.until;
  // Rows mostly arrive in time order: the end is the usual place.
  const last = list[list.length - 1];
  if (last === undefined || last.until <= until) {
    list.push(entry);
    return;
  }
  list.splice(firstAbove(list, until), 0, entry);
}

/** The first index whose `until` is at least `time` (the list's length when none is). */
export function firstAtLeast(list: readonly Buffered[], time: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((list[middle] as Buffered).until < time) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The first index whose `until` is above `time`. */
function firstAbove(list: readonly Buffered[], time: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((list[middle] as Buffered).until <= time) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** How many leading entries the watermark has expired (`watermark > until`, join-stream-eviction.ts's expired()). */
export function expiredCount(list: readonly Buffered[], watermark: number): number {
  // Usually none or a few: look at the front before searching.
  const first = list[0];
  if (first === undefined || first.until >= watermark) return 0;
  return firstAtLeast(list, watermark);
}
