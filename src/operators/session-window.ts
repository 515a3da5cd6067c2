// Session windows (session_window(time, gap)): per key, events closer than the gap form one session; a new event can
// extend or join sessions. Update mode emits a session as it changes; the watermark closes sessions (append emits them).
import { keyGroupOf, keyOf } from "../core/keys.ts";
import { RETRACTED_KEY_PREFIX, type PositionalRow, type Row } from "../core/types.ts";
import type { StateChange } from "../state/types.ts";
import { createAccumulator, type Accumulator } from "./aggregate-functions.ts";
import type { AggregateColumn } from "./aggregate.ts";
import { ExpiryQueue } from "./expiry-queue.ts";
import type { Emit, Operator } from "./operator.ts";

export interface SessionWindowSpec {
  /** Grouping columns besides the session, in output order; the session column goes at `sessionPosition`. */
  readonly keyColumns: readonly string[];
  readonly sessionColumn: string;
  readonly sessionPosition: number;
  /** The input column with each row's time (ms). */
  readonly timeColumn: string;
  readonly gapMs: number;
  /** A per-row gap (ms, or null: the row takes part in no session) in this column instead of `gapMs`. */
  readonly gapColumn?: string;
  readonly aggregates: readonly AggregateColumn[];
  readonly outputMode: "append" | "update" | "complete";
  /** With a watermark: rows older than it are late, and sessions ending before it close. */
  readonly watermarked: boolean;
  readonly keyColumn: string;
  readonly stateId: string;
}

/** Where a row's fields are, for SessionWindowOperator.input: named rows or rows by position. */
export interface SessionWindowReaders<R> {
  /** The row's time (ms); anything else: the row takes part in no session. */
  readonly time: (row: R) => unknown;
  /** The row's gap (ms); anything else: the row takes part in no session. */
  readonly gap: (row: R) => unknown;
  readonly keyOf: (row: R) => string;
  /** The grouping values besides the session, as the output gives them (a missing one as null). */
  readonly keyValues: (row: R) => unknown[];
  /** Each aggregate's input; undefined for count(*). */
  readonly arguments: ReadonlyArray<((row: R) => unknown) | undefined>;
  /** The row named, for the late rows. */
  readonly named: (row: R) => Row;
}

interface Session {
  start: number;
  end: number;
  readonly accumulators: Accumulator[];
  /** The key of its rows in update and complete mode (`<key>|<start>`), made at its first emit and again after its start moves. */
  rowKey: string | undefined;
}

/** The order of a session's output row: the grouping columns with the session column at its place, then the aggregates. */
function outputNames(spec: SessionWindowSpec): string[] {
  const names = [...spec.keyColumns];
  names.splice(spec.sessionPosition, 0, spec.sessionColumn);
  return [...names, ...spec.aggregates.map((aggregate) => aggregate.name)];
}

interface Sessions {
  readonly keyValues: readonly unknown[];
  list: Session[];
}

export class SessionWindowOperator implements Operator {
  private readonly keys = new Map<string, Sessions>();
  private readonly changed = new Map<string, Set<Session>>();
  private readonly unsaved = new Set<string>();
  /** Complete mode: per key, the starts of sessions merged into another during the turn (their rows are retracted). */
  private readonly mergedAway = new Map<string, number[]>();
  private readonly expiry = new ExpiryQueue();
  private watermark = Number.NEGATIVE_INFINITY;
  /** Where a session's row leaves, and in which form: named (connect) or by position (outputByPosition). */
  private emitSession: (key: string, keyValues: readonly unknown[], session: Session) => void = () => undefined;
  /** Complete mode: where the row that retracts a merged-away session (its key only) leaves. */
  private emitRetraction: (rowKey: string) => void = () => undefined;
  private readonly createAccumulators: () => Accumulator[];
  late: Row[] = [];
  readonly stateId: string;

  constructor(readonly id: string, private readonly spec: SessionWindowSpec) {
    this.stateId = spec.stateId;
    const functions = spec.aggregates.map((aggregate) => aggregate.function);
    this.createAccumulators = () => functions.map(createAccumulator);
  }

  connect(next: Emit): Emit {
    const { keyColumns, timeColumn, gapMs, gapColumn, aggregates, sessionPosition, keyColumn, outputMode } = this.spec;
    const names = outputNames(this.spec);
    const keyed = outputMode !== "append";
    this.emitSession = (key, keyValues, session) => {
      const row: Row = {};
      for (let index = 0; index < sessionPosition; index++) row[names[index] as string] = keyValues[index];
      row[names[sessionPosition] as string] = { start: session.start, end: session.end };
      for (let index = sessionPosition; index < keyColumns.length; index++) row[names[index + 1] as string] = keyValues[index];
      const accumulators = session.accumulators;
      for (let index = 0; index < accumulators.length; index++) row[names[keyColumns.length + 1 + index] as string] = (accumulators[index] as Accumulator).result();
      if (keyed) row[keyColumn] = session.rowKey ??= `${key}|${session.start}`;
      next(row);
    };
    this.emitRetraction = (rowKey) => next({ [keyColumn]: rowKey });
    return this.input<Row>({
      time: (row) => row[timeColumn],
      gap: gapColumn === undefined ? () => gapMs : (row) => row[gapColumn],
      keyOf: keyOf(keyColumns),
      keyValues: (row) => keyColumns.map((column) => row[column] ?? null),
      arguments: aggregates.map((aggregate) => aggregate.argument),
      named: (row) => row,
    });
  }

  /**
   * The per-row input over rows of any form: `readers` say where a row's time, gap, key, key values and aggregate inputs
   * are. Named rows (connect) and rows by position (session-window-positional.ts) assign rows to the same sessions under
   * the same key strings, so state, checkpoints and output do not depend on the rows' form.
   */
  input<R>(readers: SessionWindowReaders<R>): (row: R) => void {
    const { time: timeOf, gap: gapOf, keyOf: keyFor, keyValues, arguments: arguments_, named } = readers;
    const { watermarked } = this.spec;
    const keys = this.keys;
    const changed = this.changed;
    return (row) => {
      const time = timeOf(row);
      if (typeof time !== "number") return;
      const gap = gapOf(row);
      if (typeof gap !== "number") return;
      // As in Spark, the row's own session [time, time + gap) decides: late once it would already be closed.
      if (watermarked && time + gap <= this.watermark) {
        this.late.push(named(row));
        return;
      }
      const key = keyFor(row);
      let sessions = keys.get(key);
      if (!sessions) {
        sessions = { keyValues: keyValues(row), list: [] };
        keys.set(key, sessions);
      }
      let changedSessions = changed.get(key);
      if (!changedSessions) {
        changedSessions = new Set<Session>();
        changed.set(key, changedSessions);
      }
      const session = this.assign(key, sessions.list, time, time + gap, changedSessions);
      const accumulators = session.accumulators;
      for (let index = 0; index < accumulators.length; index++) {
        const argument = arguments_[index];
        (accumulators[index] as Accumulator).add(argument ? argument(row) : 1);
      }
      // Last in the turn's order, as a session made anew by this row would be.
      changedSessions.delete(session);
      changedSessions.add(session);
      this.unsaved.add(key);
      if (watermarked) this.expiry.push(session.end, key);
    };
  }

  /**
   * The session a row's own session [start, end] joins in `list` (sorted by start, no two overlapping or touching):
   * the first one it overlaps or touches, grown in place to cover the row and every later one it reaches, whose
   * accumulators it takes in start order (those sessions leave the list and the turn's changes); or a new session at
   * its place. The same sessions, accumulator contents and order as merging them all into a new session would give.
   */
  private assign(key: string, list: Session[], start: number, end: number, changedSessions: Set<Session>): Session {
    let first = 0;
    while (first < list.length && (list[first] as Session).end < start) first++;
    const target = list[first];
    // Spark's rule: sessions that overlap or touch (one's end equals the other's start) are one session.
    if (target === undefined || !(target.start <= end && start <= target.end)) {
      const session: Session = { start, end, accumulators: this.createAccumulators(), rowKey: undefined };
      list.splice(first, 0, session);
      return session;
    }
    const complete = this.spec.outputMode === "complete";
    if (complete) this.mergedAwayOf(key).push(target.start);
    let last = first;
    while (last + 1 < list.length && (list[last + 1] as Session).start <= end) {
      const other = list[++last] as Session;
      const accumulators = target.accumulators;
      for (let index = 0; index < accumulators.length; index++) (accumulators[index] as Accumulator).merge(other.accumulators[index] as Accumulator);
      if (complete) this.mergedAwayOf(key).push(other.start);
      changedSessions.delete(other);
      target.end = Math.max(target.end, other.end);
    }
    if (last > first) list.splice(first + 1, last - first);
    if (start < target.start) {
      target.start = start;
      target.rowKey = undefined;
    }
    target.end = Math.max(target.end, end);
    return target;
  }

  private mergedAwayOf(key: string): number[] {
    let starts = this.mergedAway.get(key);
    if (!starts) {
      starts = [];
      this.mergedAway.set(key, starts);
    }
    return starts;
  }

  /**
   * Output by position (session-window-positional.ts): from now on each row leaves into `next` as an array of the
   * grouping values with the session ({start, end}) at its place, the aggregates' results and, for a keyed row (update
   * and complete mode), the row's key; a retraction (complete mode) has nulls but for its key. The values and order
   * the named rows have; sessions, state and checkpoints are the same either way.
   */
  outputByPosition(next: (row: PositionalRow) => void): void {
    const { keyColumns, sessionPosition, outputMode } = this.spec;
    const keyed = outputMode !== "append";
    const width = outputNames(this.spec).length;
    this.emitSession = (key, keyValues, session) => {
      const row: unknown[] = [];
      for (let index = 0; index < sessionPosition; index++) row.push(keyValues[index]);
      row.push({ start: session.start, end: session.end });
      for (let index = sessionPosition; index < keyColumns.length; index++) row.push(keyValues[index]);
      const accumulators = session.accumulators;
      for (let index = 0; index < accumulators.length; index++) row.push((accumulators[index] as Accumulator).result());
      if (keyed) row.push(session.rowKey ??= `${key}|${session.start}`);
      next(row);
    };
    this.emitRetraction = (rowKey) => {
      const row: unknown[] = [];
      for (let index = 0; index < width; index++) row.push(null);
      row.push(rowKey);
      next(row);
    };
  }

  /** Update and complete mode: each session that changed during the turn leaves once; complete retracts merged ones. */
  flush(): void {
    if (this.spec.outputMode !== "append") {
      this.retractMerged();
      for (const [key, sessions] of this.changed) {
        const keyValues = this.keys.get(key)?.keyValues ?? [];
        for (const session of sessions) this.emitSession(key, keyValues, session);
      }
    }
    this.changed.clear();
  }

  /** Complete mode: the rows of sessions merged away (whose start no session of the key has now) leave the result. */
  private retractMerged(): void {
    for (const [key, starts] of this.mergedAway) {
      const current = new Set(this.keys.get(key)?.list.map((session) => session.start));
      for (const start of new Set(starts)) if (!current.has(start)) this.emitRetraction(`${RETRACTED_KEY_PREFIX}${key}|${start}`);
    }
    this.mergedAway.clear();
  }

  /** Sessions that ended before the watermark are final: append mode emits them, and their state goes. */
  onWatermark(watermark: number): void {
    this.watermark = watermark;
    if (!this.spec.watermarked) return;
    this.flush();
    for (const key of new Set(this.expiry.popUntil(watermark))) {
      const sessions = this.keys.get(key);
      if (!sessions) continue;
      const open: Session[] = [];
      for (const session of sessions.list) {
        if (session.end <= watermark) {
          if (this.spec.outputMode === "append") this.emitSession(key, sessions.keyValues, session);
        } else {
          open.push(session);
        }
      }
      sessions.list = open;
      if (open.length === 0) this.keys.delete(key);
      this.unsaved.add(key);
    }
  }

  stateRows(): number {
    let rows = 0;
    for (const sessions of this.keys.values()) rows += sessions.list.length;
    return rows;
  }

  snapshot(): StateChange[] {
    const changes: StateChange[] = [];
    for (const key of this.unsaved) {
      const sessions = this.keys.get(key);
      const value = sessions ? [sessions.keyValues, sessions.list.map((session) => [session.start, session.end, session.accumulators.map((accumulator) => accumulator.save())])] : null;
      changes.push({ stateId: this.stateId, keyGroup: this.keyGroup(key), key, value });
    }
    this.unsaved.clear();
    return changes;
  }

  restore(entries: Iterable<[string, unknown]>): void {
    for (const [key, value] of entries) {
      const [keyValues, list] = value as [unknown[], Array<[number, number, unknown[]]>];
      const sessions: Sessions = {
        keyValues,
        list: list.map(([start, end, states]) => {
          const accumulators = this.createAccumulators();
          accumulators.forEach((accumulator, index) => accumulator.load(states[index]));
          return { start, end, accumulators, rowKey: undefined };
        }),
      };
      this.keys.set(key, sessions);
      if (this.spec.watermarked) for (const session of sessions.list) this.expiry.push(session.end, key);
    }
  }

  /** The key group the exchange sends the key's rows to: it hashes the same key string. */
  private keyGroup(key: string): number {
    return keyGroupOf(key);
  }
}
