// A bounded source over rows already in memory: createDataFrame(), and what the static engine materialised
// (a sorted, limited or united part of a static plan) for the rest of the plan to read.
import { nowMs } from "../core/clock.ts";
import type { Row, Schema } from "../core/types.ts";
import { ReadyQueue } from "../connectors/sources/ready-queue.ts";
import type { SourceProvider, SourceReader } from "../connectors/sources/source.ts";

export class RowsSourceProvider implements SourceProvider {
  readonly format = "rows";
  readonly numPartitions = 1;
  readonly guarantee = "exactly-once" as const;

  constructor(readonly schema: Schema, private readonly rows: readonly Row[], readonly description: string) {}

  createReader(): SourceReader {
    const ready = new ReadyQueue();
    const rows = this.rows;
    return {
      open: async () => undefined,
      prepare: async () => {
        // Each run reads its own copies: operators may extend a row (a join's hidden key) without touching the source.
        if (ready.size === 0) ready.push(rows.map((row) => ({ ...row })), nowMs());
      },
      readyCount: () => ready.size,
      poll: (max) => ready.poll(max),
      close: async () => undefined,
    };
  }
}
