// Garbage-collection pauses while a run lasts (perf_hooks 'gc' entries of the main thread): total pause per second of
// run, the p50 / p99 / longest pause, and how many collections were scavenges (minor) or mark-compacts (major). With a
// warm-up, the same figures again for the pauses that began after it (`steady`): a query's first second or two pause
// longer (code compiled, caches and the state stores filled, the young generation's first survivors promoted), and a
// 20 s run's p99 is its fifth longest pause, so a handful of start-up pauses decide it.
import { constants, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";

export interface GcFigures {
  readonly collections: number;
  /** Scavenges of the young generation, and full mark-compacts (incremental marking steps and weak callbacks are in neither). */
  readonly minor: number;
  readonly major: number;
  /** Sum of the pauses over the run's length, in ms per second. */
  readonly pauseMsPerSecond: number;
  readonly p50PauseMs: number;
  /** With under 100 collections in a run this is the longest but one or the longest: read it with `collections`. */
  readonly p99PauseMs: number;
  readonly maxPauseMs: number;
}

/** The figures of the pauses that began `warmupMs` or later after the monitor started, over the time from then on. */
export interface GcSteadyFigures extends GcFigures {
  readonly warmupMs: number;
}

export interface GcRunFigures extends GcFigures {
  /** Present when the monitor was given a warm-up. */
  readonly steady?: GcSteadyFigures;
}

interface Pause {
  readonly startTime: number;
  readonly duration: number;
  readonly kind: number | undefined;
}

export class GcMonitor {
  private readonly pauses: Pause[] = [];
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.record(entry);
  });
  private readonly startedAt = performance.now();

  /** `warmupMs`: also give the figures of the pauses from this long after now on (`steady`); 0 for none. */
  constructor(private readonly warmupMs = 0) {
    this.observer.observe({ entryTypes: ["gc"] });
  }

  private record(entry: PerformanceEntry): void {
    const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
    this.pauses.push({ startTime: entry.startTime, duration: entry.duration, kind });
  }

  stop(): GcRunFigures {
    // Entries of collections that ended just before are delivered asynchronously: take them now.
    for (const entry of this.observer.takeRecords()) this.record(entry);
    this.observer.disconnect();
    const stoppedAt = performance.now();
    const whole = figuresOf(this.pauses, stoppedAt - this.startedAt);
    if (this.warmupMs <= 0) return whole;
    const from = this.startedAt + this.warmupMs;
    const steady = figuresOf(this.pauses.filter((pause) => pause.startTime >= from), Math.max(0, stoppedAt - from));
    return { ...whole, steady: { ...steady, warmupMs: this.warmupMs } };
  }
}

function figuresOf(pauses: readonly Pause[], spanMs: number): GcFigures {
  const sorted = pauses.map((pause) => pause.duration).sort((a, b) => a - b);
  const total = sorted.reduce((sum, pause) => sum + pause, 0);
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  const at = (share: number): number => round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))] ?? 0);
  return {
    collections: sorted.length,
    minor: pauses.filter((pause) => pause.kind === constants.NODE_PERFORMANCE_GC_MINOR).length,
    major: pauses.filter((pause) => pause.kind === constants.NODE_PERFORMANCE_GC_MAJOR).length,
    pauseMsPerSecond: spanMs > 0 ? round(total / (spanMs / 1000)) : 0,
    p50PauseMs: at(0.5),
    p99PauseMs: at(0.99),
    maxPauseMs: round(sorted[sorted.length - 1] ?? 0),
  };
}
