// Event-time windows with Spark's boundary rules: a row falls into every window [start, start + size) that covers it.
import type { Row, TimeWindow } from "../core/types.ts";
import { positionOf, type Emit, type Operator, type OperatorPosition } from "./operator.ts";
import { rowExtender } from "./row-extender.ts";

export interface WindowSpec {
  /** Reads the row's event time (ms); rows without one are dropped, as Spark's window() gives null for them. */
  readonly eventTime: (row: Row) => unknown;
  readonly sizeMs: number;
  readonly slideMs: number;
  readonly startMs: number;
  /** The column the window goes into. */
  readonly column: string;
}

/** Windows that contain `time`, latest start first (as Spark enumerates them). */
export function windowsOf(time: number, sizeMs: number, slideMs: number, startMs: number): TimeWindow[] {
  const offset = ((startMs % slideMs) + slideMs) % slideMs;
  const lastStart = time - ((((time - offset) % slideMs) + slideMs) % slideMs);
  const windows: TimeWindow[] = [];
  for (let start = lastStart; start > time - sizeMs; start -= slideMs) windows.push({ start, end: start + sizeMs });
  return windows;
}

export class WindowOperator implements Operator {
  constructor(readonly id: string, private readonly spec: WindowSpec) {}

  connect(next: Emit, position?: OperatorPosition): Emit {
    const { eventTime, sizeMs, slideMs, startMs, column } = this.spec;
    const { chain, index: at } = positionOf(position);
    const withWindow = rowExtender(column);
    if (sizeMs === slideMs) {
      const offset = ((startMs % sizeMs) + sizeMs) % sizeMs;
      return (row) => {
        chain.at = at;
        const time = eventTime(row);
        if (typeof time !== "number") return;
        const start = time - ((((time - offset) % sizeMs) + sizeMs) % sizeMs);
        next(withWindow(row, { start, end: start + sizeMs }));
      };
    }
    return (row) => {
      chain.at = at;
      const time = eventTime(row);
      if (typeof time !== "number") return;
      for (const window of windowsOf(time, sizeMs, slideMs, startMs)) next(withWindow(row, window));
    };
  }
}
