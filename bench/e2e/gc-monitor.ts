// Garbage-collection pauses while a run lasts (perf_hooks 'gc' entries of the main thread): total pause per second of
// run, the p50 / p99 / longest pause, and how many collections were scavenges (minor) or mark-compacts (major).
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

export class GcMonitor {
  private readonly pauses: number[] = [];
  private minor = 0;
  private major = 0;
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.record(entry);
  });
  private readonly startedAt = performance.now();

  constructor() {
    this.observer.observe({ entryTypes: ["gc"] });
  }

  private record(entry: PerformanceEntry): void {
    this.pauses.push(entry.duration);
    const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) this.minor++;
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.major++;
  }

  stop(): GcFigures {
    // Entries of collections that ended just before are delivered asynchronously: take them now.
    for (const entry of this.observer.takeRecords()) this.record(entry);
    this.observer.disconnect();
    const seconds = (performance.now() - this.startedAt) / 1000;
    const sorted = [...this.pauses].sort((a, b) => a - b);
    const total = sorted.reduce((sum, pause) => sum + pause, 0);
    const round = (value: number): number => Math.round(value * 1000) / 1000;
    const at = (share: number): number => round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))] ?? 0);
    return {
      collections: sorted.length,
      minor: this.minor,
      major: this.major,
      pauseMsPerSecond: round(total / seconds),
      p50PauseMs: at(0.5),
      p99PauseMs: at(0.99),
      maxPauseMs: round(sorted[sorted.length - 1] ?? 0),
    };
  }
}
