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
  readonly outputMode: OutputMode;
}

export interface SinkWriter {
  open(context: SinkContext): Promise<void>;
  /**
   * Rows the moment they arrive (continuous output). In update and complete mode these are changed
   * result rows, and `keys[i]` identifies the result row that `rows[i]` replaces.
   */
  write?(rows: readonly Row[], keys?: readonly unknown[]): void | Promise<void>;
  /** At each epoch's end: the epoch's rows (append, update) or the whole result table (complete). */
  commitEpoch?(epoch: number, rows: readonly Row[]): void | Promise<void>;
  close(): Promise<void>;
}

export interface SinkProvider {
  readonly format: string;
  readonly guarantee: SinkGuarantee;
  readonly description: string;
  /** Micro-batch sinks (console, foreachBatch) see rows only at epoch ends. */
  createWriter(): SinkWriter;
}
