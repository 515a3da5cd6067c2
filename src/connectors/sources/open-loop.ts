// The open-loop schedule of generated sources (rate, activity): row i is due at a fixed time whether or not anyone reads it.
//
// Rows are made when polled, but each carries the time it was due, and a batch's `since` is the
// due time of its oldest row: when the query lags, the lag shows in the measured latency instead
// of slowing the generator down (a closed loop would hide it).
import { nowMs } from "../../core/clock.ts";
import { ConfigError } from "../../core/errors.ts";
import { isCount, type OffsetOrder } from "../../core/offsets.ts";
import type { Row } from "../../core/types.ts";
import type { ConnectorOptions } from "../options.ts";
import { acquirePreciseWake, type PreciseWake } from "./precise-wake.ts";
import type { ReadyBatchOf, SourceContext, SourceReaderOf } from "./source.ts";

export interface ScheduleOptions {
  readonly rowsPerSecond: number;
  /** The rate rises linearly from 0 to rowsPerSecond over this time, as Spark's rampUpTime. */
  readonly rampUpMs: number;
  /** Rows of the whole query after which the schedule ends; unbounded when undefined. */
  readonly totalRows: number | undefined;
  /** How a reader waits for its next row to fall due (option `wake`); `timer` when undefined. */
  readonly wake?: WakeMode;
}

/**
 * How an open-loop reader waits for its next row:
 * - `timer`: Node's setTimeout, whole milliseconds, so a row reaches the actor up to 1-2 ms past its due time;
 * - `precise`: the process's wake thread (precise-wake.ts), within about a tenth of a millisecond, the event loop idle;
 * - `spin`: a check on every event-loop turn for the last 2 ms before a row is due (the old `busyWait`), within
 *   microseconds, but the event loop never sleeps while rows fall due more often than every 2 ms.
 */
export const WAKE_MODES = ["timer", "precise", "spin"] as const;
export type WakeMode = (typeof WAKE_MODES)[number];

/**
 * The `wake` option of an open-loop source, with `busyWait` kept as its older spelling: `busyWait=true` is
 * `wake=spin`, `busyWait=false` is the default. Both given and disagreeing is an error naming both.
 */
export function wakeOption(options: ConnectorOptions, owner: string, fallback: WakeMode = "timer"): WakeMode {
  const wake = options.choice("wake", WAKE_MODES, fallback);
  if (!options.has("busyWait")) return wake;
  const busyWait = options.boolean("busyWait", false);
  if (!options.has("wake")) return busyWait ? "spin" : fallback;
  if (busyWait !== (wake === "spin")) {
    throw new ConfigError(`Options 'wake' ('${wake}') and 'busyWait' ('${String(busyWait)}') of ${owner} disagree; 'busyWait' is the older spelling of wake=spin. Keep 'wake' only.`);
  }
  return wake;
}

/** When each row of a query is due; shared by all partitions of one provider so that they share a start. */
export class OpenLoopSchedule {
  private startMs: number | undefined;
  private readonly rampUpSeconds: number;
  private readonly rampUpRows: number;

  constructor(readonly options: ScheduleOptions) {
    this.rampUpSeconds = options.rampUpMs / 1000;
    this.rampUpRows = (options.rowsPerSecond * this.rampUpSeconds) / 2;
  }

  /** Fixes the start at the first call (the first reader to open) and returns it. */
  begin(now: number = nowMs()): number {
    this.startMs ??= now;
    return this.startMs;
  }

  /** Due time (ms) of row `index` of the query: the inverse of rowsDueBy. `start` is a reader's own, after a seek. */
  dueTime(index: number, start: number = this.begin()): number {
    const { rowsPerSecond } = this.options;
    if (index < this.rampUpRows) return start + Math.sqrt((2 * this.rampUpSeconds * index) / rowsPerSecond) * 1000;
    return start + (this.rampUpSeconds + (index - this.rampUpRows) / rowsPerSecond) * 1000;
  }

  /** How many rows of the whole query are due at `now`: rows 0..n-1. */
  rowsDueBy(now: number, start: number = this.begin()): number {
    const elapsedSeconds = (now - start) / 1000;
    if (elapsedSeconds < 0) return 0;
    const { rowsPerSecond, totalRows } = this.options;
    const cumulative =
      elapsedSeconds < this.rampUpSeconds
        ? (rowsPerSecond * elapsedSeconds * elapsedSeconds) / (2 * this.rampUpSeconds)
        : this.rampUpRows + (elapsedSeconds - this.rampUpSeconds) * rowsPerSecond;
    const due = Math.floor(cumulative + 1e-9) + 1;
    return totalRows === undefined ? due : Math.min(due, totalRows);
  }
}

/** Rows of the query that fall to `partition` among the first `queryRows`: indexes p, p+n, p+2n, ... */
export function partitionShare(queryRows: number, partition: number, numPartitions: number): number {
  return queryRows > partition ? Math.ceil((queryRows - partition) / numPartitions) : 0;
}

/** A generator's offsets: the same schedule start, and never fewer rows handed out. */
export const generatorOrder: OffsetOrder = (earlier, later) => {
  if (!isGeneratorOffset(earlier) || !isGeneratorOffset(later)) return false;
  return later.start === earlier.start && later.emitted >= earlier.emitted;
};

function isGeneratorOffset(value: unknown): value is { start: number; emitted: number } {
  if (typeof value !== "object" || value === null) return false;
  const offset = value as { start?: unknown; emitted?: unknown };
  return typeof offset.start === "number" && Number.isFinite(offset.start) && isCount(offset.emitted);
}

/**
 * A reader of one partition of an open-loop source: computes due rows from the clock, and keeps a
 * timer only to tell the source actor that rows became due. Subclasses make the rows.
 *
 * Node's timers fire no sooner than a whole millisecond, usually later: a row due 0.1 ms from now would wait up to
 * 2 ms. With `wake=timer` (the default) the reader sleeps on such a timer anyway. With `wake=precise` it asks the
 * process's wake thread (precise-wake.ts) for the row's due time: the event loop sleeps too, and wakes within about a
 * tenth of a millisecond. With `wake=spin` (formerly `busyWait`), the timer only covers waits of 2 ms and more (waking a
 * millisecond early) and the last stretch is a check on every turn of the event loop (setImmediate), which lets I/O in
 * between and tells the actor within microseconds of a row's due time, at the cost of a busy event loop while rows fall
 * due faster than one per 2 ms per partition.
 */
export abstract class OpenLoopReader<R = Row> implements SourceReaderOf<R> {
  readonly offsetOrder = generatorOrder;
  private context: SourceContext | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** wake=precise: this reader's use of the wake thread, from open() to close() (which cancels its pending call). */
  private preciseWake: PreciseWake | undefined;
  /** Rows of this partition handed out by poll(). */
  private emitted = 0;
  /** Rows of this partition the actor was last told about. */
  private announced = 0;
  private closed = false;
  /**
   * This partition's schedule start: the shared one (the first reader of the process to open fixes it, so partitions
   * read in one process fall due together), or the one its offset recorded. Partitions placed on different workers
   * start apart, and a rollback may bring them into one process: each keeps its own start, or a replay would make other
   * rows at other times and the offset would no longer follow the committed one.
   */
  private start: number | undefined;

  constructor(protected readonly schedule: OpenLoopSchedule) {}

  /** Makes the row with this query-wide index, due at `dueMs` (named, or an array in the schema's order); called in index order. */
  protected abstract makeRow(index: number, dueMs: number): R;

  /** Due time of the query's row `index` on this partition's schedule. */
  protected dueTime(index: number): number {
    return this.schedule.dueTime(index, this.start);
  }

  /** After seek(): rows this partition made before the restart, for generators whose rows depend on the ones before. */
  protected skipRows(_partition: number, _numPartitions: number, _count: number): void {}

  async open(context: SourceContext): Promise<void> {
    this.context = context;
    this.start ??= this.schedule.begin();
    if (this.emitted > 0) this.skipRows(context.partition, context.numPartitions, this.emitted);
    if (this.schedule.options.wake === "precise") this.preciseWake ??= acquirePreciseWake();
    this.tick();
  }

  /** The schedule's start and the rows of this partition polled so far: a replay makes the same rows at the same due times. */
  offset(): { start: number; emitted: number } {
    return { start: this.start ??= this.schedule.begin(), emitted: this.emitted };
  }

  seek(offset: unknown): void {
    const { start, emitted } = offset as { start: number; emitted: number };
    this.start = start;
    this.emitted = emitted;
    this.announced = emitted;
  }

  async prepare(): Promise<void> {
    // Nothing to fetch: readyCount() reads the clock.
  }

  readyCount(): number {
    return this.dueInPartition() - this.emitted;
  }

  poll(max: number): ReadyBatchOf<R> | undefined {
    const take = Math.min(max, this.readyCount());
    if (take <= 0 || !this.context) return undefined;
    const { partition, numPartitions } = this.context;
    const rows: R[] = new Array<R>(take);
    let since = 0;
    let until = 0;
    for (let offset = 0; offset < take; offset++) {
      const index = partition + (this.emitted + offset) * numPartitions;
      const due = this.schedule.dueTime(index, this.start);
      if (offset === 0) since = due;
      until = due;
      rows[offset] = this.makeRow(index, due);
    }
    this.emitted += take;
    return { rows, since, until };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.preciseWake?.close();
    this.preciseWake = undefined;
  }

  private dueInPartition(): number {
    const context = this.context;
    if (!context) return 0;
    return partitionShare(this.schedule.rowsDueBy(nowMs(), this.start), context.partition, context.numPartitions);
  }

  /** Notifies when rows became due since the last notice, then sleeps until the next row of this partition is due. */
  private readonly tick = (): void => {
    const context = this.context;
    if (this.closed || !context) return;
    const due = this.dueInPartition();
    if (due > this.announced) {
      this.announced = due;
      context.notify();
    }
    const total = this.schedule.options.totalRows;
    const nextIndex = context.partition + due * context.numPartitions;
    if (total !== undefined && nextIndex >= total) return;
    const nextDue = this.schedule.dueTime(nextIndex, this.start);
    const now = nowMs();
    const wait = nextDue - now;
    const wake = this.schedule.options.wake ?? "timer";
    if (wake === "precise" && this.preciseWake) this.preciseWake.at(Math.min(nextDue, now + 1000), this.tick);
    else if (wake !== "spin") this.timer = setTimeout(this.tick, Math.min(1000, Math.max(1, Math.ceil(wait))));
    else if (wait >= 2) this.timer = setTimeout(this.tick, Math.min(1000, Math.floor(wait) - 1));
    else this.immediate = setImmediate(this.tick);
  };
}
