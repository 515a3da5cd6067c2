// The query the restart measurement stops and starts again on one checkpoint location, shared by this process and the child.
// Only src/index.ts is imported: the child's start-up cost is what a Rill application's would be.
import { Session, type NatsOptions, type Row, type StreamingQuery } from "../../src/index.ts";

export interface RestartQueryOptions {
  readonly nats: NatsOptions;
  readonly checkpointLocation: string;
  readonly queryName: string;
  readonly rowsPerSecond: number;
  readonly totalRows: number;
  readonly seed: number;
  readonly numPartitions: number;
}

export function restartSession(options: RestartQueryOptions, log: (message: string) => void): Session {
  return Session.builder().appName("rill-bench-restart").nats(options.nats).config("rill.shuffle.partitions", options.numPartitions).log(log).getOrCreate();
}

/** The grouped count (update mode) on the open-loop activity source, checkpointed every 1 s epoch into a foreach sink. */
export async function startRestartQuery(session: Session, options: RestartQueryOptions, onRow: (row: Row) => void): Promise<StreamingQuery> {
  return await session.readStream.format("activity")
    .option("rowsPerSecond", options.rowsPerSecond)
    .option("numPartitions", options.numPartitions)
    .option("seed", options.seed)
    .option("totalRows", options.totalRows)
    .option("busyWait", true)
    .load()
    .groupBy("gt").count()
    .writeStream.queryName(options.queryName).outputMode("update").trigger({ continuous: "1 second" })
    .option("checkpointLocation", options.checkpointLocation)
    .foreach(onRow)
    .start();
}
