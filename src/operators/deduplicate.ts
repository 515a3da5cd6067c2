// dropDuplicates / dropDuplicatesWithinWatermark: the first row of each key passes, later ones are dropped.
import { keyGroupOf, keyOf } from "../core/keys.ts";
import type { Row } from "../core/types.ts";
import type { StateChange } from "../state/types.ts";
import { ExpiryQueue } from "./expiry-queue.ts";
import type { Emit, Operator, OperatorMetrics } from "./operator.ts";

export interface DeduplicateSpec {
  readonly keyColumns: readonly string[];
  /** With a watermark: the event-time column; rows at or below the watermark are late (Spark drops them whatever the key). */
  readonly eventTimeColumn: string | undefined;
  /** Keys expire with the watermark: the key holds the event-time column, or dropDuplicatesWithinWatermark. */
  readonly expires: boolean;
  /**
   * dropDuplicates: a key expires when the watermark passes its event time (0).
   * dropDuplicatesWithinWatermark: when it passes the first event time plus the watermark delay.
   */
  readonly keepForMs: number;
  readonly stateId: string;
}

/** Where a row of some form holds what the de-duplication reads. */
export interface DeduplicateReaders<R> {
  /** The key string (keyOf's, or positionalKeyOf's: the same string for the same values). */
  readonly keyOf: (row: R) => string;
  /** The event-time value; undefined without a watermark. */
  readonly eventTime: ((row: R) => unknown) | undefined;
  /** The row named, for a late row (reported with its names). */
  readonly named: (row: R) => Row;
}

export class DeduplicateOperator implements Operator {
  /** Key -> when it expires (Infinity without a watermark). */
  private readonly seen = new Map<string, number>();
  private readonly expiry = new ExpiryQueue();
  private readonly changed = new Map<string, number | null>();
  private watermark = Number.NEGATIVE_INFINITY;
  late: Row[] = [];
  readonly stateId: string;
  private droppedDuplicates = 0;

  constructor(readonly id: string, private readonly spec: DeduplicateSpec) {
    this.stateId = spec.stateId;
  }

  connect(next: Emit): Emit {
    const eventTimeColumn = this.spec.eventTimeColumn;
    return this.input<Row>({ keyOf: keyOf(this.spec.keyColumns), eventTime: eventTimeColumn === undefined ? undefined : (row) => row[eventTimeColumn], named: (row) => row }, next);
  }

  /**
   * The per-row input over rows of any form: `readers` say where a row's key and event time are. Named rows (connect)
   * and rows by position (deduplicate-positional.ts) pass through the same seen keys, and a key is the same string
   * either way, so state, checkpoints and output do not depend on the rows' form; a late row is kept named.
   */
  input<R>(readers: DeduplicateReaders<R>, next: (row: R) => void): (row: R) => void {
    const { keyOf: keyFor, eventTime, named } = readers;
    const { keepForMs, expires: bounded } = this.spec;
    return (row) => {
      let expires = Number.POSITIVE_INFINITY;
      if (eventTime !== undefined) {
        const time = eventTime(row);
        if (typeof time === "number") {
          // Spark's boundary: a row at the watermark is late, as its key's state may already be gone (see onWatermark).
          if (time <= this.watermark) {
            this.late.push(named(row));
            return;
          }
          if (bounded) expires = time + keepForMs;
        }
      }
      const key = keyFor(row);
      if (this.seen.has(key)) {
        this.droppedDuplicates++;
        return;
      }
      this.seen.set(key, expires);
      this.changed.set(key, expires);
      if (expires !== Number.POSITIVE_INFINITY) this.expiry.push(expires, key);
      next(row);
    };
  }

  onWatermark(watermark: number): void {
    this.watermark = watermark;
    for (const key of this.expiry.popUntil(watermark)) {
      const expires = this.seen.get(key);
      if (expires === undefined || expires > watermark) continue;
      this.seen.delete(key);
      this.changed.set(key, null);
    }
  }

  takeMetrics(): OperatorMetrics {
    const droppedDuplicates = this.droppedDuplicates;
    this.droppedDuplicates = 0;
    return { droppedDuplicates };
  }

  stateRows(): number {
    return this.seen.size;
  }

  snapshot(): StateChange[] {
    const changes: StateChange[] = [];
    for (const [key, expires] of this.changed) changes.push({ stateId: this.stateId, keyGroup: keyGroupOf(key), key, value: expires === Number.POSITIVE_INFINITY ? "forever" : expires });
    this.changed.clear();
    return changes;
  }

  restore(entries: Iterable<[string, unknown]>): void {
    for (const [key, value] of entries) {
      const expires = value === "forever" ? Number.POSITIVE_INFINITY : (value as number);
      this.seen.set(key, expires);
      if (expires !== Number.POSITIVE_INFINITY) this.expiry.push(expires, key);
    }
  }
}
