// The static side of a stream-static join: its rows, run whole by the static engine when the query starts (and again
// on its refresh interval), indexed by the join key and shared by every partition of the joining stage.
import { escapeKeyPart } from "../core/keys.ts";
import { jsonWithLongs } from "../core/long.ts";
import type { PositionalRow, Row } from "../core/types.ts";

/**
 * The join key of a row (a value a Map compares), or undefined when a part is null (null never equals anything in a
 * join). Both sides' key columns have the same type or are both numeric (analysis checks it), so keys of different
 * kinds never meet.
 */
export type KeyOf = (row: Row) => unknown;

/** One version of the static rows, and where each key's rows are. */
export interface StaticRows {
  readonly rows: readonly Row[];
  /** Row positions by join key; undefined when the join has no equality to hash on (every row is a candidate). */
  readonly index: ReadonlyMap<unknown, readonly number[]> | undefined;
  /** 1 for the first load, then one more per reload. */
  readonly version: number;
}

/** A key string from the values of the key columns; numbers of any type (int, long, double, bigint) compare by value. */
export function keyOfColumns(columns: readonly string[]): KeyOf {
  if (columns.length === 1) {
    // One key column: the value itself is the key (no string built), a struct or array its JSON text.
    const column = columns[0] as string;
    return (row) => {
      const value = row[column];
      if (value === null || value === undefined) return undefined;
      return typeof value === "object" ? jsonWithLongs(value) : value;
    };
  }
  return (row) => {
    let key = "";
    for (let index = 0; index < columns.length; index++) {
      const value = row[columns[index] as string];
      if (value === null || value === undefined) return undefined;
      key += keyPart(value, index);
    }
    return key;
  };
}

/** keyOfColumns over rows by position: the same keys from the values at `indexes` (the static index's keys). */
export function positionalKeyOfColumns(indexes: readonly number[]): (row: PositionalRow) => unknown {
  if (indexes.length === 1) {
    const at = indexes[0] as number;
    return (row) => {
      const value = row[at];
      if (value === null || value === undefined) return undefined;
      return typeof value === "object" ? jsonWithLongs(value) : value;
    };
  }
  return (row) => {
    let key = "";
    for (let index = 0; index < indexes.length; index++) {
      const value = row[indexes[index] as number];
      if (value === null || value === undefined) return undefined;
      key += keyPart(value, index);
    }
    return key;
  };
}

/** One part of a key of several columns: its kind, its text (a string's U+0000 escaped after the first: different values, different keys). */
function keyPart(value: unknown, index: number): string {
  const text = typeof value === "object" ? jsonWithLongs(value) : String(value);
  return typeof value === "number" || typeof value === "bigint" ? `n${String(value)}\u0000` : `${typeof value === "string" ? "s" : "o"}${index === 0 ? text : escapeKeyPart(text)}\u0000`;
}

// One version's rows by position, made on the first probe by position after a load and shared by every partition.
const positionalVersions = new WeakMap<StaticRows, readonly PositionalRow[]>();

/** The rows of `rows` as arrays in the order of `columns` (the static side's schema), made once a version. */
export function positionalStaticRows(rows: StaticRows, columns: readonly string[]): readonly PositionalRow[] {
  let arrays = positionalVersions.get(rows);
  if (arrays === undefined) {
    arrays = rows.rows.map((row) => columns.map((name) => {
      const value = row[name];
      return value === undefined ? null : value;
    }));
    positionalVersions.set(rows, arrays);
  }
  return arrays;
}

export class StaticTable {
  private current: StaticRows | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reloading = false;
  /** Reloads that failed since the query started (the previous rows stayed in use), and the last one's error; cleared by a good reload. */
  failedReloads = 0;
  lastReloadError: string | undefined;

  constructor(readonly description: string, private readonly read: () => Promise<Row[]>, private readonly keyOf: KeyOf | undefined, readonly refreshIntervalMs: number | undefined) {}

  /** The rows as of the last complete load. A reload replaces them whole: a row never meets half a table. */
  get rows(): StaticRows {
    if (!this.current) throw new Error(`The static side ${this.description} of a join was not loaded before the query ran.`);
    return this.current;
  }

  get loaded(): boolean {
    return this.current !== undefined;
  }

  async load(): Promise<void> {
    const rows = await this.read();
    let index: Map<unknown, number[]> | undefined;
    if (this.keyOf) {
      index = new Map();
      rows.forEach((row, position) => {
        const key = (this.keyOf as KeyOf)(row);
        if (key === undefined) return;
        const positions = (index as Map<unknown, number[]>).get(key);
        if (positions) positions.push(position);
        else (index as Map<unknown, number[]>).set(key, [position]);
      });
    }
    this.current = { rows, index, version: (this.current?.version ?? 0) + 1 };
  }

  /** Reloads on the refresh interval until stop(); a failed reload keeps the previous rows and is logged, the next one tries again. */
  startRefresh(log: (message: string) => void): void {
    if (this.refreshIntervalMs === undefined || this.timer) return;
    this.timer = setInterval(() => {
      if (this.reloading) return;
      this.reloading = true;
      this.load()
        .then(() => (this.lastReloadError = undefined))
        .catch((error: unknown) => {
          this.failedReloads++;
          this.lastReloadError = String(error);
          log(`rill: reloading the static side ${this.description} of a join failed; the rows loaded before stay in use: ${String(error)}`);
        })
        .finally(() => (this.reloading = false));
    }, this.refreshIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
