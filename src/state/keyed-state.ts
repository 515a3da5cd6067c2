// Keyed state for operators: value, map and list state per key, tracked so that a snapshot writes only what changed.
//
// Keys are strings; each lives in the key group its hash gives, so state can move between partitions on a restart.
import { keyGroupOf as defaultKeyGroup } from "../core/keys.ts";
import type { StateChange } from "./types.ts";

const SEPARATOR = "\u0000";

/** All state of one operator instance: named states, each holding a value per key (a map or a list is one value). */
export class KeyedStateTable {
  private readonly values = new Map<string, unknown>();
  private readonly dirty = new Set<string>();

  /** `keyGroupOf` must agree with the exchange that routes the keys' rows, so a restore finds each key's partition. */
  constructor(readonly stateId: string, private readonly keyGroupOf: (key: string) => number = defaultKeyGroup) {}

  value<T>(name: string): ValueState<T> {
    return new ValueState<T>(this, name);
  }

  map<K, V>(name: string): MapState<K, V> {
    return new MapState<K, V>(this, name);
  }

  list<T>(name: string): ListState<T> {
    return new ListState<T>(this, name);
  }

  get size(): number {
    return this.values.size;
  }

  /** The changes since the last snapshot (a removed entry is written as null), then forgets them. */
  snapshot(): StateChange[] {
    const changes: StateChange[] = [];
    for (const entry of this.dirty) {
      const key = entry.slice(entry.indexOf(SEPARATOR) + 1);
      changes.push({ stateId: this.stateId, keyGroup: this.keyGroupOf(key), key: entry, value: this.values.get(entry) ?? null });
    }
    this.dirty.clear();
    return changes;
  }

  restore(entries: Iterable<[string, unknown]>): void {
    for (const [entry, value] of entries) this.values.set(entry, value);
  }

  /** @internal */
  read(name: string, key: string): unknown {
    return this.values.get(`${name}${SEPARATOR}${key}`);
  }

  /** @internal Writes a value (undefined removes it) and marks it for the next snapshot. */
  write(name: string, key: string, value: unknown): void {
    const entry = `${name}${SEPARATOR}${key}`;
    if (value === undefined) this.values.delete(entry);
    else this.values.set(entry, value);
    this.dirty.add(entry);
  }

  /** @internal Keys of one named state. */
  *keys(name: string): Iterable<string> {
    const prefix = `${name}${SEPARATOR}`;
    for (const entry of this.values.keys()) if (entry.startsWith(prefix)) yield entry.slice(prefix.length);
  }
}

export class ValueState<T> {
  constructor(private readonly table: KeyedStateTable, private readonly name: string) {}

  get(key: string): T | undefined {
    return this.table.read(this.name, key) as T | undefined;
  }

  update(key: string, value: T): void {
    this.table.write(this.name, key, value);
  }

  clear(key: string): void {
    this.table.write(this.name, key, undefined);
  }

  keys(): Iterable<string> {
    return this.table.keys(this.name);
  }
}

/** A map per key, stored as one value (entries as pairs, so any msgpack-able key works). */
export class MapState<K, V> {
  constructor(private readonly table: KeyedStateTable, private readonly name: string) {}

  get(key: string, mapKey: K): V | undefined {
    return this.entries(key).find(([candidate]) => candidate === mapKey)?.[1];
  }

  put(key: string, mapKey: K, value: V): void {
    const entries = this.entries(key).filter(([candidate]) => candidate !== mapKey);
    entries.push([mapKey, value]);
    this.table.write(this.name, key, entries);
  }

  remove(key: string, mapKey: K): void {
    const entries = this.entries(key).filter(([candidate]) => candidate !== mapKey);
    this.table.write(this.name, key, entries.length > 0 ? entries : undefined);
  }

  entries(key: string): Array<[K, V]> {
    return [...((this.table.read(this.name, key) as Array<[K, V]> | undefined) ?? [])];
  }
}

export class ListState<T> {
  constructor(private readonly table: KeyedStateTable, private readonly name: string) {}

  get(key: string): T[] {
    return [...((this.table.read(this.name, key) as T[] | undefined) ?? [])];
  }

  add(key: string, value: T): void {
    this.table.write(this.name, key, [...this.get(key), value]);
  }

  update(key: string, values: readonly T[]): void {
    this.table.write(this.name, key, values.length > 0 ? [...values] : undefined);
  }

  clear(key: string): void {
    this.table.write(this.name, key, undefined);
  }
}
