// The sink seam: the sink actor hands a writer rows as they arrive and each epoch's rows at its barrier.
//
// Lifecycle: open() once; write() and commitEpoch() in order, never concurrently; close() at stop
// (not promised after a crash). A returned promise holds the query back until it settles: a slow
// sink slows its producers and loses nothing.
import type { Row } from "../../core/types.ts";

export type OutputMode = "append" | "update" | "complete";

export type SinkGuarantee = "transactional" | "idempotent" | "at-least-once";

export interface SinkContext {
  readonly queryName: string;
  /** The query's id: stable across restarts from one checkpoint location. */
  readonly queryId: string;
  readonly outputMode: OutputMode;
  /**
   * Rows reach the sink from each sender in an order a replay reproduces: no shuffle or merge before the sink. Row
   * ids (`needsRowIds`) name the same rows on a replay only then.
   */
  readonly orderReproducible: boolean;
  /**
   * True when the query has a checkpoint location: epoch N becomes final only with commitEpoch(N),
   * after every actor has acked N and the commit is durable (two-phase commit).
   */
  readonly checkpointed: boolean;
  /** On a restart from a checkpoint, the last committed epoch (-1 when none): discard what was prepared after it. */
  readonly lastCommittedEpoch: number;
  /** The query's checkpoint folder, where a sink may keep what it prepared durably (under `sinks/`). */
  readonly checkpointLocation?: string;
  /**
   * The query attempt this writer belongs to: a run (a start, or a restarted driver) and its n-th rollback. A sink that
   * prepares files keeps each attempt's apart, so a stalled attempt that resumes can never rewrite what a later one commits.
   * `sequence`: the attempt's number on the checkpoint (src/state/fence.ts), higher for every attempt that began on it
   * later, in any run; the order of preparations of one epoch by several attempts (prepared-epochs.ts). Absent without
   * a checkpoint.
   */
  readonly attempt?: { readonly runId: string; readonly number: number; readonly sequence?: number };
  /** Complete mode with orderBy / limit: the order and cut of the result table (endEpoch's rows are already ordered). */
  readonly resultOrder?: ResultOrder;
}

/** orderBy / limit of the result: complete mode sorts and cuts the table; append mode passes the first `limit` rows. */
export interface ResultOrder {
  readonly compare: ((left: Row, right: Row) => number) | undefined;
  readonly limit: number | undefined;
}

/** The complete-mode result table as orderBy / limit make it. */
export function orderResult(order: ResultOrder | undefined, rows: readonly Row[]): Row[] {
  if (order === undefined) return [...rows];
  const sorted = order.compare === undefined ? [...rows] : [...rows].sort(order.compare);
  return order.limit === undefined ? sorted : sorted.slice(0, order.limit);
}

export interface SinkWriter {
  open(context: SinkContext): Promise<void>;
  /** Ask for a deterministic id per row in write(): what a replay of the same epoch reproduces. */
  readonly needsRowIds?: boolean;
  /**
   * Rows the moment they arrive (continuous output). In update and complete mode these are changed
   * result rows, and `keys[i]` identifies the result row that `rows[i]` replaces. `ids[i]` is given
   * when needsRowIds is set, in append mode only: `<sender>.<n>`, the n-th row the sender delivered, which a replay
   * reproduces. Update and complete rows get none: a writer that needs ids must refuse those modes at open().
   */
  write?(rows: readonly Row[], keys?: readonly unknown[], ids?: readonly string[]): void | Promise<void>;
  /** Complete mode: result rows that no longer exist (a session merged into another), by the keys write() gave them. */
  remove?(keys: readonly unknown[]): void | Promise<void>;
  /**
   * At the barrier of an epoch: the epoch's rows (append, update) or the whole result table (complete).
   * A transactional sink prepares them here (durable, not yet visible).
   */
  endEpoch?(epoch: number, rows: readonly Row[]): void | Promise<void>;
  /** The epoch is committed: make it visible. Without checkpoints it follows endEpoch at once. Must be idempotent. */
  commitEpoch?(epoch: number): void | Promise<void>;
  close(): Promise<void>;
}

export interface SinkProvider {
  readonly format: string;
  readonly guarantee: SinkGuarantee;
  readonly description: string;
  /**
   * The output modes in which the sink can continue from a checkpoint that has committed epochs (all when absent).
   * A restart in another mode is refused at start(): what the sink wrote before is not part of the checkpoint.
   */
  readonly recoverableModes?: readonly OutputMode[];
  createWriter(): SinkWriter;
  /**
   * The sink's own figures (Spark's SinkProgress.metrics), read at each progress report in the process that runs the
   * sink: e.g. the fill level of a store-and-forward queue. Undefined when the sink has none or its writer runs elsewhere.
   */
  metrics?(): Readonly<Record<string, number>> | undefined;
}
