// The session window's input over rows by position: the key, key values, time, gap and aggregate inputs read by
// index from rows in the order of its input (its key projection's output).
//
// The adapter wraps the stage's one SessionWindowOperator (the named chain's): the same sessions, state, output and
// late rows, so a frame that arrives in another column order runs named into the same sessions. Key strings come from
// positionalKeyOf, the same strings as keyOf's, so checkpoints do not depend on how the rows ran.
//
// With `outputColumns`, it also has an output by position (PositionalOutput, as the aggregation's): the same operator
// emits each row as an array in that order (the grouping columns with the session at its place, the aggregates, then
// the row's key for a keyed row), so the steps after it run by position too.
import { positionalKeyOf } from "../core/keys.ts";
import type { PositionalRow } from "../core/types.ts";
import type { Operator } from "./operator.ts";
import { toNamedRow, type PositionalEmit, type PositionalInput, type PositionalOutput } from "./positional-operator.ts";
import { SessionWindowOperator } from "./session-window.ts";

/** What the session window reads, by column name; the adapter finds each one's place in `inputColumns`. */
export interface SessionWindowInputColumns {
  /** The grouping columns besides the session, in output order. */
  readonly keyColumns: readonly string[];
  readonly timeColumn: string;
  /** The per-row gap's column; undefined: every row has the gap `gapMs`. */
  readonly gapColumn: string | undefined;
  readonly gapMs: number;
  /** Each aggregate's input column; undefined for count(*). */
  readonly argumentColumns: ReadonlyArray<string | undefined>;
}

/**
 * The session window's input by position for rows in the order of `inputColumns`; every column read must be there.
 * `outputColumns`: the names of its output rows by position (SessionWindowOperator.outputByPosition's order); absent,
 * its output stays named.
 */
export function sessionWindowPositionalInput(columns: SessionWindowInputColumns, inputColumns: readonly string[], outputColumns?: readonly string[]): PositionalInput {
  const place = (column: string): number => {
    const index = inputColumns.indexOf(column);
    if (index < 0) throw new Error(`internal: the session window reads ${column}, which its input [${inputColumns.join(", ")}] does not have`);
    return index;
  };
  const keyIndexes = columns.keyColumns.map(place);
  const timeIndex = place(columns.timeColumn);
  const gapIndex = columns.gapColumn === undefined ? undefined : place(columns.gapColumn);
  const gapMs = columns.gapMs;
  const argumentIndexes = columns.argumentColumns.map((column) => (column === undefined ? undefined : place(column)));
  return {
    inputColumns,
    connect(operator: Operator) {
      if (!(operator instanceof SessionWindowOperator)) throw new Error(`internal: a positional session window input for ${operator.id}, which is not a session window`);
      return operator.input<PositionalRow>({
        time: (row) => row[timeIndex],
        gap: gapIndex === undefined ? () => gapMs : (row) => row[gapIndex],
        keyOf: positionalKeyOf(keyIndexes),
        keyValues: (row) => keyIndexes.map((index) => row[index] ?? null),
        arguments: argumentIndexes.map((index) => (index === undefined ? undefined : (row: PositionalRow) => row[index])),
        named: (row) => toNamedRow(inputColumns, row),
      });
    },
    ...(outputColumns === undefined ? {} : { output: sessionWindowPositionalOutput(outputColumns) }),
  };
}

function sessionWindowPositionalOutput(outputColumns: readonly string[]): PositionalOutput {
  return {
    outputColumns,
    connect(operator: Operator, next: PositionalEmit) {
      if (!(operator instanceof SessionWindowOperator)) throw new Error(`internal: a positional session window output for ${operator.id}, which is not a session window`);
      operator.outputByPosition(next);
    },
  };
}
