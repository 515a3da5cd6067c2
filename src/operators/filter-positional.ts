// where / filter over rows by position: keeps the rows whose predicate (compilePositional) is true.
import type { PositionalRow } from "../core/types.ts";
import { positionOf, type OperatorPosition } from "./operator.ts";
import type { PositionalEmit, PositionalOperator } from "./positional-operator.ts";

export class PositionalFilterOperator implements PositionalOperator {
  constructor(readonly id: string, private readonly predicate: (row: PositionalRow) => unknown) {}

  connect(next: PositionalEmit, position?: OperatorPosition): PositionalEmit {
    const predicate = this.predicate;
    const { chain, index } = positionOf(position);
    return (row) => {
      chain.at = index;
      if (predicate(row) === true) next(row);
    };
  }
}
