// withWatermark over rows by position: reads the event-time column by index into the stage's named WatermarkOperator
// (its latest event time, metrics, state and output watermark), and passes the row on by position, unchanged.
import { boundOperator, type PositionalEmit, type PositionalOperator } from "./positional-operator.ts";
import type { Operator, OperatorPosition } from "./operator.ts";
import { WatermarkOperator } from "./watermark.ts";

export class PositionalWatermarkOperator implements PositionalOperator {
  /** `timeIndex`: the event-time column's place in the step's input (and output) columns. */
  constructor(readonly id: string, private readonly timeIndex: number) {}

  connect(next: PositionalEmit, _position?: OperatorPosition, named?: Operator): PositionalEmit {
    const watermark = boundOperator(this.id, named, WatermarkOperator);
    const index = this.timeIndex;
    return (row) => {
      watermark.observe(row[index]);
      next(row);
    };
  }
}
