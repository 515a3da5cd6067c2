// The activity generator's latest events, from which duplicates are drawn, kept as values rather than as the rows
// handed out. A row held here for the last 64 events outlives two scavenges at a few thousand rows/s, so V8 promoted
// every generated row (about 2 MB/s in `rill demo`), and the old generation filled with them before each mark-compact
// (ARCHITECTURE.md, "The activity generator's duplicate history holds values, not rows"). Numbers go into typed arrays,
// strings by reference (each is one of the generator's own), Creation_Time as its millisecond and the nanoseconds
// after it: storing an event allocates nothing, and a duplicate is rebuilt equal to the row it repeats.
import type { PositionalRow } from "../../core/types.ts";
import type { ActivityRow } from "./activity.ts";

export class ActivityHistory {
  private readonly numbers: Float64Array;
  private readonly strings: Array<string | null>;
  private filled = 0;
  private next = 0;

  constructor(private readonly capacity: number) {
    this.numbers = new Float64Array(capacity * NUMBERS);
    this.strings = new Array<string | null>(capacity * STRINGS).fill(null);
  }

  get size(): number {
    return this.filled;
  }

  push(arrival: number, createdMs: number, createdSubNanos: number, device: string, index: number, model: string, user: string, gt: string | null, x: number, y: number, z: number): void {
    const at = this.next;
    const numbers = this.numbers;
    const n = at * NUMBERS;
    numbers[n] = arrival;
    numbers[n + 1] = createdMs;
    numbers[n + 2] = createdSubNanos;
    numbers[n + 3] = index;
    numbers[n + 4] = x;
    numbers[n + 5] = y;
    numbers[n + 6] = z;
    const strings = this.strings;
    const s = at * STRINGS;
    strings[s] = device;
    strings[s + 1] = model;
    strings[s + 2] = user;
    strings[s + 3] = gt;
    this.next = (at + 1) % this.capacity;
    if (this.filled < this.capacity) this.filled++;
  }

  /** The event at `at` (0 <= at < size) as next() made it. */
  named(at: number): ActivityRow {
    const n = at * NUMBERS;
    const s = at * STRINGS;
    const numbers = this.numbers;
    const strings = this.strings;
    return {
      Arrival_Time: numbers[n] as number,
      Creation_Time: creationTime(numbers[n + 1] as number, numbers[n + 2] as number),
      Device: strings[s] as string,
      Index: numbers[n + 3] as number,
      Model: strings[s + 1] as string,
      User: strings[s + 2] as string,
      gt: strings[s + 3] ?? null,
      x: numbers[n + 4] as number,
      y: numbers[n + 5] as number,
      z: numbers[n + 6] as number,
    };
  }

  /** The event at `at` as nextValues() made it, in the schema's column order. */
  values(at: number): PositionalRow {
    const n = at * NUMBERS;
    const s = at * STRINGS;
    const numbers = this.numbers;
    const strings = this.strings;
    return [
      numbers[n] as number,
      creationTime(numbers[n + 1] as number, numbers[n + 2] as number),
      strings[s] as string,
      numbers[n + 3] as number,
      strings[s + 1] as string,
      strings[s + 2] as string,
      strings[s + 3] ?? null,
      numbers[n + 4] as number,
      numbers[n + 5] as number,
      numbers[n + 6] as number,
    ];
  }
}

/** Numbers an event: Arrival_Time, Creation_Time's ms and sub-ms nanoseconds, Index, x, y, z. */
const NUMBERS = 7;
/** Strings an event: Device, Model, User, gt. */
const STRINGS = 4;

/** What the generator computes, `BigInt(ms) * 1_000_000n + BigInt(subNanos)`. */
function creationTime(ms: number, subNanos: number): bigint {
  return BigInt(ms) * 1_000_000n + BigInt(subNanos);
}
