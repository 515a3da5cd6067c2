// Session windows (session_window(time, gap)): per key, events closer than the gap form one session; a new event can
// extend or join sessions. Update mode emits a session as it changes; the watermark closes sessions (append emits them).
import { keyGroupOf, keyOf } from "../core/keys.ts";
import { RETRACTED_KEY_PREFIX, type Row } from "../core/types.ts";
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
  private next: Emit = () => undefined;
  late: Row[] = [];
  readonly stateId: string;

  constructor(readonly id: string, private readonly spec: SessionWindowSpec) {
    this.stateId = spec.stateId;
  }

  connect(next: Emit): Emit {
    this.next = next;
    const { keyColumns, timeColumn, gapMs, gapColumn, aggregates } = this.spec;
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
    const { aggregates, watermarked } = this.spec;
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
      let sessions = this.keys.get(key);
      if (!sessions) {
        sessions = { keyValues: keyValues(row), list: [] };
        this.keys.set(key, sessions);
      }
      const merged: Session = { start: time, end: time + gap, accumulators: aggregates.map((aggregate) => createAccumulator(aggregate.function)) };
      const kept: Session[] = [];
      for (const session of sessions.list) {
        // Spark's rule: sessions that overlap or touch (one's end equals the other's start) are one session.
        if (session.start <= merged.end && merged.start <= session.end) {
          merged.start = Math.min(merged.start, session.start);
          merged.end = Math.max(merged.end, session.end);
          merged.accumulators.forEach((accumulator, index) => accumulator.merge(session.accumulators[index] as Accumulator));
          if (this.spec.outputMode === "complete") this.mergedAway.set(key, [...(this.mergedAway.get(key) ?? []), session.start]);
          this.changed.get(key)?.delete(session);
        } else {
          kept.push(session);
        }
      }
      merged.accumulators.forEach((accumulator, index) => {
        const argument = arguments_[index];
        accumulator.add(argument ? argument(row) : 1);
      });
      kept.push(merged);
      sessions.list = kept.sort((a, b) => a.start - b.start);
      const changed = this.changed.get(key) ?? new Set<Session>();
      changed.add(merged);
      this.changed.set(key, changed);
      this.unsaved.add(key);
      if (watermarked) this.expiry.push(merged.end, key);
    };
  }

  /** Update and complete mode: each session that changed during the turn leaves once; complete retracts merged ones. */
  flush(): void {
    if (this.spec.outputMode !== "append") {
      this.retractMerged();
      for (const [key, sessions] of this.changed) for (const session of sessions) this.emit(key, session);
    }
    this.changed.clear();
  }

  /** Complete mode: the rows of sessions merged away (whose start no session of the key has now) leave the result. */
  private retractMerged(): void {
    for (const [key, starts] of this.mergedAway) {
      const current = new Set(this.keys.get(key)?.list.map((session) => session.start));
      for (const start of new Set(starts)) if (!current.has(start)) this.next({ [this.spec.keyColumn]: `${RETRACTED_KEY_PREFIX}${key}|${start}` });
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
          if (this.spec.outputMode === "append") this.emit(key, session);
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
          const accumulators = this.spec.aggregates.map((aggregate) => createAccumulator(aggregate.function));
          accumulators.forEach((accumulator, index) => accumulator.load(states[index]));
          return { start, end, accumulators };
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

  private emit(key: string, session: Session): void {
    const { keyColumns, sessionColumn, sessionPosition, aggregates, keyColumn, outputMode } = this.spec;
    const sessions = this.keys.get(key);
    const row: Row = {};
    const names = [...keyColumns];
    names.splice(sessionPosition, 0, sessionColumn);
    let keyIndex = 0;
    for (const name of names) row[name] = name === sessionColumn ? { start: session.start, end: session.end } : sessions?.keyValues[keyIndex++];
    aggregates.forEach((aggregate, index) => (row[aggregate.name] = (session.accumulators[index] as Accumulator).result()));
    if (outputMode !== "append") row[keyColumn] = `${key}|${session.start}`;
    this.next(row);
  }
}
