// window(time, size[, slide[, start]]) over rows by position: each row leaves once for every window that covers its
// event time, as a copy of the row with the window at `windowIndex` (the end of the row, or the place of an input
// column of the window's name, as WindowOperator's named rows have it).
import type { PositionalRow } from "../core/types.ts";
import { positionOf, type OperatorPosition } from "./operator.ts";
import type { PositionalEmit, PositionalOperator } from "./positional-operator.ts";
import { windowsOf } from "./window.ts";

export interface PositionalWindowSpec {
  /** Reads the row's event time (ms) by position (compilePositional); rows without one are dropped. */
  readonly eventTime: (row: PositionalRow) => unknown;
  readonly sizeMs: number;
  readonly slideMs: number;
  readonly startMs: number;
  /** The window's place in the output row: the input's width (appended) or an input column's index (replaced). */
  readonly windowIndex: number;
}

export class PositionalWindowOperator implements PositionalOperator {
  constructor(readonly id: string, private readonly spec: PositionalWindowSpec) {}

  connect(next: PositionalEmit, position?: OperatorPosition): PositionalEmit {
    const { eventTime, sizeMs, slideMs, startMs, windowIndex } = this.spec;
    const { chain, index: at } = positionOf(position);
    // slice() keeps the copy packed, and a store at its length (or inside it) keeps it so.
    const withWindow = (row: PositionalRow, window: unknown): PositionalRow => {
      const out = row.slice();
      out[windowIndex] = window;
      return out;
    };
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
