// mapGroupsWithState / flatMapGroupsWithState: a user function per key with the key's new rows and its own state,
// called once per key per actor turn, and again when the key's timeout passes (processing time or event time).
import { UserCodeError } from "../core/errors.ts";
import { keyGroupOfValue } from "../core/keys.ts";
import type { Row } from "../core/types.ts";
import { KeyedStateTable } from "../state/keyed-state.ts";
import type { StateChange } from "../state/types.ts";
import type { Emit, Operator } from "./operator.ts";
import { forEachUserRow } from "./user-output.ts";

export type GroupStateTimeout = "none" | "processingTime" | "eventTime";

/** Spark's GroupState: the state of one key, handed to the user function. */
export interface GroupState<S> {
  readonly exists: boolean;
  get(): S;
  getOption(): S | undefined;
  update(state: S): void;
  remove(): void;
  readonly hasTimedOut: boolean;
  /** Processing-time timeout: call again with no rows after this long without rows for the key. */
  setTimeoutDuration(milliseconds: number): void;
  /** Event-time timeout: call again when the watermark passes this time (ms). */
  setTimeoutTimestamp(milliseconds: number): void;
  getCurrentWatermarkMs(): number;
  getCurrentProcessingTimeMs(): number;
}

export type GroupFunction<S> = (key: string, rows: Row[], state: GroupState<S>) => Iterable<Row>;

export interface GroupStateSpec<S> {
  readonly keyColumn: string;
  readonly fn: GroupFunction<S>;
  readonly timeout: GroupStateTimeout;
  /** Update mode: each output row carries the key (and its position) in this column for the sink. */
  readonly rowKeyColumn: string | undefined;
  readonly stateId: string;
  /** With an eventTime timeout: the event-time column; rows at or below the watermark are late and never reach the function. */
  readonly eventTimeColumn: string | undefined;
}

/** Where the group state operator finds what it needs in an input row of form R (named, or by position). */
export interface GroupStateReaders<R> {
  /** The group key's value (the key is its String()). */
  readonly key: (row: R) => unknown;
  /** The event time (eventTime timeout only): rows at or below the watermark are late. */
  readonly eventTime: ((row: R) => unknown) | undefined;
  /** The row named, as the user's function and the late-data output see it. */
  readonly named: (row: R) => Row;
}

export class GroupStateOperator<S> implements Operator {
  private readonly table: KeyedStateTable;
  private readonly pending = new Map<string, Row[]>();
  private watermark = Number.NEGATIVE_INFINITY;
  private next: Emit = () => undefined;
  /** Rows older than the watermark (eventTime timeout only), taken by the actor each turn. */
  late: Row[] = [];
  private now: () => number = Date.now;
  readonly stateId: string;
  private readonly where = (key: string) => `The function of ${this.id}, for key '${key}',`;

  constructor(readonly id: string, private readonly spec: GroupStateSpec<S>) {
    this.stateId = spec.stateId;
    this.table = new KeyedStateTable(spec.stateId, keyGroupOfValue);
  }

  connect(next: Emit): Emit {
    this.next = next;
    const { keyColumn, eventTimeColumn } = this.spec;
    return this.input<Row>({
      key: (row) => row[keyColumn],
      eventTime: eventTimeColumn === undefined ? undefined : (row) => row[eventTimeColumn],
      named: (row) => row,
    });
  }

  /**
   * The per-row input over rows of any form (named: connect; by position: group-state-positional.ts): `readers` say
   * where a row's key and event time are, and name it for the user's function. The same keys either way, so state,
   * checkpoints and the function's calls do not depend on how the rows came.
   */
  input<R>(readers: GroupStateReaders<R>): (row: R) => void {
    const { key: keyOf, eventTime, named } = readers;
    const pending = this.pending;
    return (row) => {
      if (eventTime !== undefined) {
        const time = eventTime(row);
        if (typeof time === "number" && time <= this.watermark) {
          this.late.push(named(row));
          return;
        }
      }
      const key = String(keyOf(row));
      const rows = pending.get(key);
      if (rows) rows.push(named(row));
      else pending.set(key, [named(row)]);
    };
  }

  /** End of the actor's turn: each key that got rows is called once with all of them. */
  flush(): void {
    if (this.pending.size === 0) return;
    const pending = [...this.pending];
    this.pending.clear();
    for (const [key, rows] of pending) this.call(key, rows, false);
  }

  /** Event-time timeouts: keys whose timeout the watermark passed are called with no rows. */
  onWatermark(watermark: number): void {
    this.watermark = watermark;
    if (this.spec.timeout === "eventTime") this.expire(watermark);
  }

  useClock(now: () => number): void {
    this.now = now;
  }

  /** Processing-time timeouts, called by the actor's timer. */
  tick(now: number): void {
    if (this.spec.timeout === "processingTime") this.expire(now);
  }

  stateRows(): number {
    return this.table.size;
  }

  snapshot(): StateChange[] {
    return this.table.snapshot();
  }

  restore(entries: Iterable<[string, unknown]>): void {
    this.table.restore(entries);
  }

  /** Spark's rule for both kinds: a key times out once its timeout is strictly before the watermark (or the clock). */
  private expire(now: number): void {
    const timeouts = this.table.value<number>("timeout");
    const expired = [...timeouts.keys()].filter((key) => (timeouts.get(key) as number) < now);
    for (const key of expired) {
      timeouts.clear(key);
      this.call(key, [], true);
    }
  }

  private call(key: string, rows: Row[], timedOut: boolean): void {
    const values = this.table.value<S>("state");
    const timeouts = this.table.value<number>("timeout");
    const { fn, timeout, rowKeyColumn } = this.spec;
    // GroupState's contract: a timeout lasts for one call; new data clears it unless the function sets it again.
    if (!timedOut && timeouts.get(key) !== undefined) timeouts.clear(key);
    const state: GroupState<S> = {
      get exists() {
        return values.get(key) !== undefined;
      },
      get: () => {
        const value = values.get(key);
        if (value === undefined) throw new UserCodeError(`GroupState.get() for key '${key}': the key has no state; check state.exists or use getOption().`);
        return value;
      },
      getOption: () => values.get(key),
      update: (value) => values.update(key, value),
      remove: () => {
        values.clear(key);
        timeouts.clear(key);
      },
      hasTimedOut: timedOut,
      setTimeoutDuration: (milliseconds) => {
        if (timeout !== "processingTime") throw new UserCodeError(`setTimeoutDuration() needs the processingTime timeout (this query uses ${timeout}).`);
        timeouts.update(key, this.now() + milliseconds);
      },
      setTimeoutTimestamp: (milliseconds) => {
        if (timeout !== "eventTime") throw new UserCodeError(`setTimeoutTimestamp() needs the eventTime timeout (this query uses ${timeout}).`);
        if (milliseconds < this.watermark) {
          throw new UserCodeError(`setTimeoutTimestamp(${milliseconds}) for key '${key}' is earlier than the current watermark (${this.watermark}, ${new Date(this.watermark).toISOString()}); a timeout must not be in the event-time past.`);
        }
        timeouts.update(key, milliseconds);
      },
      getCurrentWatermarkMs: () => this.watermark,
      getCurrentProcessingTimeMs: () => this.now(),
    };
    let output: Iterable<Row>;
    try {
      output = fn(key, rows, state);
    } catch (error) {
      throw new UserCodeError(`The function of ${this.id} threw for key '${key}': ${String(error)}`, { cause: error });
    }
    let index = 0;
    forEachUserRow(output, this.where, key, (row) => {
      this.next(rowKeyColumn ? { ...row, [rowKeyColumn]: `${key}#${index}` } : row);
      index++;
    });
  }
}
