// map / flatMap: a user function per row; a throw or a result that is not rows fails the query with the operator named.
import { UserCodeError } from "../core/errors.ts";
import { jsonWithLongs } from "../core/long.ts";
import type { Row } from "../core/types.ts";
import type { Emit, Operator } from "./operator.ts";
import { forEachUserRow, userRow } from "./user-output.ts";

export class MapOperator implements Operator {
  constructor(readonly id: string, private readonly fn: (row: Row) => Row) {}

  connect(next: Emit): Emit {
    const fn = this.fn;
    const id = this.id;
    const where = (row: Row) => `The function of ${id}, on row ${describeRow(row)},`;
    return (row) => {
      let out: Row;
      try {
        out = fn(row);
      } catch (error) {
        throw new UserCodeError(`The function of ${id} threw on row ${describeRow(row)}: ${String(error)}`, { cause: error });
      }
      next(userRow(out, where, row));
    };
  }
}

export class FlatMapOperator implements Operator {
  constructor(readonly id: string, private readonly fn: (row: Row) => Iterable<Row>) {}

  connect(next: Emit): Emit {
    const fn = this.fn;
    const id = this.id;
    const where = (row: Row) => `The function of ${id}, on row ${describeRow(row)},`;
    return (row) => {
      let out: Iterable<Row>;
      try {
        out = fn(row);
      } catch (error) {
        throw new UserCodeError(`The function of ${id} threw on row ${describeRow(row)}: ${String(error)}`, { cause: error });
      }
      forEachUserRow(out, where, row, next);
    };
  }
}

function describeRow(row: Row): string {
  const text = jsonWithLongs(row);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
