// Aggregate functions as accumulators: create, add a value, read the result. Nulls are skipped as in SQL.
import { keyOfValue } from "../core/keys.ts";
import { addLong } from "../core/long.ts";

export const AGGREGATE_NAMES = ["count", "sum", "avg", "min", "max", "first", "last", "count_distinct", "approx_count_distinct", "collect_list", "collect_set"] as const;

export type AggregateName = (typeof AGGREGATE_NAMES)[number];

export interface Accumulator {
  add(value: unknown): void;
  result(): unknown;
  /** The accumulator's state as a plain value (for checkpoints). */
  save(): unknown;
  load(state: unknown): void;
  /** Folds another accumulator of the same function in (session windows merge this way). */
  merge(other: Accumulator): void;
}

export function createAccumulator(name: AggregateName): Accumulator {
  switch (name) {
    case "count": return new Count();
    case "sum": return new Sum();
    case "avg": return new Average();
    case "min": return new Extreme(-1);
    case "max": return new Extreme(1);
    case "first": return new First();
    case "last": return new Last();
    case "count_distinct":
    case "approx_count_distinct": return new DistinctCount();
    case "collect_list": return new CollectList();
    case "collect_set": return new CollectSet();
  }
}

/**
 * Exact distinct count (approx_count_distinct too: exact is within any error bound, and state stays per group).
 * Numbers, strings and booleans are told apart by value; structs, arrays and binaries by their contents (a Set of
 * objects told every row's struct apart, so count(DISTINCT array(x)) counted rows and collect_set kept duplicates).
 */
class DistinctCount implements Accumulator {
  protected values = new Set<unknown>();
  /** Objects (structs, arrays, binaries) by their key (src/core/keys.ts). */
  protected objects = new Map<string, unknown>();
  add(value: unknown): void {
    if (value === null || value === undefined) return;
    if (typeof value === "object") {
      const key = keyOfValue(value);
      if (!this.objects.has(key)) this.objects.set(key, value);
    } else {
      this.values.add(value);
    }
  }
  result(): unknown {
    return this.values.size + this.objects.size;
  }
  save(): unknown {
    return this.objects.size === 0 ? [...this.values] : [...this.values, ...this.objects.values()];
  }
  load(state: unknown): void {
    this.values = new Set();
    this.objects = new Map();
    for (const value of state as unknown[]) this.add(value);
  }
  merge(other: Accumulator): void {
    const from = other as DistinctCount;
    for (const value of from.values) this.values.add(value);
    for (const [key, value] of from.objects) if (!this.objects.has(key)) this.objects.set(key, value);
  }
}

class CollectList implements Accumulator {
  private values: unknown[] = [];
  add(value: unknown): void {
    if (value !== null && value !== undefined) this.values.push(value);
  }
  result(): unknown {
    return [...this.values];
  }
  save(): unknown {
    return this.values;
  }
  load(state: unknown): void {
    this.values = [...(state as unknown[])];
  }
  merge(other: Accumulator): void {
    this.values.push(...(other as CollectList).values);
  }
}

/** The distinct values themselves: the same state as DistinctCount, another result. */
class CollectSet extends DistinctCount {
  override result(): unknown {
    return this.save();
  }
}

class Count implements Accumulator {
  private count = 0;
  add(value: unknown): void {
    if (value !== null && value !== undefined) this.count++;
  }
  result(): unknown {
    return this.count;
  }
  save(): unknown {
    return this.count;
  }
  load(state: unknown): void {
    this.count = state as number;
  }
  merge(other: Accumulator): void {
    this.count += (other as Count).count;
  }
}

class Sum implements Accumulator {
  /** A bigint once a long past 2^53 takes part (src/core/long.ts): the sum of longs stays exact. */
  private sum: number | bigint | null = null;
  add(value: unknown): void {
    if (typeof value === "number" && typeof this.sum !== "bigint") this.sum = (this.sum ?? 0) + value;
    else if (typeof value === "number" || typeof value === "bigint") this.sum = addLong(this.sum ?? 0, value);
  }
  result(): unknown {
    return this.sum;
  }
  save(): unknown {
    return this.sum;
  }
  load(state: unknown): void {
    this.sum = state as number | bigint | null;
  }
  merge(other: Accumulator): void {
    const sum = (other as Sum).sum;
    if (sum !== null) this.add(sum);
  }
}

class Average implements Accumulator {
  private sum = 0;
  private count = 0;
  add(value: unknown): void {
    if (typeof value !== "number" && typeof value !== "bigint") return;
    this.sum += Number(value);
    this.count++;
  }
  result(): unknown {
    return this.count === 0 ? null : this.sum / this.count;
  }
  save(): unknown {
    return [this.sum, this.count];
  }
  load(state: unknown): void {
    [this.sum, this.count] = state as [number, number];
  }
  merge(other: Accumulator): void {
    this.sum += (other as Average).sum;
    this.count += (other as Average).count;
  }
}

class Extreme implements Accumulator {
  private value: unknown = null;
  constructor(private readonly sign: 1 | -1) {}
  add(value: unknown): void {
    if (value === null || value === undefined) return;
    if (this.value === null || compare(value, this.value) * this.sign > 0) this.value = value;
  }
  result(): unknown {
    return this.value;
  }
  save(): unknown {
    return this.value;
  }
  load(state: unknown): void {
    this.value = state;
  }
  merge(other: Accumulator): void {
    this.add((other as Extreme).value);
  }
}

class First implements Accumulator {
  private seen = false;
  private value: unknown = null;
  add(value: unknown): void {
    if (this.seen) return;
    this.seen = true;
    this.value = value ?? null;
  }
  result(): unknown {
    return this.value;
  }
  save(): unknown {
    return [this.seen, this.value];
  }
  load(state: unknown): void {
    [this.seen, this.value] = state as [boolean, unknown];
  }
  merge(other: Accumulator): void {
    const first = other as First;
    if (!this.seen && first.seen) [this.seen, this.value] = [true, first.value];
  }
}

class Last implements Accumulator {
  private value: unknown = null;
  add(value: unknown): void {
    this.value = value ?? null;
  }
  result(): unknown {
    return this.value;
  }
  save(): unknown {
    return this.value;
  }
  load(state: unknown): void {
    this.value = state;
  }
  merge(other: Accumulator): void {
    this.value = (other as Last).value ?? this.value;
  }
}

function compare(left: unknown, right: unknown): number {
  if (typeof left === "number" && typeof right === "number") {
    if (left < right) return -1;
    if (left > right) return 1;
    // Equal, or a NaN: Spark orders NaN after every other double and equal to itself (left - right made max(1, NaN)
    // 1 and min(NaN, 1) NaN, depending on which came first).
    const leftNaN = Number.isNaN(left);
    return leftNaN === Number.isNaN(right) ? 0 : leftNaN ? 1 : -1;
  }
  // A long past 2^53 is a bigint, the long column's other values numbers: < and > order them exactly (their text, as
  // below, made max(2^53 + 1, 2^60) the first and max(5, 2^60) 5). One side is a bigint: a NaN (untyped columns) is
  // the other, and greater.
  if ((typeof left === "bigint" || typeof left === "number") && (typeof right === "bigint" || typeof right === "number")) {
    if (left < right) return -1;
    if (left > right) return 1;
    return left !== left ? 1 : right !== right ? -1 : 0;
  }
  const a = String(left);
  const b = String(right);
  return a < b ? -1 : a > b ? 1 : 0;
}
