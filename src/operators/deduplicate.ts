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
    const keyFor = keyOf(this.spec.keyColumns);
    const { eventTimeColumn, keepForMs, expires: bounded } = this.spec;
    return (row) => {
      let expires = Number.POSITIVE_INFINITY;
      if (eventTimeColumn !== undefined) {
        const time = row[eventTimeColumn];
        if (typeof time === "number") {
          // Spark's boundary: a row at the watermark is late, as its key's state may already be gone (see onWatermark).
          if (time <= this.watermark) {
            this.late.push(row);
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
