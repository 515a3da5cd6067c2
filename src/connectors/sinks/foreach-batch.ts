// The foreachBatch sink: the user's function at each epoch's end with the epoch's rows and id, awaited before the next epoch.
//
// @example
//   df.writeStream.foreachBatch(async (rows, epochId) => { await store.replace(epochId, rows); }).start()
import { RillError, UserCodeError } from "../../core/errors.ts";
import type { Row } from "../../core/types.ts";
import type { OutputMode, SinkContext, SinkProvider, SinkWriter } from "./sink.ts";

export type ForeachBatchFunction = (rows: Row[], epochId: number) => void | Promise<void>;

export class ForeachBatchSinkProvider implements SinkProvider {
  readonly format = "foreachBatch";
  /** Replays after a failure call the function again with the same epoch id: idempotent when the function keys its writes on it. */
  readonly guarantee = "at-least-once" as const;
  readonly description = "ForeachBatchSink";

  constructor(private readonly fn: ForeachBatchFunction) {}

  createWriter(): SinkWriter {
    const fn = this.fn;
    let mode: OutputMode = "append";
    return {
      async open(context: SinkContext) {
        mode = context.outputMode;
      },
      // Spark calls foreachBatch for every micro-batch it ran. Rill's epochs pass every trigger
      // interval whether or not rows came, so in append and update mode an epoch without rows is
      // skipped; in complete mode the function gets the whole result every epoch, even when empty.
      async endEpoch(epoch, rows) {
        if (rows.length === 0 && mode !== "complete") return;
        try {
          await fn(rows.slice(), epoch);
        } catch (error) {
          if (error instanceof RillError) throw error;
          const message = error instanceof Error ? error.message : String(error);
          throw new UserCodeError(`The foreachBatch function threw on epoch ${epoch} (${rows.length} rows): ${message}`, { cause: error });
        }
      },
      async close() {},
    };
  }
}
