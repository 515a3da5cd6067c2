// withWatermark: watches the event-time column go by and raises the watermark to (latest event time - delay).
import type { Row } from "../core/types.ts";
import type { StateChange } from "../state/types.ts";
import type { Emit, Operator, OperatorMetrics } from "./operator.ts";

export interface WatermarkSpec {
  readonly column: string;
  readonly delayMs: number;
  /**
   * Event times further than this ahead of the wall clock do not move the watermark (a device whose clock runs
   * ahead would otherwise make everyone else's records late). Infinity turns the guard off.
   */
  readonly maxFutureMs: number;
  readonly stateId: string;
  readonly partition: number;
  /**
   * Another withWatermark comes before this one: the watermark coming in is theirs, and the one going out is the
   * minimum of both (Spark's default multipleWatermarkPolicy) or the maximum. Undefined: this one alone.
   */
  readonly combine: "min" | "max" | undefined;
}

export class WatermarkOperator implements Operator {
  private maxEventTime = Number.NEGATIVE_INFINITY;
  private saved = Number.NEGATIVE_INFINITY;
  /** Rows whose event time was too far in the future to count (reported in progress). */
  futureRows = 0;
  readonly stateId: string;
  readonly statePerPartition = true;
  /** The epoch's event times so far, for progress (Spark's eventTime min, max, avg). */
  private epochMin = Number.POSITIVE_INFINITY;
  private epochMax = Number.NEGATIVE_INFINITY;
  private epochSum = 0;
  private epochCount = 0;

  constructor(readonly id: string, private readonly spec: WatermarkSpec) {
    this.stateId = spec.stateId;
  }

  connect(next: Emit): Emit {
    const column = this.spec.column;
    return (row: Row) => {
      this.observe(row[column]);
      next(row);
    };
  }

  /**
   * One row's event time goes by: named rows (connect) and rows by position (watermark-positional.ts) both call this,
   * so the latest event time, the epoch's figures and the state are one whichever way the rows ran.
   */
  observe(time: unknown): void {
    if (typeof time !== "number") return;
    if (time < this.epochMin) this.epochMin = time;
    if (time > this.epochMax) this.epochMax = time;
    this.epochSum += time;
    this.epochCount++;
    if (time > this.maxEventTime) {
      const maxFutureMs = this.spec.maxFutureMs;
      if (maxFutureMs === Number.POSITIVE_INFINITY || time <= Date.now() + maxFutureMs) this.maxEventTime = time;
      else this.futureRows++;
    }
  }

  takeMetrics(): OperatorMetrics {
    if (this.epochCount === 0) return {};
    const metrics = { eventTimeMin: this.epochMin, eventTimeMax: this.epochMax, eventTimeSum: this.epochSum, eventTimeCount: this.epochCount };
    this.epochMin = Number.POSITIVE_INFINITY;
    this.epochMax = Number.NEGATIVE_INFINITY;
    this.epochSum = 0;
    this.epochCount = 0;
    return metrics;
  }

  outputWatermark(input: number): number {
    const own = this.maxEventTime - this.spec.delayMs;
    return this.spec.combine === "min" ? Math.min(input, own) : Math.max(input, own);
  }

  snapshot(): StateChange[] {
    if (this.maxEventTime === this.saved) return [];
    this.saved = this.maxEventTime;
    // Keyed by the operator's id (stage, position, partition): the inputs of a union each have one per partition.
    return [{ stateId: this.stateId, keyGroup: 0, key: this.id, value: this.maxEventTime }];
  }

  restore(entries: Iterable<[string, unknown]>): void {
    for (const [key, value] of entries) if (key === this.id) this.maxEventTime = this.saved = value as number;
  }
}
