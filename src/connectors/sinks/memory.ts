// The memory sink: a table in the session, queryable by query name (session.table(name)). For tests and debugging.
import type { Row } from "../../core/types.ts";
import type { OutputMode, SinkContext, SinkProvider, SinkWriter } from "./sink.ts";

/** The rows a memory sink holds: appended (append, update) or kept one per result key (complete). */
export class MemoryTable {
  private appended: Row[] = [];
  private readonly keyed = new Map<unknown, Row>();
  private mode: OutputMode = "append";

  reset(mode: OutputMode): void {
    this.mode = mode;
    this.appended = [];
    this.keyed.clear();
  }

  write(rows: readonly Row[], keys: readonly unknown[] | undefined): void {
    if (this.mode === "complete" && keys) {
      for (let index = 0; index < rows.length; index++) this.keyed.set(keys[index], rows[index] as Row);
      return;
    }
    for (const row of rows) this.appended.push(row);
  }

  rows(): Row[] {
    return this.mode === "complete" ? [...this.keyed.values()] : [...this.appended];
  }
}

export class MemorySinkProvider implements SinkProvider {
  readonly format = "memory";
  readonly guarantee = "at-least-once" as const;
  readonly description: string;

  constructor(private readonly table: MemoryTable, name: string) {
    this.description = `MemorySink[${name}]`;
  }

  createWriter(): SinkWriter {
    const table = this.table;
    return {
      async open(context: SinkContext) {
        table.reset(context.outputMode);
      },
      write: (rows, keys) => table.write(rows, keys),
      async close() {},
    };
  }
}
