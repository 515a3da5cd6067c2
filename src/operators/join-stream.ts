// The stream-stream join (Spark's symmetric hash join): each side's rows are buffered in keyed state by join key; a row
// meets the other side's buffered rows of its key, then is buffered itself until the watermark proves nothing can match
// it any more. Outer sides emit their rows that matched nothing, with nulls, when they leave the state; a left semi join
// emits a left row once, at its first match. The decisions are in join-stream-eviction.ts.
import { keyGroupOfValue } from "../core/keys.ts";
import type { Row } from "../core/types.ts";
import type { StateChange } from "../state/types.ts";
import { ExpiryQueue } from "./expiry-queue.ts";
import { expiredCount, firstAtLeast, insertSorted, type Buffered } from "./join-stream-buffer.ts";
import { arrivalDecision, emitOnEviction, isLate, keepUntil, type Expiry, type JoinSide } from "./join-stream-eviction.ts";
import type { Emit, Operator } from "./operator.ts";

/** Hidden columns the inputs add before the exchange: which side a row is from, and its join key (null: no key). */
export const JOIN_SIDE = "__rill_join_side";
export const JOIN_KEY = "__rill_join_key";

export interface StreamJoinSideSpec {
  readonly expiry: Expiry;
  /** The side's watermarked column (a window's end when `window`): rows at or below the watermark are late. */
  readonly late: { readonly column: string; readonly window: boolean } | undefined;
  /** Its rows that match nothing leave with nulls (the left of a left or full outer join, the right of a right or full). */
  readonly preserved: boolean;
}

export interface StreamJoinSpec {
  readonly stateId: string;
  readonly left: StreamJoinSideSpec;
  readonly right: StreamJoinSideSpec;
  /** Left semi: left rows out, once, at their first match; right rows only buffered. */
  readonly semi: boolean;
  /** The whole condition on a left and a right row (the key equality included). */
  readonly condition: (left: Row, right: Row) => boolean;
  /** The output row of a match, or of an unmatched row (the other side null). */
  readonly output: (left: Row | null, right: Row | null) => Row;
}

class SideState {
  /** Each key's rows, sorted by `until` (join-stream-buffer.ts). */
  readonly rows = new Map<string, Buffered[]>();
  /** One (until, key) per buffered row that can expire: the keys the watermark reaches, without a scan of all keys. */
  readonly expiry = new ExpiryQueue();
  readonly changed = new Set<string>();
  count = 0;
  /**
   * The column of this side's arriving rows that lets a probe skip the other side's rows that ended before it: set when
   * the other side expires by the time range, whose `until` then bounds the time of any row of this side it can meet.
   */
  probeColumn: string | undefined;

  constructor(readonly side: JoinSide, readonly spec: StreamJoinSideSpec) {}

  add(key: string, entry: Buffered): void {
    const list = this.rows.get(key);
    if (list) insertSorted(list, entry);
    else this.rows.set(key, [entry]);
    this.count++;
    this.changed.add(key);
    if (entry.until !== Number.POSITIVE_INFINITY) this.expiry.push(entry.until, key);
  }
}

export class StreamJoinOperator implements Operator {
  readonly stateId: string;
  /** Rows dropped as late, counted and published by the actor. */
  late: Row[] = [];
  private readonly left: SideState;
  private readonly right: SideState;
  private watermark = Number.NEGATIVE_INFINITY;
  private next: Emit = () => undefined;

  constructor(readonly id: string, private readonly spec: StreamJoinSpec) {
    this.stateId = spec.stateId;
    this.left = new SideState("left", spec.left);
    this.right = new SideState("right", spec.right);
    this.left.probeColumn = probeColumnOf(spec.left, spec.right);
    this.right.probeColumn = probeColumnOf(spec.right, spec.left);
  }

  connect(next: Emit): Emit {
    this.next = next;
    return (row) => {
      const isLeft = row[JOIN_SIDE] === 0;
      const own = isLeft ? this.left : this.right;
      const late = own.spec.late;
      if (late && isLate(row[late.column], late.window, this.watermark)) {
        this.late.push(row);
        return;
      }
      const key = row[JOIN_KEY];
      if (typeof key !== "string") {
        // A null key equals nothing: an outer side's row leaves at once with nulls, any other is dropped.
        if (own.spec.preserved) next(isLeft ? this.spec.output(row, null) : this.spec.output(null, row));
        return;
      }
      const matched = isLeft ? this.probeRight(row, key) : this.probeLeft(row, key);
      const until = keepUntil(own.spec.expiry, own.spec.expiry.kind === "never" ? undefined : row[own.spec.expiry.column]);
      const decision = arrivalDecision({ matched, preserved: own.spec.preserved, semiLeft: this.spec.semi && isLeft, until, watermark: this.watermark });
      if (decision.buffer) own.add(key, { row, until, matched });
      if (decision.emitUnmatched) next(isLeft ? this.spec.output(row, null) : this.spec.output(null, row));
    };
  }

  /** A left row meets the buffered right rows of its key; a left semi join emits it once. */
  private probeRight(left: Row, key: string): boolean {
    const candidates = this.right.rows.get(key);
    if (!candidates) return false;
    const { condition, output, semi } = this.spec;
    let matched = false;
    for (let index = firstCandidate(candidates, left, this.left.probeColumn); index < candidates.length; index++) {
      const entry = candidates[index] as Buffered;
      if (!condition(left, entry.row)) continue;
      if (semi) {
        this.next(output(left, null));
        return true;
      }
      matched = true;
      this.next(output(left, entry.row));
      if (!entry.matched) {
        entry.matched = true;
        if (this.right.spec.preserved) this.right.changed.add(key);
      }
    }
    return matched;
  }

  /** A right row meets the buffered left rows of its key; in a left semi join, each left row it matches leaves (once). */
  private probeLeft(right: Row, key: string): boolean {
    const candidates = this.left.rows.get(key);
    if (!candidates) return false;
    const { condition, output, semi } = this.spec;
    let matched = false;
    let kept: Buffered[] | undefined;
    for (let index = firstCandidate(candidates, right, this.right.probeColumn); index < candidates.length; index++) {
      const entry = candidates[index] as Buffered;
      if (!condition(entry.row, right)) {
        kept?.push(entry);
        continue;
      }
      matched = true;
      if (semi) {
        // Emitted once; never needed again (the rows before the first candidate stay, in order).
        this.next(output(entry.row, null));
        kept ??= candidates.slice(0, index);
        this.left.count--;
        continue;
      }
      kept?.push(entry);
      this.next(output(entry.row, right));
      if (!entry.matched) {
        entry.matched = true;
        if (this.left.spec.preserved) this.left.changed.add(key);
      }
    }
    if (kept) {
      if (kept.length > 0) this.left.rows.set(key, kept);
      else this.left.rows.delete(key);
      this.left.changed.add(key);
    }
    return matched;
  }

  onWatermark(watermark: number): void {
    this.watermark = watermark;
    this.evict(this.left, watermark);
    this.evict(this.right, watermark);
  }

  /** Removes the rows the watermark has made useless; an outer side's unmatched ones leave with nulls. */
  private evict(state: SideState, watermark: number): void {
    const isLeft = state.side === "left";
    // A key comes once per row that expired with it: the first look removes the key's expired prefix, the others find none.
    for (const key of state.expiry.popBelow(watermark)) {
      const list = state.rows.get(key);
      if (!list) continue;
      const count = expiredCount(list, watermark);
      if (count === 0) continue;
      for (let index = 0; index < count; index++) {
        const entry = list[index] as Buffered;
        if (emitOnEviction(state.spec.preserved, entry.matched)) this.next(isLeft ? this.spec.output(entry.row, null) : this.spec.output(null, entry.row));
      }
      state.count -= count;
      if (count === list.length) state.rows.delete(key);
      else list.splice(0, count);
      state.changed.add(key);
    }
  }

  stateRows(): number {
    return this.left.count + this.right.count;
  }

  /** Each changed key's buffered rows on one side, as one value in the key group of the join key (null: removed). */
  snapshot(): StateChange[] {
    const changes: StateChange[] = [];
    for (const state of [this.left, this.right]) {
      const prefix = state.side === "left" ? "L:" : "R:";
      for (const key of state.changed) {
        const list = state.rows.get(key);
        const value = list ? list.map((entry) => [entry.row, entry.until === Number.POSITIVE_INFINITY ? null : entry.until, entry.matched]) : null;
        changes.push({ stateId: this.stateId, keyGroup: keyGroupOfValue(key), key: `${prefix}${key}`, value });
      }
      state.changed.clear();
    }
    return changes;
  }

  restore(entries: Iterable<[string, unknown]>): void {
    for (const [stored, value] of entries) {
      if (!Array.isArray(value)) continue;
      const state = stored.startsWith("L:") ? this.left : this.right;
      const key = stored.slice(2);
      for (const item of value as Array<[Row, number | null, boolean]>) state.add(key, { row: item[0], until: item[1] ?? Number.POSITIVE_INFINITY, matched: item[2] });
      state.changed.delete(key);
    }
  }
}

/** The first buffered row a probe needs to look at: none before it can meet the probing row (all from 0 without a range). */
function firstCandidate(candidates: readonly Buffered[], probe: Row, probeColumn: string | undefined): number {
  if (probeColumn === undefined) return 0;
  const time = probe[probeColumn];
  return typeof time === "number" ? firstAtLeast(candidates, time) : 0;
}

/**
 * The probing side's column that bounds the other side's candidates: when the other side's rows expire by the time range,
 * a row of it can meet only rows of this side whose watermarked time is at most its `until` (rangeExpiry builds `until`
 * so, from this side's watermarked column).
 */
function probeColumnOf(own: StreamJoinSideSpec, other: StreamJoinSideSpec): string | undefined {
  return other.expiry.kind === "range" && own.late !== undefined && !own.late.window ? own.late.column : undefined;
}
