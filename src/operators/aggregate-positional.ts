// The streaming aggregation's input over rows by position: the group key, key values, aggregate inputs and event
// time read by index from rows in the order of the aggregation's input (its key projection's output).
//
// With `outputColumns`, it also has an output by position (PositionalOutput): the same operator emits each row as an
// array in that order (grouping columns, aggregates, then the group key for a keyed row), so the steps after it run by
// position too.
//
// The adapter wraps the stage's one AggregateOperator (the named chain's): the same groups, state and output, so a
// frame that arrives in another column order runs named into the same groups. Key strings come from positionalKeyOf,
// the same strings as keyOf's, so checkpoints do not depend on how the rows ran.
import { positionalKeyOf } from "../core/keys.ts";
import type { PositionalRow } from "../core/types.ts";
import { AggregateOperator, endOfValue, type AggregateEventTime } from "./aggregate.ts";
import type { Operator } from "./operator.ts";
import { toNamedRow, type PositionalEmit, type PositionalInput, type PositionalOutput } from "./positional-operator.ts";

/** What the aggregation reads, by column name; the adapter finds each one's place in `inputColumns`. */
export interface AggregateInputColumns {
  /** The grouping columns, in output order. */
  readonly groupingColumns: readonly string[];
  /** Key columns that are not output (the grouping set id of cube and rollup). */
  readonly hiddenKeyColumns: readonly string[];
  /** Each aggregate's input column; undefined for count(*). */
  readonly argumentColumns: ReadonlyArray<string | undefined>;
  readonly eventTime: AggregateEventTime | undefined;
}

/**
 * The aggregation's input by position for rows in the order of `inputColumns`; every column read must be there.
 * `outputColumns`: the names of its output rows by position (AggregateOperator.outputByPosition's order); absent, its
 * output stays named.
 */
export function aggregatePositionalInput(columns: AggregateInputColumns, inputColumns: readonly string[], outputColumns?: readonly string[]): PositionalInput {
  const place = (column: string): number => {
    const index = inputColumns.indexOf(column);
    if (index < 0) throw new Error(`internal: the aggregation reads ${column}, which its input [${inputColumns.join(", ")}] does not have`);
    return index;
  };
  const keyIndexes = [...columns.groupingColumns, ...columns.hiddenKeyColumns].map(place);
  const valueIndexes = columns.groupingColumns.map(place);
  const argumentIndexes = columns.argumentColumns.map((column) => (column === undefined ? undefined : place(column)));
  const eventTime = columns.eventTime;
  const endIndex = eventTime === undefined ? undefined : place(eventTime.endColumn);
  return {
    inputColumns,
    connect(operator: Operator) {
      if (!(operator instanceof AggregateOperator)) throw new Error(`internal: a positional aggregation input for ${operator.id}, which is not an aggregation`);
      return operator.input<PositionalRow>({
        keyOf: positionalKeyOf(keyIndexes),
        keyValues: (row) => valueIndexes.map((index) => row[index] ?? null),
        arguments: argumentIndexes.map((index) => (index === undefined ? undefined : (row: PositionalRow) => row[index])),
        endOf: eventTime === undefined || endIndex === undefined ? undefined : (row) => endOfValue(row[endIndex], eventTime.endIsWindow),
        named: (row) => toNamedRow(inputColumns, row),
      });
    },
    ...(outputColumns === undefined ? {} : { output: aggregatePositionalOutput(outputColumns) }),
  };
}

function aggregatePositionalOutput(outputColumns: readonly string[]): PositionalOutput {
  return {
    outputColumns,
    connect(operator: Operator, next: PositionalEmit) {
      if (!(operator instanceof AggregateOperator)) throw new Error(`internal: a positional aggregation output for ${operator.id}, which is not an aggregation`);
      operator.outputByPosition(next);
    },
  };
}
