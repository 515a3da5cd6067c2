// Progress reports: Spark's StreamingQueryProgress fields, plus what continuous processing adds (latency, stages, credit waits).
import type { WorkerProgress } from "../workers/progress.ts";
import type { StaticTable } from "../operators/join-static-table.ts";
import type { EpochReport } from "../actors/coordinator.ts";
import type { ExecutionGraph } from "../actors/runtime.ts";
import type { LatencyPercentiles } from "../core/latency.ts";
import type { SinkProvider } from "../connectors/sinks/sink.ts";

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
  /** State rows written and removed in the epoch, and rows dropped as duplicates. */
  readonly stateRowsUpdated: number;
  readonly stateRowsRemoved: number;
  readonly droppedDuplicates: number;
  /** The stage's input watermark (ms; the minimum over its actors). */
  readonly watermark: number | undefined;
}

/** Spark's StateOperatorProgress, one per stage holding state. */
export interface StateOperatorProgress {
  readonly operatorName: string;
  readonly numRowsTotal: number;
  readonly numRowsUpdated: number;
  readonly numRowsRemoved: number;
  readonly numRowsDroppedByWatermark: number;
  readonly numDroppedDuplicateRows: number;
}

/** The parameter values an epoch ran with (src/params), and whether their bucket could be reached. */
export interface ParameterProgress {
  readonly revision: number;
  readonly values: Readonly<Record<string, string | number | boolean>>;
  readonly connected: boolean;
  /** Why the bucket is unreachable, or why a value in it was not taken. */
  readonly message?: string;
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
  /**
   * Spark's eventTime map, ISO-8601 times: `watermark` is the watermark that has reached the sink; `min`, `max` and
   * `avg` are over the event times withWatermark saw in the epoch (absent when it saw none).
   */
  readonly eventTime: { readonly watermark?: string; readonly min?: string; readonly max?: string; readonly avg?: string };
  readonly stateOperators: readonly StateOperatorProgress[];
  readonly sources: ReadonlyArray<{ readonly description: string; readonly numInputRows: number; readonly inputRowsPerSecond: number; readonly processedRowsPerSecond: number }>;
  /**
   * `metrics`: the sink's own figures, as Spark's SinkProgress.metrics; the mqtt sink with storeAndForward reports its
   * queue: queuedMessages, queuedBytes, capacityBytes, oldestQueuedAgeMs (0 when empty), deliveredMessages (this run).
   */
  readonly sink: { readonly description: string; readonly numOutputRows: number; readonly metrics?: Readonly<Record<string, number>> };
  /** Present when the query uses param(). */
  readonly parameters?: ParameterProgress;
  readonly stages: readonly StageProgress[];
  /** The static side of each stream-static join: the table version in use (1 = the first load) and the reloads that failed. */
  readonly staticSides?: ReadonlyArray<{ readonly description: string; readonly version: number; readonly failedReloads: number; readonly lastReloadError: string | null }>;
  /** With rill.workers: planned re-placements so far (handovers at an epoch boundary, no rollback; src/workers/handover.ts). */
  readonly numReplacements?: number;
  /** With rill.workers: each worker hosting actors of the query, its heartbeat age, CPU and memory (src/workers/progress.ts). */
  readonly workers?: readonly WorkerProgress[];
}

export interface ProgressContext {
  readonly id: string;
  readonly runId: string;
  readonly name: string | undefined;
  readonly graph: ExecutionGraph;
  readonly numRecoveries: number;
  readonly staticTables?: readonly StaticTable[];
}

export function buildProgress(context: ProgressContext, report: EpochReport, previous: EpochReport | undefined, startedAt: number): StreamingQueryProgress {
  const { graph } = context;
  const stages = graph.stages.map((stage): StageProgress => {
    const stats = report.stages.get(stage.id);
    return {
      stage: stage.id, partitions: stage.parallelism, rowsIn: stats?.rowsIn ?? 0, rowsOut: stats?.rowsOut ?? 0, framesIn: stats?.framesIn ?? 0, framesOut: stats?.framesOut ?? 0,
      creditWaits: stats?.creditWaits ?? 0, stateRows: stats?.stateRows ?? 0, droppedByWatermark: stats?.droppedByWatermark ?? 0,
      stateRowsUpdated: stats?.rowsUpdated ?? 0, stateRowsRemoved: stats?.rowsRemoved ?? 0, droppedDuplicates: stats?.droppedDuplicates ?? 0, watermark: stats?.watermark,
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
    eventTime: eventTimeOf(report, sinkWatermark),
    stateOperators: stages.slice(1, -1).filter(holdsState).map((stage) => ({
      operatorName: stage.stage, numRowsTotal: stage.stateRows, numRowsUpdated: stage.stateRowsUpdated, numRowsRemoved: stage.stateRowsRemoved,
      numRowsDroppedByWatermark: stage.droppedByWatermark, numDroppedDuplicateRows: stage.droppedDuplicates,
    })),
    sources: sourceStages.map((stage) => ({ description: stage.source.description, numInputRows: stage.rowsIn, inputRowsPerSecond: rate(stage.rowsIn, inputSeconds), processedRowsPerSecond: rate(stage.rowsIn, processedSeconds) })),
    sink: sinkProgress(sink?.sink, stages[stages.length - 1]?.rowsIn ?? 0),
    stages,
    staticSides: (context.staticTables ?? []).map((table) => ({ description: table.description, version: table.loaded ? table.rows.version : 0, failedReloads: table.failedReloads, lastReloadError: table.lastReloadError ?? null })),
  };
}

function sinkProgress(provider: SinkProvider | undefined, numOutputRows: number): StreamingQueryProgress["sink"] {
  const metrics = provider?.metrics?.();
  return { description: provider?.description ?? "", numOutputRows, ...(metrics === undefined ? {} : { metrics }) };
}

/** A readable summary of one progress report (`query.lastProgress` printed). */
export function formatProgress(progress: StreamingQueryProgress): string {
  const latency = progress.latencyMs;
  return [
    `epoch ${progress.batchId} of ${progress.name ?? progress.id} at ${progress.timestamp}`,
    `  input ${progress.numInputRows} rows, ${progress.inputRowsPerSecond} rows/s in, ${progress.processedRowsPerSecond} rows/s processed`,
    `  latency ms p50 ${latency.p50} p99 ${latency.p99} max ${latency.max} (${latency.count} rows)`,
    `  dead letters ${progress.numDeadLetters}, dropped by watermark ${progress.numRowsDroppedByWatermark}${progress.eventTime.watermark ? `, watermark ${progress.eventTime.watermark}` : ""}`,
    ...(progress.sink.metrics ? [`  sink ${Object.entries(progress.sink.metrics).map(([name, value]) => `${name} ${value}`).join(", ")}`] : []),
    ...progress.stages.map((stage) => `  ${stage.stage} x${stage.partitions}: in ${stage.rowsIn} out ${stage.rowsOut} frames ${stage.framesIn}/${stage.framesOut} credit waits ${stage.creditWaits} state ${stage.stateRows}`),
  ].join("\n");
}

function holdsState(stage: StageProgress): boolean {
  return stage.stateRows > 0 || stage.droppedByWatermark > 0 || stage.stateRowsUpdated > 0 || stage.stateRowsRemoved > 0 || stage.droppedDuplicates > 0;
}

/** Spark's eventTime: min, max and avg of the epoch's event times (over every stage's withWatermark), and the watermark. */
function eventTimeOf(report: EpochReport, sinkWatermark: number | undefined): StreamingQueryProgress["eventTime"] {
  let count = 0;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const stats of report.stages.values()) {
    if (stats.eventTimeCount === 0) continue;
    count += stats.eventTimeCount;
    sum += stats.eventTimeSum;
    min = Math.min(min, stats.eventTimeMin ?? min);
    max = Math.max(max, stats.eventTimeMax ?? max);
  }
  const iso = (time: number): string => new Date(time).toISOString();
  return {
    ...(count > 0 ? { avg: iso(sum / count), max: iso(max), min: iso(min) } : {}),
    ...(sinkWatermark === undefined ? {} : { watermark: iso(sinkWatermark) }),
  };
}

function rate(rows: number, seconds: number): number {
  return seconds > 0 ? round(rows / seconds) : 0;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
