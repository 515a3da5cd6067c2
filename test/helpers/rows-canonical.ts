// Test helper: rows in forms to compare across runs that may order them differently (sorted text, the table update
// mode's rows describe).
import { inspect } from "node:util";
import { jsonWithLongs } from "../../src/core/long.ts";
import type { Row } from "../../src/index.ts";

/** Text that tells apart what deepStrictEqual does (NaN, -0, 5 and 5n, U+0000 in strings). */
export const show = (value: unknown): string => inspect(value, { depth: 8, breakLength: Number.POSITIVE_INFINITY });

/** The rows in the order of their text. */
export function sortedRows(rows: readonly Row[]): Row[] {
  return [...rows].sort((a, b) => (show(a) < show(b) ? -1 : show(a) > show(b) ? 1 : 0));
}

/** Each value's text, sorted. */
export const sortedShows = (values: readonly unknown[]): string[] => values.map(show).sort();

/** Each row as the JSON text of its entries (its names in order, longs digit for digit), sorted. */
export function canonical(rows: readonly Row[]): string[] {
  return rows.map((row) => jsonWithLongs(Object.entries(row))).sort();
}

/**
 * Update mode's rows as the table they describe: each key's last row (a key's rows come from one partition, in order),
 * in the order of the keys' text (`text`: show by default).
 */
export function latestByKey(rows: readonly Row[], keys: readonly string[], text: (key: unknown[]) => string = show): Row[] {
  const table = new Map<string, Row>();
  for (const row of rows) table.set(text(keys.map((key) => row[key])), row);
  return [...table.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}
