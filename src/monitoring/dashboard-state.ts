// What the dashboard shows, kept up to date by a listener on session.streams: each query's history, epochs, plan, and the alerts.
import type { QueryProgressEvent, QueryStartedEvent, QueryTerminatedEvent, StreamingQueryListener } from "../api/listener.ts";
import type { StreamingQueryProgress } from "../api/progress.ts";
import { planFromExplain, planFromStages, type PlanView } from "./dashboard-plan.ts";
import type { MonitoredQuery, QueryDirectory } from "./metrics.ts";

/** An alert as the alert rules report it: once when it fires, once more when it clears. */
export interface DashboardAlert {
  readonly query: string;
  readonly rule: string;
  readonly state: "firing" | "cleared";
  readonly message: string;
  /** ISO time. */
  readonly at: string;
}

/** One epoch, as the charts plot it. Times in ms since 1970; latency in ms; null where the epoch had no such figure. */
export interface HistoryPoint {
  readonly t: number;
  readonly epoch: number;
  readonly inputRows: number;
  readonly inputRate: number;
  readonly processedRate: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  readonly watermark: number | null;
  /** Seconds between the epoch's end and the watermark. */
  readonly watermarkLag: number | null;
  readonly stateRows: number;
  readonly durationMs: number;
  readonly deadLetters: number;
  readonly dropped: number;
}

export interface EpochRecord {
  readonly epoch: number;
  readonly at: string;
  readonly rows: number;
  readonly durationMs: number;
  readonly sincePreviousMs: number;
}

export interface RecoveryRecord {
  readonly at: string;
  /** The first epoch reported after the rollback. */
  readonly epoch: number;
  readonly recoveries: number;
}

export interface QueryView {
  readonly id: string;
  readonly runId: string;
  readonly name: string | null;
  readonly state: "active" | "stopped" | "failed";
  readonly message: string;
  readonly exception: string | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly checkpointLocation: string | null;
  readonly recoveries: number;
  readonly totals: { readonly inputRows: number; readonly epochs: number; readonly deadLetters: number; readonly droppedByWatermark: number };
  readonly plan: PlanView | null;
  readonly lastProgress: StreamingQueryProgress | null;
  /** With rill.workers: the workers hosting the query's actors as of its last progress report. */
  readonly workers: NonNullable<StreamingQueryProgress["workers"]>;
  readonly epochs: readonly EpochRecord[];
  readonly recoveryLog: readonly RecoveryRecord[];
  readonly history: readonly HistoryPoint[];
  /** Only in `/api/queries`: the last progress reports as the query gave them. */
  readonly recentProgress?: readonly StreamingQueryProgress[];
}

export type DashboardUpdate =
  | { readonly type: "query"; readonly query: QueryView; readonly point: HistoryPoint | null }
  | { readonly type: "alert"; readonly alert: DashboardAlert };

const HISTORY = 600;
const EPOCHS = 30;
const RECENT = 20;
const ENDED_KEPT = 20;
const ALERTS = 200;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Entry = Mutable<Omit<QueryView, "history" | "epochs" | "recoveryLog" | "recentProgress" | "totals" | "workers">> & {
  history: HistoryPoint[];
  epochs: EpochRecord[];
  recoveryLog: RecoveryRecord[];
  recent: StreamingQueryProgress[];
  totals: { inputRows: number; epochs: number; deadLetters: number; droppedByWatermark: number };
};

export class DashboardState {
  private readonly queries = new Map<string, Entry>();
  private readonly alerts: DashboardAlert[] = [];
  private readonly firing = new Map<string, DashboardAlert>();
  private readonly subscribers = new Set<(update: DashboardUpdate) => void>();
  private readonly listener: StreamingQueryListener = {
    onQueryStarted: (event) => this.started(event),
    onQueryProgress: (event) => this.progressed(event),
    onQueryTerminated: (event) => this.terminated(event),
  };

  constructor(private readonly directory: QueryDirectory) {
    for (const query of directory.active) this.seed(query);
    directory.addListener(this.listener);
  }

  close(): void {
    this.directory.removeListener(this.listener);
    this.subscribers.clear();
  }

  subscribe(subscriber: (update: DashboardUpdate) => void): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /** Every query, active first; `recent` adds the raw progress reports. */
  views(options: { recent: boolean } = { recent: false }): QueryView[] {
    const entries = [...this.queries.values()].sort((a, b) => Number(b.state === "active") - Number(a.state === "active") || a.startedAt.localeCompare(b.startedAt));
    return entries.map((entry) => this.view(entry, true, options.recent));
  }

  alertsView(): { firing: DashboardAlert[]; history: DashboardAlert[] } {
    return { firing: [...this.firing.values()], history: [...this.alerts] };
  }

  publishAlert(given: DashboardAlert): void {
    const alert = { ...given };
    const key = `${alert.query}\u0000${alert.rule}`;
    if (alert.state === "firing") this.firing.set(key, alert);
    else this.firing.delete(key);
    this.alerts.unshift(alert);
    if (this.alerts.length > ALERTS) this.alerts.pop();
    this.emit({ type: "alert", alert });
  }

  private seed(query: MonitoredQuery): void {
    const entry = this.entry(query.id, query.runId, query.name ?? null, new Date().toISOString());
    this.refresh(entry, query);
    for (const progress of query.recentProgress) this.record(entry, progress);
  }

  private started(event: QueryStartedEvent): void {
    const entry = this.entry(event.id, event.runId, event.name, event.timestamp);
    this.refresh(entry, this.directory.get(event.id));
    this.emit({ type: "query", query: this.view(entry, false, false), point: null });
  }

  private progressed({ progress }: QueryProgressEvent): void {
    const entry = this.queries.get(progress.id) ?? this.entry(progress.id, progress.runId, progress.name, progress.timestamp);
    const handle = this.directory.get(progress.id);
    if (handle && handle.runId === entry.runId && handle.numRecoveries > entry.recoveries) {
      entry.recoveryLog.push({ at: progress.timestamp, epoch: progress.batchId, recoveries: handle.numRecoveries });
    }
    this.refresh(entry, handle);
    entry.plan ??= planFromStages(progress.stages);
    const point = this.record(entry, progress);
    this.emit({ type: "query", query: this.view(entry, false, false), point });
  }

  private terminated(event: QueryTerminatedEvent): void {
    const entry = this.queries.get(event.id);
    if (!entry) return;
    entry.state = event.exception === null ? "stopped" : "failed";
    entry.exception = event.exception;
    entry.message = event.exception === null ? "Stopped" : `Terminated with exception: ${event.exception}`;
    entry.endedAt = new Date().toISOString();
    this.forgetOldEnded();
    this.emit({ type: "query", query: this.view(entry, false, false), point: null });
  }

  private entry(id: string, runId: string, name: string | null, startedAt: string): Entry {
    const existing = this.queries.get(id);
    if (existing && existing.runId === runId) return existing;
    const entry: Entry = {
      id, runId, name, state: "active", message: "Initializing", exception: null, startedAt, endedAt: null, checkpointLocation: null, recoveries: 0,
      totals: { inputRows: 0, epochs: 0, deadLetters: 0, droppedByWatermark: 0 }, plan: null, lastProgress: null, history: [], epochs: [], recoveryLog: [], recent: [],
    };
    // A restart from the same checkpoint (same id, new run) starts a new card; the queries map keeps one entry per id.
    this.queries.delete(id);
    this.queries.set(id, entry);
    return entry;
  }

  /** Reads what only the query handle knows: its status message, recoveries, checkpoint location, and plan. */
  private refresh(entry: Entry, handle: MonitoredQuery | undefined): void {
    if (!handle || handle.runId !== entry.runId) return;
    entry.message = handle.status.message;
    entry.recoveries = handle.numRecoveries;
    entry.checkpointLocation = handle.checkpointLocation ?? null;
    if (!entry.plan || entry.plan.transport === null) entry.plan = planFromExplain(handle.explain()) ?? entry.plan;
  }

  private record(entry: Entry, progress: StreamingQueryProgress): HistoryPoint {
    const t = Date.parse(progress.timestamp);
    const watermark = progress.eventTime.watermark === undefined ? null : Date.parse(progress.eventTime.watermark);
    const hasLatency = progress.latencyMs.count > 0;
    const point: HistoryPoint = {
      t, epoch: progress.batchId, inputRows: progress.numInputRows, inputRate: progress.inputRowsPerSecond, processedRate: progress.processedRowsPerSecond,
      p50: hasLatency ? progress.latencyMs.p50 : null, p99: hasLatency ? progress.latencyMs.p99 : null, max: hasLatency ? progress.latencyMs.max : null,
      watermark, watermarkLag: watermark === null ? null : Math.max(0, (t - watermark) / 1000),
      stateRows: progress.stateOperators.reduce((sum, operator) => sum + operator.numRowsTotal, 0),
      durationMs: progress.durationMs.epoch, deadLetters: progress.numDeadLetters, dropped: progress.numRowsDroppedByWatermark,
    };
    entry.lastProgress = progress;
    entry.totals.inputRows += progress.numInputRows;
    entry.totals.epochs++;
    entry.totals.deadLetters += progress.numDeadLetters;
    entry.totals.droppedByWatermark += progress.numRowsDroppedByWatermark;
    pushBounded(entry.history, point, HISTORY);
    pushBounded(entry.epochs, { epoch: progress.batchId, at: progress.timestamp, rows: progress.numInputRows, durationMs: progress.durationMs.epoch, sincePreviousMs: progress.durationMs.sincePreviousEpoch }, EPOCHS);
    pushBounded(entry.recent, progress, RECENT);
    return point;
  }

  private view(entry: Entry, withHistory: boolean, withRecent: boolean): QueryView {
    const { recent, history, ...rest } = entry;
    return {
      ...rest, totals: { ...entry.totals }, epochs: [...entry.epochs], recoveryLog: [...entry.recoveryLog], workers: [...(entry.lastProgress?.workers ?? [])],
      history: withHistory ? [...history] : [],
      ...(withRecent ? { recentProgress: [...recent] } : {}),
    };
  }

  private forgetOldEnded(): void {
    const ended = [...this.queries.values()].filter((entry) => entry.state !== "active");
    for (const entry of ended.slice(0, Math.max(0, ended.length - ENDED_KEPT))) this.queries.delete(entry.id);
  }

  private emit(update: DashboardUpdate): void {
    for (const subscriber of this.subscribers) subscriber(update);
  }
}

function pushBounded<T>(list: T[], item: T, limit: number): void {
  list.push(item);
  if (list.length > limit) list.splice(0, list.length - limit);
}
