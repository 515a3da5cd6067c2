// Rill's public API: the only entry point. Everything not exported here may change freely.
export { Session, SessionBuilder, RuntimeConfig } from "./api/session.ts";
export { DataStreamReader } from "./api/reader.ts";
export { DataFrameReader } from "./api/static-reader.ts";
export type { SchemaLike } from "./api/reader-base.ts";
export { DataFrame, GroupedData, KeyValueGroupedData, type ColumnLike, type GroupStateOptions } from "./api/dataframe.ts";
export type { GroupState, GroupStateTimeout } from "./operators/group-state.ts";
export { DataStreamWriter } from "./api/writer.ts";
export { StreamingQuery, type StreamingQueryStatus } from "./api/query.ts";
export type { DeadLetterOutputStatus } from "./deadletters/output.ts";
export { startWorker, runJob, loadJob, type Job, type Worker, type WorkerOptions } from "./api/workers.ts";
export { StreamingQueryManager } from "./api/manager.ts";
export { MemoryStream } from "./api/memory-stream.ts";
export { runSqlScript } from "./api/sql-script.ts";
export type { StreamingQueryProgress, StageProgress, StateOperatorProgress, ParameterProgress } from "./api/progress.ts";
export type { ParamType, ParamValue } from "./params/types.ts";
export type { SessionParams, QueryParamsView } from "./params/session-params.ts";
export type { ParamEntry } from "./params/store.ts";
export type { StreamingQueryListener, QueryStartedEvent, QueryProgressEvent, QueryIdleEvent, QueryTerminatedEvent } from "./api/listener.ts";
export type { Trigger } from "./api/trigger.ts";
export { Column } from "./api/column.ts";
export { ManualClock, type Clock } from "./core/clock.ts";
export * as functions from "./api/functions.ts";
export {
  col, column, lit, expr, when, count, sum, avg, mean, min, max, first, last, countDistinct, approx_count_distinct, collect_list, collect_set, window, session_window,
  explode, explode_outer, posexplode, posexplode_outer, size, struct, array, element_at, array_contains, split, from_json, to_json,
  current_timestamp, current_date, to_timestamp, to_date, date_format, asc, desc,
  row_number, rank, dense_rank, percent_rank, cume_dist, ntile, lag, lead,
} from "./api/functions.ts";
export { Window, WindowSpec } from "./api/window.ts";
export type { NatsOptions } from "./actors/nats-transport.ts";
export { startNatsServer, findNatsServer, type NatsServerHandle } from "./actors/nats-server.ts";
export type { OutputMode } from "./connectors/sinks/sink.ts";
export { generateActivity, activitySchema } from "./connectors/sources/activity.ts";
export { committedFiles } from "./connectors/sinks/files.ts";
export type { Row, Schema, Field, DataType } from "./core/types.ts";
export type { LatencyPercentiles } from "./core/latency.ts";
export {
  RillError, AnalysisError, ParseError, ConfigError, RecordError, TransportError, ExternalSourceError, UserCodeError, StreamingQueryError, CheckpointError, SourceOffsetError, WorkerError,
} from "./core/errors.ts";
export { NatsQueryListener, publishQueryEvents, type NatsQueryListenerOptions } from "./monitoring/nats-listener.ts";
export { progressJson, type QueryEventMessage } from "./monitoring/progress-json.ts";
export { AlertEngine, type AlertEngineOptions, type AlertQueryHandle } from "./monitoring/alerts.ts";
export {
  consoleNotifier, callbackNotifier, natsNotifier, webhookNotifier, dashboardNotifier, formatAlert, type Alert, type AlertNotifier, type WebhookOptions,
} from "./monitoring/alerts-notifiers.ts";
export type { AlertRule, ResolvedAlertRule, AlertKind, AlertSeverity } from "./monitoring/alerts-rules.ts";
export type { Dashboard, DashboardOptions, DashboardAlert } from "./monitoring/dashboard.ts";
export type { QueryMetrics } from "./monitoring/metrics.ts";
export { z } from "zod";
