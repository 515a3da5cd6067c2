// Progress reports: Spark's StreamingQueryProgress fields, plus what continuous processing adds (latency, stages, credit waits).
import type { EpochReport } from "../actors/coordinator.ts";
import type { ExecutionGraph } from "../actors/runtime.ts";
import type { LatencyPercentiles } from "../core/latency.ts";

export interface StageProgress {
  readonly stage: string;
  readonly partitions: number;
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly framesIn: number;
  readonly framesOut: number;
  /** Times a sender of this stage had rows but no credit: the downstream was slower. */
  readonly creditWaits: number;
  readonly stateRows: number;
  readonly droppedByWatermark: number;
  /** The stage's input watermark (ms; the minimum over its actors). */
  readonly watermark: number | undefined;
}

export interface StreamingQueryProgress {
  readonly id: string;
  readonly runId: string;
  readonly name: string | null;
  readonly timestamp: string;
  /** The epoch id (Spark's batch id). */
  readonly batchId: number;
  readonly numInputRows: number;
  readonly inputRowsPerSecond: number;
  readonly processedRowsPerSecond: number;
  readonly durationMs: { readonly epoch: number; readonly sincePreviousEpoch: number };
  /** Ingest-to-sink latency of this epoch's rows, in milliseconds. */
  readonly latencyMs: LatencyPercentiles;
  readonly numDeadLetters: number;
  /** Rollbacks to the last committed epoch since the query started. */
  readonly numRecoveries: number;
  /** Records older than the watermark, dropped by stateful operators (Spark reports it per state operator). */
  readonly numRowsDroppedByWatermark: number;
  /** The watermark that has reached the sink (ISO time), as Spark's eventTime.watermark. */
  readonly eventTime: { readonly watermark?: string };
  readonly stateOperators: ReadonlyArray<{ readonly operatorName: string; readonly numRowsTotal: number; readonly numRowsDroppedByWatermark: number }>;
  readonly sources: ReadonlyArray<{ readonly description: string; readonly numInputRows: number; readonly inputRowsPerSecond: number; readonly processedRowsPerSecond: number }>;
  readonly sink: { readonly description: string; readonly numOutputRows: number };
  readonly stages: readonly StageProgress[];
}

export interface ProgressContext {
  readonly id: string;
  readonly runId: string;
  readonly name: string | undefined;
  readonly graph: ExecutionGraph;
  readonly numRecoveries: number;
}

export function buildProgress(context: ProgressContext, report: EpochReport, previous: EpochReport | undefined, startedAt: number): StreamingQueryProgress {
  const { graph } = context;
  const stages = graph.stages.map((stage): StageProgress => {
    const stats = report.stages.get(stage.id);
    return {
      stage: stage.id, partitions: stage.parallelism, rowsIn: stats?.rowsIn ?? 0, rowsOut: stats?.rowsOut ?? 0, framesIn: stats?.framesIn ?? 0, framesOut: stats?.framesOut ?? 0,
      creditWaits: stats?.creditWaits ?? 0, stateRows: stats?.stateRows ?? 0, droppedByWatermark: stats?.droppedByWatermark ?? 0, watermark: stats?.watermark,
    };
  });
  // A union reads several sources, each in its own source stage.
  const sourceStages = graph.stages.flatMap((stage, index) => (stage.source ? [{ source: stage.source, rowsIn: stages[index]?.rowsIn ?? 0 }] : []));
  const sink = graph.stages[graph.stages.length - 1];
  const numInputRows = sourceStages.reduce((sum, stage) => sum + stage.rowsIn, 0);
  const inputSeconds = (report.requestedAt - (previous?.requestedAt ?? startedAt)) / 1000;
  const processedSeconds = (report.completedAt - (previous?.completedAt ?? startedAt)) / 1000;
  const inputRowsPerSecond = rate(numInputRows, inputSeconds);
  const processedRowsPerSecond = rate(numInputRows, processedSeconds);
  const sinkWatermark = stages[stages.length - 1]?.watermark;
  let deadLetters = 0;
  for (const stats of report.stages.values()) deadLetters += stats.deadLetters;
  return {
    id: context.id,
    runId: context.runId,
    name: context.name ?? null,
    timestamp: new Date(report.completedAt).toISOString(),
    batchId: report.epoch,
    numInputRows,
    inputRowsPerSecond,
    processedRowsPerSecond,
    durationMs: { epoch: round(report.completedAt - report.requestedAt), sincePreviousEpoch: round(processedSeconds * 1000) },
    latencyMs: report.sinkLatency.percentiles(),
    numDeadLetters: deadLetters,
    numRecoveries: context.numRecoveries,
    numRowsDroppedByWatermark: stages.reduce((sum, stage) => sum + stage.droppedByWatermark, 0),
    eventTime: sinkWatermark === undefined ? {} : { watermark: new Date(sinkWatermark).toISOString() },
    stateOperators: stages.slice(1, -1).filter((stage) => stage.stateRows > 0 || stage.droppedByWatermark > 0).map((stage) => ({ operatorName: stage.stage, numRowsTotal: stage.stateRows, numRowsDroppedByWatermark: stage.droppedByWatermark })),
    sources: sourceStages.map((stage) => ({ description: stage.source.description, numInputRows: stage.rowsIn, inputRowsPerSecond: rate(stage.rowsIn, inputSeconds), processedRowsPerSecond: rate(stage.rowsIn, processedSeconds) })),
    sink: { description: sink?.sink?.description ?? "", numOutputRows: stages[stages.length - 1]?.rowsIn ?? 0 },
    stages,
  };
}

/** A readable summary of one progress report (`query.lastProgress` printed). */
export function formatProgress(progress: StreamingQueryProgress): string {
  const latency = progress.latencyMs;
  return [
    `epoch ${progress.batchId} of ${progress.name ?? progress.id} at ${progress.timestamp}`,
    `  input ${progress.numInputRows} rows, ${progress.inputRowsPerSecond} rows/s in, ${progress.processedRowsPerSecond} rows/s processed`,
    `  latency ms p50 ${latency.p50} p99 ${latency.p99} max ${latency.max} (${latency.count} rows)`,
    `  dead letters ${progress.numDeadLetters}, dropped by watermark ${progress.numRowsDroppedByWatermark}${progress.eventTime.watermark ? `, watermark ${progress.eventTime.watermark}` : ""}`,
    ...progress.stages.map((stage) => `  ${stage.stage} x${stage.partitions}: in ${stage.rowsIn} out ${stage.rowsOut} frames ${stage.framesIn}/${stage.framesOut} credit waits ${stage.creditWaits} state ${stage.stateRows}`),
  ].join("\n");
}

function rate(rows: number, seconds: number): number {
  return seconds > 0 ? round(rows / seconds) : 0;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
