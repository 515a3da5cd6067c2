// where / filter: keeps the rows whose predicate is true (null counts as false, as in SQL).
import type { Row } from "../core/types.ts";
import type { Emit, Operator } from "./operator.ts";

export class FilterOperator implements Operator {
  constructor(readonly id: string, private readonly predicate: (row: Row) => unknown) {}

  connect(next: Emit): Emit {
    const predicate = this.predicate;
    return (row) => {
      if (predicate(row) === true) next(row);
    };
  }
}
