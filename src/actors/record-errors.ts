// Bad records inside an actor: a RecordError thrown while a row runs through the operators (an invalid regular
// expression taken from the record, and later cases of the same kind) sends that row to the dead letter, and the rest
// of the frame goes on. One try around the frame, not one per row: after a bad row, the loop re-enters at the next.
import { RecordError } from "../core/errors.ts";
import type { PositionalRow, Row } from "../core/types.ts";
import type { PositionalEmit } from "../operators/positional-operator.ts";
import type { ChainPosition, Emit, Operator } from "../operators/operator.ts";

/** What the actor does with a bad row: the operator that refused it (undefined: the actor's own output) and why. */
export type RejectRecord = (row: Row, operator: Operator | undefined, error: RecordError) => void;

/**
 * Runs `rows` through `process` (a chain built with `position`). A RecordError rejects its row; any other error is
 * thrown, and fails the actor as before. An operator evaluates its expressions before it emits anything for the row,
 * so a rejected row leaves nothing behind, with one exception: rows that a generator earlier in the chain (explode,
 * flatMap) made from the same record before the one that failed have gone on already (the same on every replay).
 */
export function runRows(rows: readonly Row[], process: Emit, position: ChainPosition, operators: readonly Operator[], reject: RejectRecord): void {
  let index = 0;
  while (index < rows.length) {
    try {
      for (; index < rows.length; index++) process(rows[index] as Row);
    } catch (error) {
      if (!(error instanceof RecordError)) throw error;
      reject(rows[index] as Row, operators[position.at], error);
      index++;
    }
  }
}

/** runRows over rows by position (a chain built with chainPositional and `position`); `reject` names the row itself. */
export function runPositionalRows(rows: readonly PositionalRow[], process: PositionalEmit, position: ChainPosition, operators: readonly Operator[], reject: (row: PositionalRow, operator: Operator | undefined, error: RecordError) => void): void {
  let index = 0;
  while (index < rows.length) {
    try {
      for (; index < rows.length; index++) process(rows[index] as PositionalRow);
    } catch (error) {
      if (!(error instanceof RecordError)) throw error;
      reject(rows[index] as PositionalRow, operators[position.at], error);
      index++;
    }
  }
}
