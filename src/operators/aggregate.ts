// Hash aggregation: one group per key, updated per row. Update and complete mode emit changed groups at the end of
// the actor's turn; with event time, the watermark closes groups (append mode emits them then) and evicts their state.
import { keyGroupOf, keyOf } from "../core/keys.ts";
import type { PositionalRow, Row, TimeWindow } from "../core/types.ts";
import type { StateChange } from "../state/types.ts";
import { createAccumulator, type Accumulator, type AggregateName } from "./aggregate-functions.ts";
import { ExpiryQueue } from "./expiry-queue.ts";
import type { Emit, Operator } from "./operator.ts";

export interface AggregateColumn {
  /** Output column name, e.g. `count` or `avg(x)`. */
  readonly name: string;
  readonly function: AggregateName;
  /** The argument; undefined for count(*). */
  readonly argument: ((row: Row) => unknown) | undefined;
}

/**
 * Where a group's end in event time comes from: its window, or a grouping column that is the event time itself.
 * As in Spark, one predicate decides both: a group closes, and a row for it is late, once `end <= watermark`
 * (a row of a sliding window that is still open counts there even when an earlier window of it has closed).
 */
export interface AggregateEventTime {
  /** A grouping column holding a TimeWindow (the group closes at its end), or one holding the event time. */
  readonly endColumn: string;
  readonly endIsWindow: boolean;
}

export interface AggregateSpec {
  /** Columns the input is grouped by (already computed upstream), in output order. */
  readonly groupingColumns: readonly string[];
  /** Hidden columns that are part of the key but not of the output (the grouping set id). */
  readonly hiddenKeyColumns: readonly string[];
  readonly aggregates: readonly AggregateColumn[];
  /** Name of the column that carries the group key to the sink (update and complete mode). */
  readonly keyColumn: string;
  /** Names the state in checkpoints (stable across restarts). */
  readonly stateId: string;
  readonly outputMode: "append" | "update" | "complete";
  readonly eventTime: AggregateEventTime | undefined;
}

/** Where the aggregation finds what it needs in an input row of form R (a named row, or a row by position). */
export interface AggregateReaders<R> {
  /** The group's key string (keys.ts keyOf of the grouping and hidden key columns). */
  readonly keyOf: (row: R) => string;
  /** The grouping columns' values, in output order (null for a missing one). */
  readonly keyValues: (row: R) => unknown[];
  /** Each aggregate's input; undefined for count(*). */
  readonly arguments: ReadonlyArray<((row: R) => unknown) | undefined>;
  /** The event time at which the row's group closes (undefined when none): rows past the watermark are late. */
  readonly endOf: ((row: R) => number | undefined) | undefined;
  /** The row named, as a late row is reported. */
  readonly named: (row: R) => Row;
}

interface Group {
  readonly key: string;
  readonly keyValues: readonly unknown[];
  readonly accumulators: Accumulator[];
}

export class AggregateOperator implements Operator {
  private readonly groups = new Map<string, Group>();
  private readonly changed = new Set<Group>();
  /** Groups changed since the last snapshot, and keys evicted since then. */
  private readonly unsaved = new Set<Group>();
  private readonly evicted = new Set<string>();
  private readonly expiry = new ExpiryQueue();
  private watermark = Number.NEGATIVE_INFINITY;
  /** Where a group's row leaves, and in which form: named (connect) or by position (outputByPosition). */
  private emitGroup: (group: Group, keyed: boolean) => void = () => undefined;
  private readonly createAccumulators: () => Accumulator[];
  /** Rows that came after the watermark had passed their event time (taken by the actor each epoch). */
  late: Row[] = [];
  readonly stateId: string;

  constructor(readonly id: string, private readonly spec: AggregateSpec) {
    this.stateId = spec.stateId;
    const functions = spec.aggregates.map((aggregate) => aggregate.function);
    this.createAccumulators = () => functions.map(createAccumulator);
  }

  connect(next: Emit): Emit {
    this.emitGroup = (group, keyed) => next(this.rowOf(group, keyed));
    const { groupingColumns, hiddenKeyColumns, aggregates, eventTime } = this.spec;
    return this.input<Row>({
      keyOf: keyOf([...groupingColumns, ...hiddenKeyColumns]),
      keyValues: (row) => groupingColumns.map((column) => row[column] ?? null),
      arguments: aggregates.map((aggregate) => aggregate.argument),
      endOf: eventTime === undefined ? undefined : endReader(eventTime),
      named: (row) => row,
    });
  }

  /**
   * The per-row input over rows of any form: `readers` say where a row's key, key values, aggregate inputs and event
   * time are. Named rows (connect) and rows by position (aggregate-positional.ts) update the same groups, and a group's
   * key is the same string either way, so state, checkpoints and output do not depend on the rows' form.
   */
  input<R>(readers: AggregateReaders<R>): (row: R) => void {
    const { keyOf: keyFor, keyValues, arguments: arguments_, named } = readers;
    const groups = this.groups;
    const changed = this.changed;
    // Complete mode keeps every group, so the watermark neither closes groups nor makes records late (as in Spark).
    const endOf = this.spec.outputMode === "complete" ? undefined : readers.endOf;
    return (row) => {
      if (endOf !== undefined) {
        const end = endOf(row);
        if (end !== undefined && end <= this.watermark) {
          this.late.push(named(row));
          return;
        }
      }
      const key = keyFor(row);
      let group = groups.get(key);
      if (!group) {
        group = { key, keyValues: keyValues(row), accumulators: this.createAccumulators() };
        groups.set(key, group);
        this.evicted.delete(key);
        this.scheduleEnd(group);
      }
      const accumulators = group.accumulators;
      for (let index = 0; index < accumulators.length; index++) {
        const argument = arguments_[index];
        (accumulators[index] as Accumulator).add(argument ? argument(row) : 1);
      }
      changed.add(group);
    };
  }

  /**
   * Output by position (aggregate-positional.ts): from now on each row leaves into `next` as an array of the grouping
   * values, the aggregates' results and, for a keyed row (update and complete mode), the group's key: the values and
   * order rowOf names. Groups, state and checkpoints are the same either way.
   */
  outputByPosition(next: (row: PositionalRow) => void): void {
    const aggregates = this.spec.aggregates.length;
    this.emitGroup = (group, keyed) => {
      const row: unknown[] = group.keyValues.slice();
      const accumulators = group.accumulators;
      for (let index = 0; index < aggregates; index++) row.push((accumulators[index] as Accumulator).result());
      if (keyed) row.push(group.key);
      next(row);
    };
  }

  /** Update and complete mode: each group changed during the turn leaves once, with its latest values. */
  flush(): void {
    if (this.changed.size === 0) return;
    const emit = this.spec.outputMode !== "append";
    for (const group of this.changed) {
      if (emit) this.emitGroup(group, true);
      this.unsaved.add(group);
    }
    this.changed.clear();
  }

  /**
   * End of a bounded input (a static DataFrame): an aggregation without grouping keys has one row even when no row
   * came, as in SQL (`SELECT count(*) ... WHERE false` is 0, `sum` null). With keys (cube and rollup included) no
   * row makes no group.
   */
  endOfInput(): void {
    const { groupingColumns, hiddenKeyColumns } = this.spec;
    if (groupingColumns.length > 0 || hiddenKeyColumns.length > 0 || this.groups.size > 0) return;
    const group: Group = { key: keyOf([])({}), keyValues: [], accumulators: this.createAccumulators() };
    this.groups.set(group.key, group);
    this.changed.add(group);
    if (this.spec.outputMode === "append") this.emitGroup(group, false);
  }

  /** Groups whose end the watermark passed are final: append mode emits them; all but complete mode drop their state. */
  onWatermark(watermark: number): void {
    this.watermark = watermark;
    if (!this.spec.eventTime || this.spec.outputMode === "complete") return;
    this.flush();
    for (const key of this.expiry.popUntil(watermark)) {
      const group = this.groups.get(key);
      if (!group) continue;
      if (this.spec.outputMode === "append") this.emitGroup(group, false);
      this.groups.delete(key);
      this.unsaved.delete(group);
      this.evicted.add(key);
    }
  }

  stateRows(): number {
    return this.groups.size;
  }

  snapshot(): StateChange[] {
    const changes: StateChange[] = [];
    for (const group of this.unsaved) {
      changes.push({ stateId: this.stateId, keyGroup: keyGroupOf(group.key), key: group.key, value: [group.keyValues, group.accumulators.map((accumulator) => accumulator.save())] });
    }
    for (const key of this.evicted) changes.push({ stateId: this.stateId, keyGroup: keyGroupOf(key), key, value: null });
    this.unsaved.clear();
    this.evicted.clear();
    return changes;
  }

  restore(entries: Iterable<[string, unknown]>): void {
    for (const [key, value] of entries) {
      const [keyValues, states] = value as [unknown[], unknown[]];
      const accumulators = this.createAccumulators();
      accumulators.forEach((accumulator, index) => accumulator.load(states[index]));
      const group = { key, keyValues, accumulators };
      this.groups.set(key, group);
      this.scheduleEnd(group);
    }
  }

  private scheduleEnd(group: Group): void {
    const eventTime = this.spec.eventTime;
    if (!eventTime) return;
    const end = endOfValue(group.keyValues[this.spec.groupingColumns.indexOf(eventTime.endColumn)], eventTime.endIsWindow);
    if (end !== undefined) this.expiry.push(end, group.key);
  }

  private rowOf(group: Group, keyed: boolean): Row {
    const { groupingColumns, aggregates, keyColumn } = this.spec;
    const row: Row = {};
    for (let index = 0; index < groupingColumns.length; index++) row[groupingColumns[index] as string] = group.keyValues[index];
    for (let index = 0; index < aggregates.length; index++) row[(aggregates[index] as AggregateColumn).name] = (group.accumulators[index] as Accumulator).result();
    if (keyed) row[keyColumn] = group.key;
    return row;
  }
}

/** The event time at which a group closes, from its window or event-time key (undefined when null). */
export function endOfValue(value: unknown, isWindow: boolean): number | undefined {
  const end = isWindow ? (value as TimeWindow | null | undefined)?.end : value;
  return typeof end === "number" ? end : undefined;
}

function endReader(eventTime: AggregateEventTime): (row: Row) => number | undefined {
  const { endColumn, endIsWindow } = eventTime;
  return (row) => endOfValue(row[endColumn], endIsWindow);
}
