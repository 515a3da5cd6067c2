// dropDuplicates / dropDuplicatesWithinWatermark over rows by position: the key and event time read by index into the
// stage's named DeduplicateOperator (its seen keys, expiry, metrics, late rows and state); a row kept goes on by
// position, unchanged. Keys come from positionalKeyOf, the same strings as keyOf's, so checkpoints are the same
// whichever way the rows ran; a late row is named (the step's input columns) for the late-row count and subject.
import { positionalKeyOf } from "../core/keys.ts";
import type { PositionalRow } from "../core/types.ts";
import { DeduplicateOperator } from "./deduplicate.ts";
import type { Operator, OperatorPosition } from "./operator.ts";
import { boundOperator, toNamedRow, type PositionalEmit, type PositionalOperator } from "./positional-operator.ts";

export class PositionalDeduplicateOperator implements PositionalOperator {
  private readonly keyIndexes: readonly number[];
  private readonly timeIndex: number | undefined;

  /** Every key column and the event-time column must be among `inputColumns` (the step's input, in order). */
  constructor(readonly id: string, private readonly inputColumns: readonly string[], keyColumns: readonly string[], eventTimeColumn: string | undefined) {
    const place = (column: string): number => {
      const index = inputColumns.indexOf(column);
      if (index < 0) throw new Error(`internal: ${id} reads ${column}, which its input [${inputColumns.join(", ")}] does not have`);
      return index;
    };
    this.keyIndexes = keyColumns.map(place);
    this.timeIndex = eventTimeColumn === undefined ? undefined : place(eventTimeColumn);
  }

  connect(next: PositionalEmit, _position?: OperatorPosition, named?: Operator): PositionalEmit {
    const operator = boundOperator(this.id, named, DeduplicateOperator);
    const timeIndex = this.timeIndex;
    const columns = this.inputColumns;
    return operator.input<PositionalRow>({
      keyOf: positionalKeyOf(this.keyIndexes),
      eventTime: timeIndex === undefined ? undefined : (row) => row[timeIndex],
      named: (row) => toNamedRow(columns, row),
    }, next);
  }
}
