// where / filter: keeps the rows whose predicate is true (null counts as false, as in SQL).
import type { Row } from "../core/types.ts";
import { positionOf, type Emit, type Operator, type OperatorPosition } from "./operator.ts";

export class FilterOperator implements Operator {
  constructor(readonly id: string, private readonly predicate: (row: Row) => unknown) {}

  connect(next: Emit, position?: OperatorPosition): Emit {
    const predicate = this.predicate;
    const { chain, index } = positionOf(position);
    return (row) => {
      chain.at = index;
      if (predicate(row) === true) next(row);
    };
  }
}
