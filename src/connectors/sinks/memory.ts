// The memory sink: a table in the session, queryable by query name (session.table(name)). For tests and debugging.
import type { Row, Schema } from "../../core/types.ts";
import { orderResult, type OutputMode, type ResultOrder, type SinkContext, type SinkProvider, type SinkWriter } from "./sink.ts";

/**
 * The rows a memory sink holds: appended (append, update) or kept one per result key (complete).
 * Appended rows remember their epoch, so a rollback to a committed epoch removes the rows of later ones.
 */
export class MemoryTable {
  private segments: Array<{ epoch: number | undefined; rows: Row[] }> = [];
  private readonly keyed = new Map<unknown, Row>();
  private mode: OutputMode = "append";
  private order: ResultOrder | undefined;
  /** The columns of the query writing the table, set when it starts (SQL reads the table with them). */
  schema: Schema | undefined;

  /** At a (re)start: keeps the appended rows of epochs up to `keepThrough` (none without a checkpoint). */
  reset(mode: OutputMode, keepThrough: number | undefined, order?: ResultOrder): void {
    this.mode = mode;
    this.order = order;
    this.segments = keepThrough === undefined ? [] : this.segments.filter((segment) => segment.epoch !== undefined && segment.epoch <= keepThrough);
    this.keyed.clear();
  }

  write(rows: readonly Row[], keys: readonly unknown[] | undefined): void {
    if (this.mode === "complete" && keys) {
      for (let index = 0; index < rows.length; index++) this.keyed.set(keys[index], rows[index] as Row);
      return;
    }
    let open = this.segments[this.segments.length - 1];
    if (!open || open.epoch !== undefined) {
      open = { epoch: undefined, rows: [] };
      this.segments.push(open);
    }
    for (const row of rows) open.rows.push(row);
  }

  /** Complete mode: result rows that no longer exist. */
  remove(keys: readonly unknown[]): void {
    for (const key of keys) this.keyed.delete(key);
  }

  /** The rows written since the last epoch end belong to `epoch`. */
  endEpoch(epoch: number): void {
    const open = this.segments[this.segments.length - 1];
    if (open && open.epoch === undefined) open.epoch = epoch;
  }

  rows(): Row[] {
    return this.mode === "complete" ? orderResult(this.order, [...this.keyed.values()]) : this.segments.flatMap((segment) => segment.rows);
  }
}

export class MemorySinkProvider implements SinkProvider {
  readonly format = "memory";
  readonly guarantee = "at-least-once" as const;
  readonly description: string;
  /** As in Spark: the checkpoint restores a complete-mode table; appended rows are not in it, so append and update cannot resume. */
  readonly recoverableModes: readonly OutputMode[] = ["complete"];

  constructor(private readonly table: MemoryTable, name: string) {
    this.description = `MemorySink[${name}]`;
  }

  createWriter(): SinkWriter {
    const table = this.table;
    return {
      async open(context: SinkContext) {
        table.reset(context.outputMode, context.checkpointed ? context.lastCommittedEpoch : undefined, context.resultOrder);
      },
      write: (rows, keys) => table.write(rows, keys),
      remove: (keys) => table.remove(keys),
      endEpoch: (epoch) => table.endEpoch(epoch),
      async close() {},
    };
  }
}
