// Prometheus metrics of a session's queries (prom-client), fed by a listener on session.streams so they never slow a query.
import { Counter, Gauge, Registry } from "prom-client";
import type { QueryProgressEvent, QueryStartedEvent, QueryTerminatedEvent, StreamingQueryListener } from "../api/listener.ts";
import type { StreamingQueryProgress } from "../api/progress.ts";

/** What monitoring reads from a running query (StreamingQuery has it all). */
export interface MonitoredQuery {
  readonly id: string;
  readonly runId: string;
  readonly name: string | undefined;
  readonly isActive: boolean;
  readonly status: { readonly message: string };
  readonly numRecoveries: number;
  readonly checkpointLocation: string | undefined;
  readonly recentProgress: readonly StreamingQueryProgress[];
  explain(): string;
}

/** What monitoring needs of session.streams. */
export interface QueryDirectory {
  addListener(listener: StreamingQueryListener): void;
  removeListener(listener: StreamingQueryListener): void;
  get(id: string): MonitoredQuery | undefined;
  readonly active: readonly MonitoredQuery[];
}

const QUERY_LABELS = ["query", "id"] as const;
const STAGE_LABELS = ["query", "id", "stage"] as const;
type QueryLabel = (typeof QUERY_LABELS)[number];
type StageLabel = (typeof STAGE_LABELS)[number];

interface Tracked {
  labels: Record<QueryLabel, string>;
  runId: string;
  recoveries: number;
  lastEpoch: number;
  ended: boolean;
  /** Latest watermarks (ms): the sink's, and each stage's. Lags are computed at scrape time. */
  watermark: number | undefined;
  stageWatermarks: Map<string, number>;
}

/**
 * One Prometheus registry per session. Counters add up each epoch's figures; gauges hold the last epoch's
 * (latency: the last epoch that delivered rows). Watermark lags are `now - watermark`, taken at each scrape.
 */
export class QueryMetrics {
  readonly registry = new Registry();
  private readonly tracked = new Map<string, Tracked>();
  private readonly waiters: Array<{ id: string; epoch: number; resolve: () => void }> = [];
  private readonly listener: StreamingQueryListener = {
    onQueryStarted: (event) => this.started(event),
    onQueryProgress: (event) => this.progressed(event),
    onQueryTerminated: (event) => this.terminated(event),
  };

  private readonly queryInputRows = this.counter("rill_query_input_rows_total", "Rows read by the query's sources.");
  private readonly inputRate = this.gauge("rill_query_input_rows_per_second", "Rows per second arriving at the sources in the last epoch.");
  private readonly processedRate = this.gauge("rill_query_processed_rows_per_second", "Rows per second processed in the last epoch.");
  private readonly latency = new Gauge({
    name: "rill_query_latency_seconds", help: "Ingest-to-sink latency of the last epoch that delivered rows; quantile 1 is the maximum.",
    labelNames: [...QUERY_LABELS, "quantile"], registers: [this.registry],
  });
  private readonly stateRows = this.gauge("rill_query_state_rows", "Rows held in state by the query's stateful stages.");
  private readonly watermark = this.gauge("rill_query_watermark_seconds", "The watermark that has reached the sink, as a Unix time.");
  private readonly watermarkLag = this.gauge("rill_query_watermark_lag_seconds", "Seconds between now and the watermark that has reached the sink.", (gauge) => {
    const now = Date.now();
    for (const query of this.tracked.values()) if (query.watermark !== undefined) gauge.set(query.labels, (now - query.watermark) / 1000);
  });
  private readonly dropped = this.counter("rill_query_rows_dropped_by_watermark_total", "Rows older than the watermark, dropped by stateful operators.");
  private readonly deadLetters = this.counter("rill_query_dead_letters_total", "Records that failed to parse or to match the schema.");
  private readonly creditWaits = this.counter("rill_query_credit_waits_total", "Times a sender had rows but no credit, over all stages.");
  private readonly epochDuration = this.gauge("rill_query_epoch_duration_seconds", "Time from the last epoch's barrier request to its completion.");
  private readonly epochs = this.counter("rill_query_epochs_total", "Epochs completed.");
  private readonly recoveries = this.counter("rill_query_recoveries_total", "Rollbacks to the last committed epoch after a failure.");
  private readonly active = this.gauge("rill_query_active", "1 while the query runs, 0 once it ended.");
  private readonly failed = this.gauge("rill_query_failed", "1 if the query ended with an exception.");

  private readonly queueMessages = this.gauge("rill_sink_queue_messages", "Messages in the sink's store-and-forward queue, committed and not yet delivered (mqtt sink with storeAndForward).");
  private readonly queueBytes = this.gauge("rill_sink_queue_bytes", "Bytes in the sink's store-and-forward queue (payload, topic and id), counted against its capacity.");
  private readonly queueCapacity = this.gauge("rill_sink_queue_capacity_bytes", "The store-and-forward queue's bound (maxQueueBytes): when full, the query waits.");
  private readonly queueOldestAge = this.gauge("rill_sink_queue_oldest_age_seconds", "Age of the oldest message in the store-and-forward queue at the last epoch (0 when empty).");

  private readonly stageRowsIn = this.stageCounter("rill_stage_input_rows_total", "Rows received by the stage's actors.");
  private readonly stageRowsOut = this.stageCounter("rill_stage_output_rows_total", "Rows sent on by the stage's actors.");
  private readonly stageCreditWaits = this.stageCounter("rill_stage_credit_waits_total", "Times a sender of the stage had rows but no credit.");
  private readonly stageDropped = this.stageCounter("rill_stage_rows_dropped_by_watermark_total", "Rows the stage dropped as older than its watermark.");
  private readonly stageStateRows = this.stageGauge("rill_stage_state_rows", "Rows the stage holds in state.");
  private readonly stagePartitions = this.stageGauge("rill_stage_partitions", "Actors (partitions) of the stage.");
  private readonly stageWatermarkLag = this.stageGauge("rill_stage_watermark_lag_seconds", "Seconds between now and the stage's input watermark.", (gauge) => {
    const now = Date.now();
    for (const query of this.tracked.values()) {
      for (const [stage, watermark] of query.stageWatermarks) gauge.set({ ...query.labels, stage }, (now - watermark) / 1000);
    }
  });

  constructor(private readonly directory: QueryDirectory) {
    directory.addListener(this.listener);
  }

  /** The exposition text, as `/metrics` serves it. */
  async text(): Promise<string> {
    return await this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Resolves once the metrics include the given epoch of the query (events reach them asynchronously), or the query ended. */
  async waitForEpoch(queryId: string, epoch: number): Promise<void> {
    const query = this.tracked.get(queryId);
    if (query && (query.ended || query.lastEpoch >= epoch)) return;
    await new Promise<void>((resolve) => this.waiters.push({ id: queryId, epoch, resolve }));
  }

  /** Stops listening; the registry keeps its last values. */
  close(): void {
    this.directory.removeListener(this.listener);
  }

  private started(event: QueryStartedEvent): void {
    const query = this.track(event.id, event.runId, event.name);
    this.active.set(query.labels, 1);
    this.failed.set(query.labels, 0);
  }

  private progressed({ progress }: QueryProgressEvent): void {
    const query = this.track(progress.id, progress.runId, progress.name);
    const labels = query.labels;
    this.queryInputRows.inc(labels, progress.numInputRows);
    this.inputRate.set(labels, progress.inputRowsPerSecond);
    this.processedRate.set(labels, progress.processedRowsPerSecond);
    if (progress.latencyMs.count > 0) {
      this.latency.set({ ...labels, quantile: "0.5" }, progress.latencyMs.p50 / 1000);
      this.latency.set({ ...labels, quantile: "0.99" }, progress.latencyMs.p99 / 1000);
      this.latency.set({ ...labels, quantile: "1" }, progress.latencyMs.max / 1000);
    }
    this.dropped.inc(labels, progress.numRowsDroppedByWatermark);
    this.deadLetters.inc(labels, progress.numDeadLetters);
    this.epochDuration.set(labels, progress.durationMs.epoch / 1000);
    this.epochs.inc(labels);
    const watermark = progress.eventTime.watermark === undefined ? undefined : Date.parse(progress.eventTime.watermark);
    query.watermark = watermark ?? query.watermark;
    if (query.watermark !== undefined) this.watermark.set(labels, query.watermark / 1000);
    let creditWaits = 0;
    for (const stage of progress.stages) {
      const stageLabels = { ...labels, stage: stage.stage };
      this.stageRowsIn.inc(stageLabels, stage.rowsIn);
      this.stageRowsOut.inc(stageLabels, stage.rowsOut);
      this.stageCreditWaits.inc(stageLabels, stage.creditWaits);
      this.stageDropped.inc(stageLabels, stage.droppedByWatermark);
      this.stageStateRows.set(stageLabels, stage.stateRows);
      this.stagePartitions.set(stageLabels, stage.partitions);
      if (stage.watermark !== undefined) query.stageWatermarks.set(stage.stage, stage.watermark);
      creditWaits += stage.creditWaits;
    }
    const queue = progress.sink.metrics;
    if (queue?.queuedMessages !== undefined) {
      this.queueMessages.set(labels, queue.queuedMessages);
      this.queueBytes.set(labels, queue.queuedBytes ?? 0);
      this.queueCapacity.set(labels, queue.capacityBytes ?? 0);
      this.queueOldestAge.set(labels, (queue.oldestQueuedAgeMs ?? 0) / 1000);
    }
    this.stateRows.set(labels, progress.stateOperators.reduce((sum, operator) => sum + operator.numRowsTotal, 0));
    this.creditWaits.inc(labels, creditWaits);
    this.countRecoveries(query, this.directory.get(progress.id));
    query.lastEpoch = Math.max(query.lastEpoch, progress.batchId);
    this.wake(progress.id, query.lastEpoch);
  }

  private terminated(event: QueryTerminatedEvent): void {
    const query = this.tracked.get(event.id);
    if (!query) return;
    query.ended = true;
    this.active.set(query.labels, 0);
    this.failed.set(query.labels, event.exception === null ? 0 : 1);
    this.wake(event.id, Number.POSITIVE_INFINITY);
  }

  private track(id: string, runId: string, name: string | null): Tracked {
    let query = this.tracked.get(id);
    if (!query) {
      query = { labels: { query: name ?? id, id }, runId, recoveries: 0, lastEpoch: -1, ended: false, watermark: undefined, stageWatermarks: new Map() };
      this.tracked.set(id, query);
      for (const counter of [this.queryInputRows, this.dropped, this.deadLetters, this.creditWaits, this.epochs, this.recoveries]) counter.inc(query.labels, 0);
    }
    if (query.runId !== runId) {
      // A restart from the same checkpoint: same id, a new run whose recovery count starts again at 0.
      query.runId = runId;
      query.recoveries = 0;
      query.lastEpoch = -1;
      query.ended = false;
    }
    return query;
  }

  private countRecoveries(query: Tracked, handle: MonitoredQuery | undefined): void {
    if (!handle || handle.runId !== query.runId || handle.numRecoveries <= query.recoveries) return;
    this.recoveries.inc(query.labels, handle.numRecoveries - query.recoveries);
    query.recoveries = handle.numRecoveries;
  }

  private wake(id: string, epoch: number): void {
    for (let index = this.waiters.length - 1; index >= 0; index--) {
      const waiter = this.waiters[index];
      if (waiter && waiter.id === id && waiter.epoch <= epoch) {
        this.waiters.splice(index, 1);
        waiter.resolve();
      }
    }
  }

  private counter(name: string, help: string): Counter<QueryLabel> {
    return new Counter({ name, help, labelNames: QUERY_LABELS, registers: [this.registry] });
  }

  private gauge(name: string, help: string, collect?: (gauge: Gauge<QueryLabel>) => void): Gauge<QueryLabel> {
    return new Gauge({ name, help, labelNames: QUERY_LABELS, registers: [this.registry], ...(collect ? { collect() { collect(this); } } : {}) });
  }

  private stageCounter(name: string, help: string): Counter<StageLabel> {
    return new Counter({ name, help, labelNames: STAGE_LABELS, registers: [this.registry] });
  }

  private stageGauge(name: string, help: string, collect?: (gauge: Gauge<StageLabel>) => void): Gauge<StageLabel> {
    return new Gauge({ name, help, labelNames: STAGE_LABELS, registers: [this.registry], ...(collect ? { collect() { collect(this); } } : {}) });
  }
}
