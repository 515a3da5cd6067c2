// The tag a stream-stream join's input gives its rows, over rows by position: the row's fields, then its side and its
// join key (JOIN_SIDE, JOIN_KEY, in that order), the key read by index into the same string the named tag makes.
import type { PositionalRow } from "../core/types.ts";
import { positionOf, type OperatorPosition } from "./operator.ts";
import type { PositionalEmit, PositionalOperator } from "./positional-operator.ts";

export class PositionalJoinTagOperator implements PositionalOperator {
  constructor(readonly id: string, private readonly side: 0 | 1, private readonly keyOf: (row: PositionalRow) => string | null) {}

  connect(next: PositionalEmit, position?: OperatorPosition): PositionalEmit {
    const { chain, index: at } = positionOf(position);
    const { side, keyOf } = this;
    return (row) => {
      chain.at = at;
      // A copy, as the named tag's: the row that came in may be held elsewhere (a source's replay).
      const out = row.slice();
      out.push(side, keyOf(row));
      next(out);
    };
  }
}
