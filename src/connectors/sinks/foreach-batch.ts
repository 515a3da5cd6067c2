// The foreachBatch sink: the user's function with each epoch's rows and id once the epoch is committed, awaited before the next.
//
// With a checkpoint location the epoch's rows are prepared durably at its barrier
// (`sinks/foreachBatch-<query id>/<epoch>-<attempt>.msgpack`, src/connectors/sinks/prepared-folder.ts) and the
// function is called at commitEpoch(); `_delivered.json` then records the epoch. A restart calls the function again for
// each committed epoch that record lacks, with the same id and the same rows, read from the committing attempt's
// preparation; uncommitted preparations are removed (the replay forms those epochs again, and the function never saw
// them). So the rows of an epoch id never change, and skipping an id already written is exact.
//
// @example
//   df.writeStream.foreachBatch(async (rows, epochId) => { await store.replace(epochId, rows); }).start()
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { RillError, UserCodeError } from "../../core/errors.ts";
import { faultPoint } from "../../core/fault-points.ts";
import type { Row } from "../../core/types.ts";
import { preparedBy, type PreparedBy } from "./prepared-epochs.ts";
import { PreparedFolder } from "./prepared-folder.ts";
import type { OutputMode, SinkContext, SinkProvider, SinkWriter } from "./sink.ts";

export type ForeachBatchFunction = (rows: Row[], epochId: number) => void | Promise<void>;

/** The file that records the last epoch whose function call returned: `{ "epoch": N }`. */
const DELIVERED_FILE = "_delivered.json";

export class ForeachBatchSinkProvider implements SinkProvider {
  readonly format = "foreachBatch";
  /**
   * At-least-once for the call, but the rows of an epoch id never change: the function runs after the epoch's commit,
   * and a crash before the call is recorded calls it again after the restart with the same epoch id and the same rows
   * (with a checkpoint location). A function that skips epoch ids it has written is therefore exactly-once.
   */
  readonly guarantee = "at-least-once" as const;
  readonly description = "ForeachBatchSink";

  constructor(private readonly fn: ForeachBatchFunction) {}

  createWriter(): SinkWriter {
    return new ForeachBatchWriter(this.fn);
  }
}

class ForeachBatchWriter implements SinkWriter {
  private mode: OutputMode = "append";
  private readonly prepared = new Map<number, readonly Row[]>();
  private folder: PreparedFolder | undefined;
  private attempt: PreparedBy = { runId: "", number: 0, resumedAfter: -1, openedAt: 0 };

  constructor(private readonly fn: ForeachBatchFunction) {}

  async open(context: SinkContext): Promise<void> {
    this.mode = context.outputMode;
    if (!context.checkpointLocation) return;
    this.attempt = preparedBy(context.attempt, context.lastCommittedEpoch, Date.now(), randomUUID);
    this.folder = await PreparedFolder.open(join(context.checkpointLocation, "sinks", `foreachBatch-${context.queryId.replace(/[^A-Za-z0-9_-]/g, "_")}`), DELIVERED_FILE);
    await this.folder.recover(context.lastCommittedEpoch, this.attempt.sequence, async (epoch, rows) => {
      this.prepared.set(epoch, rows);
      await this.commitEpoch(epoch);
    });
  }

  // Spark calls foreachBatch for every micro-batch it ran. Rill's epochs pass every trigger
  // interval whether or not rows came, so in append and update mode an epoch without rows is
  // skipped; in complete mode the function gets the whole result every epoch, even when empty.
  // Without a checkpoint location there is nothing to replay and the commit follows at once: the function runs here.
  async endEpoch(epoch: number, rows: readonly Row[]): Promise<void> {
    if (rows.length === 0 && this.mode !== "complete") return;
    if (this.folder === undefined) return this.call(epoch, rows);
    this.prepared.set(epoch, rows);
    await this.folder.prepare(epoch, this.attempt, rows);
  }

  /** Calls the function with the epoch's prepared rows, then records the epoch as delivered; a second commit finds nothing left. */
  async commitEpoch(epoch: number): Promise<void> {
    const rows = this.prepared.get(epoch);
    if (rows === undefined) return;
    await this.call(epoch, rows);
    this.prepared.delete(epoch);
    faultPoint("foreach-batch-called");
    await this.folder?.finished(epoch);
  }

  private async call(epoch: number, rows: readonly Row[]): Promise<void> {
    try {
      await this.fn(rows.slice(), epoch);
    } catch (error) {
      if (error instanceof RillError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new UserCodeError(`The foreachBatch function threw on epoch ${epoch} (${rows.length} rows): ${message}`, { cause: error });
    }
  }

  /** Epochs prepared but not committed are dropped: a restart replays them from the sources. */
  async close(): Promise<void> {
    this.prepared.clear();
  }
}
