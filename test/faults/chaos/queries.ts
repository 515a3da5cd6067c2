// The chaos run's queries, as both sides see them: the child builds and runs them, the verifier reads their outputs.
import { join } from "node:path";
import { functions, z, type DataFrame, type DataStreamWriter, type GroupState, type Row, type Session } from "../../../src/index.ts";
import { INPUT_STREAM, WATERMARK_DELAY_MS } from "./input.ts";

export type QueryKind = "filter" | "aggregate" | "window" | "dedup" | "runningTotal";

export type ChaosSink =
  | { readonly format: "files" }
  | { readonly format: "jetstream"; readonly mode: "idempotent" | "transactional" };

export interface ChaosQuery {
  readonly name: string;
  readonly kind: QueryKind;
  readonly sink: ChaosSink;
}

// The idempotent JetStream sink refuses update mode at start() (a replay does not reproduce an update's rows one for
// one), so the aggregate runs into the transactional sink only.
export const QUERIES: readonly ChaosQuery[] = [
  { name: "filter_files", kind: "filter", sink: { format: "files" } },
  { name: "filter_js_idempotent", kind: "filter", sink: { format: "jetstream", mode: "idempotent" } },
  { name: "filter_js_transactional", kind: "filter", sink: { format: "jetstream", mode: "transactional" } },
  { name: "count_sum_js_transactional", kind: "aggregate", sink: { format: "jetstream", mode: "transactional" } },
  { name: "window_count_files", kind: "window", sink: { format: "files" } },
  { name: "dedup_files", kind: "dedup", sink: { format: "files" } },
  { name: "running_total_files", kind: "runningTotal", sink: { format: "files" } },
];

/** Rows the filter keeps. */
export const FILTER_MIN_VALUE = 30;
export const WINDOW_MS = 1000;
export const EPOCH_INTERVAL = "200 milliseconds";

export const checkpointFolder = (base: string, query: ChaosQuery): string => join(base, "checkpoints", query.name);
export const outputFolder = (base: string, query: ChaosQuery): string => join(base, "out", query.name);
export const outputStream = (query: ChaosQuery): string => `CHAOS_OUT_${query.name.toUpperCase()}`;
export const outputSubject = (query: ChaosQuery): string => `chaos.out.${query.name}`;

const inputSchema = z.object({ id: z.number().int(), key: z.string(), value: z.number().int(), ts: z.date(), guid: z.string(), dup: z.boolean(), late: z.boolean() });
const totalSchema = z.object({ key: z.string(), n: z.number().int(), total: z.number() });

/** The query as a DataFrame over the input stream, before its sink. */
function frame(session: Session, query: ChaosQuery): DataFrame {
  const input = session.readStream.format("jetstream").option("stream", INPUT_STREAM).option("startingOffsets", "earliest").schema(inputSchema).load();
  const delay = `${WATERMARK_DELAY_MS / 1000} seconds`;
  switch (query.kind) {
    case "filter":
      return input.where(`value > ${FILTER_MIN_VALUE}`).select("id", "key", "value");
    case "aggregate":
      return input.groupBy("key").agg("count(*) as n", "sum(value) as total");
    case "window":
      // Duplicates are left out: a far one may be late or not depending on the batching, which would make counts inexact.
      return input.where("dup = false").withWatermark("ts", delay).groupBy(functions.window(functions.col("ts"), `${WINDOW_MS / 1000} second`)).count();
    case "dedup":
      return input.withWatermark("ts", delay).dropDuplicates(["guid", "ts"]).select("id", "guid");
    case "runningTotal":
      return input.groupByKey((row) => row.key).flatMapGroupsWithState<{ n: number; total: number }>("append", runningTotal, { outputSchema: totalSchema });
  }
}

function runningTotal(key: string, rows: Row[], state: GroupState<{ n: number; total: number }>): Row[] {
  const previous = state.getOption() ?? { n: 0, total: 0 };
  const next = { n: previous.n + rows.length, total: previous.total + rows.reduce((sum, row) => sum + (row.value as number), 0) };
  state.update(next);
  return [{ key, ...next }];
}

/** The query with its sink, checkpoint and trigger, ready to start. */
export function chaosWriter(session: Session, base: string, query: ChaosQuery): DataStreamWriter {
  const outputMode = query.kind === "aggregate" ? "update" : "append";
  let writer = frame(session, query).writeStream.queryName(query.name).outputMode(outputMode)
    .option("checkpointLocation", checkpointFolder(base, query)).trigger({ continuous: EPOCH_INTERVAL });
  writer = query.sink.format === "files"
    ? writer.format("json").option("path", outputFolder(base, query))
    : writer.format("jetstream").option("subject", outputSubject(query)).option("mode", query.sink.mode);
  return writer;
}
