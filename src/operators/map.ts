// map / flatMap: a user function per row; a throw fails the query with the operator named.
import { UserCodeError } from "../core/errors.ts";
import type { Row } from "../core/types.ts";
import type { Emit, Operator } from "./operator.ts";

export class MapOperator implements Operator {
  constructor(readonly id: string, private readonly fn: (row: Row) => Row) {}

  connect(next: Emit): Emit {
    const fn = this.fn;
    const id = this.id;
    return (row) => {
      let out: Row;
      try {
        out = fn(row);
      } catch (error) {
        throw new UserCodeError(`The function of ${id} threw on row ${describeRow(row)}: ${String(error)}`, { cause: error });
      }
      next(out);
    };
  }
}

export class FlatMapOperator implements Operator {
  constructor(readonly id: string, private readonly fn: (row: Row) => Iterable<Row>) {}

  connect(next: Emit): Emit {
    const fn = this.fn;
    const id = this.id;
    return (row) => {
      let out: Iterable<Row>;
      try {
        out = fn(row);
      } catch (error) {
        throw new UserCodeError(`The function of ${id} threw on row ${describeRow(row)}: ${String(error)}`, { cause: error });
      }
      for (const item of out) next(item);
    };
  }
}

function describeRow(row: Row): string {
  const text = JSON.stringify(row) ?? String(row);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
