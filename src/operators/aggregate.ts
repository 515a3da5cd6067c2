// Hash aggregation: one group per key, updated per row; changed groups leave at the end of the actor's turn.
import { keyGroupOf, keyOf } from "../core/keys.ts";
import type { StateChange } from "../state/types.ts";
import type { Row } from "../core/types.ts";
import { createAccumulator, type Accumulator, type AggregateName } from "./aggregate-functions.ts";
import type { Emit, Operator } from "./operator.ts";

export interface AggregateColumn {
  /** Output column name, e.g. `count` or `avg(x)`. */
  readonly name: string;
  readonly function: AggregateName;
  /** The argument; undefined for count(*). */
  readonly argument: ((row: Row) => unknown) | undefined;
}

export interface AggregateSpec {
  /** Columns the input is grouped by (already computed upstream), in output order. */
  readonly groupingColumns: readonly string[];
  /** Hidden columns that are part of the key but not of the output (the grouping set id). */
  readonly hiddenKeyColumns: readonly string[];
  readonly aggregates: readonly AggregateColumn[];
  /** Name of the column that carries the group key to the sink. */
  readonly keyColumn: string;
  /** Names the state in checkpoints (stable across restarts). */
  readonly stateId: string;
}

interface Group {
  readonly key: string;
  readonly keyValues: readonly unknown[];
  readonly accumulators: Accumulator[];
}

export class AggregateOperator implements Operator {
  private readonly groups = new Map<string, Group>();
  private readonly changed = new Set<Group>();
  /** Groups changed since the last snapshot (the `changed` set empties at every turn). */
  private readonly unsaved = new Set<Group>();
  private next: Emit = () => undefined;
  readonly stateId: string;

  constructor(readonly id: string, private readonly spec: AggregateSpec) {
    this.stateId = spec.stateId;
  }

  connect(next: Emit): Emit {
    this.next = next;
    const { groupingColumns, hiddenKeyColumns, aggregates } = this.spec;
    const keyFor = keyOf([...groupingColumns, ...hiddenKeyColumns]);
    const arguments_ = aggregates.map((aggregate) => aggregate.argument);
    const functions = aggregates.map((aggregate) => aggregate.function);
    const groups = this.groups;
    const changed = this.changed;
    this.createAccumulators = () => functions.map(createAccumulator);
    return (row) => {
      const key = keyFor(row);
      let group = groups.get(key);
      if (!group) {
        group = { key, keyValues: groupingColumns.map((column) => row[column] ?? null), accumulators: functions.map(createAccumulator) };
        groups.set(key, group);
      }
      const accumulators = group.accumulators;
      for (let index = 0; index < accumulators.length; index++) {
        const argument = arguments_[index];
        (accumulators[index] as Accumulator).add(argument ? argument(row) : 1);
      }
      changed.add(group);
    };
  }

  private createAccumulators: () => Accumulator[] = () => [];

  /** Emits each group that changed during the turn once, with its latest values (update and complete mode). */
  flush(): void {
    if (this.changed.size === 0) return;
    const { groupingColumns, aggregates, keyColumn } = this.spec;
    for (const group of this.changed) {
      const row: Row = {};
      for (let index = 0; index < groupingColumns.length; index++) row[groupingColumns[index] as string] = group.keyValues[index];
      for (let index = 0; index < aggregates.length; index++) row[(aggregates[index] as AggregateColumn).name] = (group.accumulators[index] as Accumulator).result();
      row[keyColumn] = group.key;
      this.next(row);
      this.unsaved.add(group);
    }
    this.changed.clear();
  }

  snapshot(): StateChange[] {
    const changes: StateChange[] = [];
    for (const group of this.unsaved) {
      changes.push({ stateId: this.stateId, keyGroup: keyGroupOf(group.key), key: group.key, value: [group.keyValues, group.accumulators.map((accumulator) => accumulator.save())] });
    }
    this.unsaved.clear();
    return changes;
  }

  restore(entries: Iterable<[string, unknown]>): void {
    for (const [key, value] of entries) {
      const [keyValues, states] = value as [unknown[], unknown[]];
      const accumulators = this.createAccumulators();
      accumulators.forEach((accumulator, index) => accumulator.load(states[index]));
      this.groups.set(key, { key, keyValues, accumulators });
    }
  }

  stateRows(): number {
    return this.groups.size;
  }
}
