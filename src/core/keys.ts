// Group keys: one string per key, hashed into a fixed number of key groups that are spread over partitions.
import { jsonWithLongs } from "./long.ts";
import type { PositionalRow, Row } from "./types.ts";

/** Key groups are fixed for a query's life, so a restart may change the number of partitions. */
export const KEY_GROUPS = 128;

/** Builds a function that turns a row's key columns into one string (types and nulls kept apart). */
export function keyOf(columns: readonly string[]): (row: Row) => string {
  // No columns (a global aggregation, `count(*)` without GROUP BY): every row has the one empty key.
  if (columns.length === 0) return () => "";
  const parts = columns.map(() => cachedPart());
  if (columns.length === 1) {
    const column = columns[0] as string;
    const partOf = parts[0] as (value: unknown) => string;
    return (row) => partOf(row[column]);
  }
  const first = columns[0] as string;
  const firstPart = parts[0] as (value: unknown) => string;
  return (row) => {
    // The first part as it is, each other escaped (`escapeKeyPart`): the key's last U+0000s are its separators.
    let key = firstPart(row[first]);
    for (let index = 1; index < columns.length; index++) key += laterPart(row[columns[index] as string], parts[index] as (value: unknown) => string);
    return key;
  };
}

/**
 * keyOf over rows by position: `indexes` are the key columns' places in the row. The same string as keyOf's for the
 * same values (the same parts, joined the same way), so state keyed either way is one state.
 */
export function positionalKeyOf(indexes: readonly number[]): (row: PositionalRow) => string {
  if (indexes.length === 0) return () => "";
  const parts = indexes.map(() => cachedPart());
  const first = indexes[0] as number;
  const firstPart = parts[0] as (value: unknown) => string;
  if (indexes.length === 1) return (row) => firstPart(row[first]);
  return (row) => {
    let key = firstPart(row[first]);
    for (let index = 1; index < indexes.length; index++) key += laterPart(row[indexes[index] as number], parts[index] as (value: unknown) => string);
    return key;
  };
}

/** A part after the first with its separator before it, escaped (`escapeKeyPart`) where it may hold U+0000. */
function laterPart(value: unknown, partOf: (value: unknown) => string): string {
  // Only a string's text or an odd object's can hold U+0000 (a number's, a window's of numbers and JSON's cannot).
  if (typeof value === "string") return `\u0000s${escapeKeyPart(value)}`;
  if (typeof value === "object" && value !== null) return `\u0000${escapeKeyPart(partOf(value))}`;
  return `\u0000${partOf(value)}`;
}

/** The character that escapes U+0000 (and itself) inside one part of a key of several parts. */
const KEY_ESCAPE = "\u0002";

/**
 * A part after the first of a key of several parts, made safe to join on U+0000: a part holding U+0000 or U+0002 has
 * U+0002 doubled and U+0000 written as U+0002 "0"; any other part is left as it is, so the keys of checkpoints written
 * before stay the same. An escaped part holds U+0002 and no U+0000, an unescaped one neither, so the last n - 1
 * U+0000s of a key of n parts are its separators: what comes before them is the first part (left as it is, as a key of
 * one part is, which saves a scan of its text), and each part between and after them one value. Two rows get the same
 * key only when their values are the same.
 */
export function escapeKeyPart(part: string): string {
  return needsEscape(part) ? escaped(part) : part;
}

function escaped(part: string): string {
  let escaped = "";
  for (const character of part) escaped += character === KEY_ESCAPE ? "\u0002\u0002" : character === "\u0000" ? "\u00020" : character;
  return escaped;
}

/** Whether `text` holds U+0000 or U+0002: a loop, cheaper than two `includes` calls (keyOf of two short strings, both checked: 241 instructions a row more than no check, against 397). */
function needsEscape(text: string): boolean {
  const length = text.length;
  for (let index = 0; index < length; index++) {
    const code = text.charCodeAt(index);
    if (code < 3 && code !== 1) return true;
  }
  return false;
}

/**
 * `part`, keeping the last window's part: the rows of a stream mostly fall into the window of the row before, and
 * its two numbers were turned into strings for every row (bench/micro/partitioner.ts, the key string: 387 heap bytes a
 * row before, 206 after). The window is matched by its numbers, not by identity (each row carries its own window
 * object), and the same numbers give the same string.
 */
function cachedPart(): (value: unknown) => string {
  let lastStart = Number.NaN;
  let lastEnd = Number.NaN;
  let lastPart = "";
  return (value) => {
    if (typeof value === "object" && value !== null && isWindow(value)) {
      const { start, end } = value;
      if (typeof start !== "number" || typeof end !== "number") return part(value);
      // NaN never equals itself, so a NaN bound is turned into a string each time (as `part` would).
      if (start !== lastStart || end !== lastEnd) {
        lastPart = part(value);
        lastStart = start;
        lastEnd = end;
      }
      return lastPart;
    }
    return part(value);
  };
}

/**
 * A window's value: an object of two numbers, `start` and `end`, and nothing else. A struct that has those fields
 * and others (or bounds that are not numbers) is a struct, keyed by its JSON: taken for a window, its other fields
 * were left out of the key (structs differing only there made one group) and texts joined on ':' read the same.
 */
function isWindow(value: object): value is { start: number | bigint; end: number | bigint } {
  if (!("start" in value && "end" in value && isBound(value.start) && isBound(value.end))) return false;
  let keys = 0;
  for (const _key in value) if (++keys > 2) return false;
  return keys === 2;
}

function isBound(value: unknown): boolean {
  return typeof value === "number" || typeof value === "bigint";
}

/** `String(value)` for one number at a time, keeping the last: the same text for the same number (0 and -0 both "0"). */
function numberText(): (value: number) => string {
  let last = Number.NaN;
  let text = "NaN";
  return (value) => {
    if (value !== last) {
      last = value;
      text = String(value);
    }
    return text;
  };
}

/** One value's key: equal values (structs and arrays by their contents, longs past 2^53 digit for digit) give one key. */
export function keyOfValue(value: unknown): string {
  return part(value);
}

function part(value: unknown): string {
  if (value === null || value === undefined) return "\u0001";
  if (typeof value === "string") return `s${value}`;
  // A long past 2^53 is a bigint (JSON.stringify refuses one); its text is the number's, so a long column's key is
  // the same whichever form a value came in (42 and 42n).
  if (typeof value === "number" || typeof value === "bigint") return `n${value}`;
  if (typeof value === "boolean") return value ? "t" : "f";
  if (typeof value === "object" && isWindow(value)) return `w${String(value.start)}:${String(value.end)}`;
  // Longs past 2^53 inside as JSON numbers, digit for digit (JSON.stringify throws on a bigint); the same text as
  // JSON.stringify's for any other value.
  return `o${jsonWithLongs(value)}`;
}

/** FNV-1a over the key string: stable across processes and restarts. */
export function hashKey(key: string): number {
  let hash = FNV_OFFSET;
  for (let index = 0; index < key.length; index++) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function keyGroupOf(key: string): number {
  return hashKey(key) % KEY_GROUPS;
}

/** The key group of a single-column key's value: the one the hash exchange sends its rows to. */
export function keyGroupOfValue(value: unknown): number {
  return keyGroupOf(part(value));
}

/** Flink's assignment: contiguous ranges of key groups per partition. */
export function partitionOfKeyGroup(keyGroup: number, partitions: number): number {
  return Math.floor((keyGroup * partitions) / KEY_GROUPS);
}

/**
 * The partition of a row's key: the same as `partitionOfKeyGroup(keyGroupOf(keyOf(columns)(row)), partitions)`, but
 * hashed part by part, so that routing a row builds no key string (a string a row, and for a window or several
 * columns a few more, that the hash exchange only hashed and dropped).
 */
export function partitionerOf(columns: readonly string[], partitions: number): (row: Row) => number {
  const starts = columns.map(() => numberText());
  const ends = columns.map(() => numberText());
  return (row) => {
    let hash = FNV_OFFSET;
    for (let index = 0; index < columns.length; index++) {
      if (index > 0) hash = hashChar(hash, 0);
      hash = hashPart(hash, row[columns[index] as string], starts[index] as (value: number) => string, ends[index] as (value: number) => string, index > 0);
    }
    return partitionOfKeyGroup((hash >>> 0) % KEY_GROUPS, partitions);
  };
}

/** partitionerOf over rows by position: `indexes` are the key columns' places in the row (the same hash, so the same partition). */
export function positionalPartitionerOf(indexes: readonly number[], partitions: number): (row: PositionalRow) => number {
  const starts = indexes.map(() => numberText());
  const ends = indexes.map(() => numberText());
  return (row) => {
    let hash = FNV_OFFSET;
    for (let index = 0; index < indexes.length; index++) {
      if (index > 0) hash = hashChar(hash, 0);
      hash = hashPart(hash, row[indexes[index] as number], starts[index] as (value: number) => string, ends[index] as (value: number) => string, index > 0);
    }
    return partitionOfKeyGroup((hash >>> 0) % KEY_GROUPS, partitions);
  };
}

const FNV_OFFSET = 0x811c9dc5;

function hashChar(hash: number, code: number): number {
  return Math.imul(hash ^ code, 0x01000193);
}

function hashText(hash: number, text: string): number {
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  return hash;
}

/** hashText over `escapeKeyPart(text)`, escaping as it goes (no scan before, no string built). */
function hashEscapedText(hash: number, text: string): number {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0) hash = Math.imul(Math.imul(hash ^ 0x02, 0x01000193) ^ 0x30, 0x01000193);
    else if (code === 0x02) hash = Math.imul(Math.imul(hash ^ 0x02, 0x01000193) ^ 0x02, 0x01000193);
    else hash = Math.imul(hash ^ code, 0x01000193);
  }
  return hash;
}

/**
 * hashKey's steps over `part(value)` (through `escapeKeyPart` when `escaped`: a part after the first), for the kinds a
 * key usually has, without building `part(value)`.
 */
function hashPart(hash: number, value: unknown, startText: (value: number) => string, endText: (value: number) => string, escaped: boolean): number {
  if (typeof value === "string") return escaped ? hashEscapedText(hashChar(hash, 0x73), value) : hashText(hashChar(hash, 0x73), value);
  if (typeof value === "number") return hashText(hashChar(hash, 0x6e), String(value));
  if (typeof value === "object" && value !== null && isWindow(value)) {
    // A window's bounds through the last-number caches (the rows of a stream mostly share a window): no string a row
    // (bench/micro/partitioner.ts: 138 heap bytes a row before, 56 after).
    const { start, end } = value;
    const startPart = typeof start === "number" ? startText(start) : String(start);
    const endPart = typeof end === "number" ? endText(end) : String(end);
    return hashText(hashChar(hashText(hashChar(hash, 0x77), startPart), 0x3a), endPart);
  }
  return hashText(hash, escaped ? escapeKeyPart(part(value)) : part(value));
}
