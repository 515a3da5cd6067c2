// where / filter in complete mode after an aggregation: the result table must equal the filter over the whole current
// table (Spark recomputes it each batch), so a group's row that no longer passes must leave the table, not keep its
// older version. Such rows are keyed (ROW_KEY): one that fails the condition becomes a retraction of its key (decision
// 18's row: nulls, its key after RETRACTED_KEY_PREFIX), which the sink deletes from its table; a retraction that comes
// in (a session merged away) passes on unchanged, whatever its null values would make of the condition.
import { ROW_KEY } from "../actors/sink-actor.ts";
import { RETRACTED_KEY_PREFIX, type PositionalRow, type Row } from "../core/types.ts";
import { positionOf, type Emit, type Operator, type OperatorPosition } from "./operator.ts";
import type { PositionalEmit, PositionalOperator } from "./positional-operator.ts";

export function isRetractionKey(key: unknown): boolean {
  return typeof key === "string" && key.startsWith(RETRACTED_KEY_PREFIX);
}

/** The retraction of a keyed row: every column null, its key after the prefix (a retraction stays one). */
export function retractionKeyOf(key: unknown): string {
  return isRetractionKey(key) ? (key as string) : `${RETRACTED_KEY_PREFIX}${String(key)}`;
}

/** A named retraction row over `columns`. */
export function retractionRow(columns: readonly string[], key: unknown): Row {
  const retraction: Row = {};
  for (const column of columns) retraction[column] = null;
  retraction[ROW_KEY] = retractionKeyOf(key);
  return retraction;
}

export class RetractingFilterOperator implements Operator {
  constructor(readonly id: string, private readonly predicate: (row: Row) => unknown, private readonly columns: readonly string[]) {}

  connect(next: Emit, position?: OperatorPosition): Emit {
    const { predicate, columns } = this;
    const { chain, index } = positionOf(position);
    return (row) => {
      chain.at = index;
      const key = row[ROW_KEY];
      if (isRetractionKey(key) || predicate(row) === true) {
        next(row);
        return;
      }
      next(retractionRow(columns, key));
    };
  }
}

/** The same over keyed rows by position: ROW_KEY is the last value. */
export class PositionalRetractingFilterOperator implements PositionalOperator {
  constructor(readonly id: string, private readonly predicate: (row: PositionalRow) => unknown) {}

  connect(next: PositionalEmit, position?: OperatorPosition): PositionalEmit {
    const predicate = this.predicate;
    const { chain, index } = positionOf(position);
    return (row) => {
      chain.at = index;
      const last = row.length - 1;
      const key = row[last];
      if (isRetractionKey(key) || predicate(row) === true) {
        next(row);
        return;
      }
      const retraction: unknown[] = new Array<unknown>(row.length).fill(null);
      retraction[last] = retractionKeyOf(key);
      next(retraction);
    };
  }
}
