// mapGroupsWithState / flatMapGroupsWithState's input over rows by position: the group key and the event time read by
// index from rows in the order of the step's input (the rows before it, then the group key the key function wrote).
//
// The adapter wraps the stage's one GroupStateOperator (the named chain's): the same keys, state, function calls and
// output, so checkpoints do not depend on how the rows came. The user's function sees each row named, in the order of
// `inputColumns`, as a frame's named rows are.
import type { PositionalRow } from "../core/types.ts";
import { GroupStateOperator } from "./group-state.ts";
import type { Operator } from "./operator.ts";
import { toNamedRow, type PositionalInput } from "./positional-operator.ts";

/** The group state step's input by position for rows in the order of `inputColumns`; the key (and event time) must be there. */
export function groupStatePositionalInput(inputColumns: readonly string[], keyColumn: string, eventTimeColumn: string | undefined): PositionalInput {
  const place = (column: string): number => {
    const index = inputColumns.indexOf(column);
    if (index < 0) throw new Error(`internal: the group state step reads ${column}, which its input [${inputColumns.join(", ")}] does not have`);
    return index;
  };
  const keyIndex = place(keyColumn);
  const timeIndex = eventTimeColumn === undefined ? undefined : place(eventTimeColumn);
  return {
    inputColumns,
    connect(operator: Operator) {
      if (!(operator instanceof GroupStateOperator)) throw new Error(`internal: a positional group state input for ${operator.id}, which is not a group state operator`);
      return (operator as GroupStateOperator<unknown>).input<PositionalRow>({
        key: (row) => row[keyIndex],
        eventTime: timeIndex === undefined ? undefined : (row) => row[timeIndex],
        named: (row) => toNamedRow(inputColumns, row),
      });
    },
  };
}
