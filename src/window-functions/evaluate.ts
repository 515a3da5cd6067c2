// Computes window functions over a static input: rows split by the partition keys, each partition sorted by the order
// keys, then every function read per row over its frame. Frames that start unbounded grow one accumulator per
// partition; bounded frames fold their rows per row.
import { escapeKeyPart } from "../core/keys.ts";
import { jsonWithLongs } from "../core/long.ts";
import type { Row } from "../core/types.ts";
import { sortOrdering } from "../expr/compare.ts";
import { createAccumulator } from "../operators/aggregate-functions.ts";
import type { ResolvedWindow } from "./resolve.ts";

interface Entry {
  readonly row: Row;
  readonly keys: readonly unknown[];
}

/** The rows with one more column per window (its `field.name`), in partition order. */
export function evaluateWindows(rows: readonly Row[], windows: readonly ResolvedWindow[]): Row[] {
  let current = rows.map((row) => ({ ...row }));
  for (const window of windows) current = evaluateWindow(current, window);
  return current;
}

function evaluateWindow(rows: readonly Row[], window: ResolvedWindow): Row[] {
  const partitions = new Map<string, Row[]>();
  const evaluators = window.partitionBy.map((key) => key.evaluate);
  for (const row of rows) {
    const key = evaluators.length === 0 ? "" : partitionKey(evaluators.map((evaluate) => evaluate(row)));
    const partition = partitions.get(key);
    if (partition) partition.push(row);
    else partitions.set(key, [row]);
  }
  const compare = entryComparator(window);
  const output: Row[] = [];
  for (const partition of partitions.values()) {
    const entries = partition.map((row): Entry => ({ row, keys: window.orderBy.map((order) => order.key.evaluate(row)) }));
    entries.sort(compare);
    const values = partitionValues(entries, window, compare);
    entries.forEach((entry, index) => {
      entry.row[window.field.name] = values[index] ?? null;
      output.push(entry.row);
    });
  }
  return output;
}

/**
 * Partition keys compare as Spark groups: equal values (nulls together), by type and value. A struct or an array by
 * its JSON (longs digit for digit): its String() was "[object Object]" for every struct, and "1,2" for [1, 2] and
 * ["1,2"].
 */
function partitionKey(values: readonly unknown[]): string {
  return values.map((value) => (value === null || value === undefined ? "n" : `${typeof value}:${escapeKeyPart(partitionText(value))}`)).join("\u0000");
}

function partitionText(value: unknown): string {
  if (typeof value !== "object" || value === null) return String(value);
  if (value instanceof Date) return String(value.getTime());
  if (value instanceof Uint8Array) return String(value);
  return jsonWithLongs(value);
}

function entryComparator(window: ResolvedWindow): (left: Entry, right: Entry) => number {
  const keys = window.orderBy.map((order) => ({ ordering: sortOrdering(order.key.type), sign: order.descending ? -1 : 1, nullsFirst: order.nullsFirst }));
  return (left, right) => {
    for (let index = 0; index < keys.length; index++) {
      const key = keys[index] as (typeof keys)[number];
      const a = left.keys[index];
      const b = right.keys[index];
      const aNull = a === null || a === undefined;
      const bNull = b === null || b === undefined;
      if (aNull || bNull) {
        if (aNull && bNull) continue;
        return aNull === key.nullsFirst ? -1 : 1;
      }
      const order = key.ordering(a, b) * key.sign;
      if (order !== 0) return order;
    }
    return 0;
  };
}

/** Each row's value, for one sorted partition. */
function partitionValues(entries: readonly Entry[], window: ResolvedWindow, compare: (left: Entry, right: Entry) => number): unknown[] {
  const count = entries.length;
  // peerEnd[i]: the index after the last row that orders equal to row i (its peers share rank and a RANGE frame's edge).
  const peerStart: number[] = new Array<number>(count);
  const peerEnd: number[] = new Array<number>(count);
  for (let start = 0; start < count;) {
    let end = start + 1;
    while (end < count && compare(entries[start] as Entry, entries[end] as Entry) === 0) end++;
    for (let index = start; index < end; index++) {
      peerStart[index] = start;
      peerEnd[index] = end;
    }
    start = end;
  }
  const fn = window.function;
  switch (fn.kind) {
    case "ranking":
      return rankings(fn.name, count, peerStart, peerEnd);
    case "ntile":
      return ntile(fn.buckets, count);
    case "offset":
      return entries.map((entry, index) => {
        const other = entries[index + fn.offset];
        if (other !== undefined) return fn.input.evaluate(other.row);
        return fn.fallback ? fn.fallback.evaluate(entry.row) : null;
      });
    case "aggregate":
      return aggregates(entries, window, fn, peerStart, peerEnd);
  }
}

function rankings(name: Extract<ResolvedWindow["function"], { kind: "ranking" }>["name"], count: number, peerStart: readonly number[], peerEnd: readonly number[]): unknown[] {
  const values: unknown[] = [];
  let dense = 0;
  for (let index = 0; index < count; index++) {
    if (peerStart[index] === index) dense++;
    const rank = (peerStart[index] as number) + 1;
    switch (name) {
      case "row_number": values.push(index + 1); break;
      case "rank": values.push(rank); break;
      case "dense_rank": values.push(dense); break;
      case "percent_rank": values.push(count === 1 ? 0 : (rank - 1) / (count - 1)); break;
      case "cume_dist": values.push((peerEnd[index] as number) / count); break;
    }
  }
  return values;
}

/** Spark's NTILE: the first `count % buckets` buckets hold one row more than the others. */
function ntile(buckets: number, count: number): number[] {
  const size = Math.floor(count / buckets);
  const larger = count % buckets;
  const values: number[] = [];
  for (let bucket = 0; bucket < buckets; bucket++) {
    const rows = size + (bucket < larger ? 1 : 0);
    for (let row = 0; row < rows; row++) values.push(bucket + 1);
  }
  return values;
}

/** The frame [first, end) of row `index`: ROWS by position, RANGE by peers or by the order key's value. */
function frameOf(entries: readonly Entry[], window: ResolvedWindow, index: number, peerStart: readonly number[], peerEnd: readonly number[]): [number, number] {
  const { unit, start, end } = window.frame;
  const count = entries.length;
  if (unit === "rows") {
    const first = start === -Infinity ? 0 : Math.max(0, index + start);
    const last = end === Infinity ? count : Math.min(count, index + end + 1);
    return [first, Math.max(first, last)];
  }
  const value = entries[index]?.keys[0];
  const offsetBound = (bound: number, lower: boolean): number => {
    if (bound === -Infinity) return 0;
    if (bound === Infinity) return count;
    if (bound === 0 || value === null || value === undefined) return lower ? (peerStart[index] as number) : (peerEnd[index] as number);
    const descending = window.orderBy[0]?.descending === true;
    const target = Number(value) + (descending ? -bound : bound);
    const inside = (candidate: unknown): boolean => {
      if (candidate === null || candidate === undefined) return false;
      const number = Number(candidate);
      return lower ? (descending ? number <= target : number >= target) : (descending ? number >= target : number <= target);
    };
    // The partition is sorted on this key: walk from the current row to where the bound's condition starts (or stops) holding.
    if (lower) {
      let first = index;
      if (inside(entries[index]?.keys[0])) while (first > 0 && inside(entries[first - 1]?.keys[0])) first--;
      else while (first < count && !inside(entries[first]?.keys[0])) first++;
      return first;
    }
    let last = index;
    if (inside(entries[index]?.keys[0])) while (last < count && inside(entries[last]?.keys[0])) last++;
    else while (last > 0 && !inside(entries[last - 1]?.keys[0])) last--;
    return last;
  };
  const first = offsetBound(start, true);
  const last = offsetBound(end, false);
  return [first, Math.max(first, last)];
}

function aggregates(entries: readonly Entry[], window: ResolvedWindow, fn: Extract<ResolvedWindow["function"], { kind: "aggregate" }>, peerStart: readonly number[], peerEnd: readonly number[]): unknown[] {
  const read = fn.input?.evaluate;
  const add = (accumulator: ReturnType<typeof createAccumulator>, entry: Entry): void => accumulator.add(read ? read(entry.row) : 1);
  const values: unknown[] = [];
  if (window.frame.start === -Infinity) {
    // The frame only grows: one accumulator, fed up to each row's frame end.
    const accumulator = createAccumulator(fn.name);
    let fed = 0;
    for (let index = 0; index < entries.length; index++) {
      const [, last] = frameOf(entries, window, index, peerStart, peerEnd);
      for (; fed < last; fed++) add(accumulator, entries[fed] as Entry);
      values.push(accumulator.result());
    }
    return values;
  }
  for (let index = 0; index < entries.length; index++) {
    const [first, last] = frameOf(entries, window, index, peerStart, peerEnd);
    const accumulator = createAccumulator(fn.name);
    for (let position = first; position < last; position++) add(accumulator, entries[position] as Entry);
    values.push(emptyFrame(fn.name, first, last) ?? accumulator.result());
  }
  return values;
}

/** An empty frame: count is 0, every other aggregate null (as Spark). */
function emptyFrame(name: string, first: number, last: number): unknown {
  if (first < last) return undefined;
  return name === "count" || name === "count_distinct" || name === "approx_count_distinct" ? 0 : null;
}
