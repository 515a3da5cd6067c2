// Garbage-collection pauses while a run lasts (perf_hooks 'gc' entries): total pause per second of run, and the p99 pause.
import { PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";

export interface GcFigures {
  readonly collections: number;
  /** Sum of the pauses over the run's length, in ms per second. */
  readonly pauseMsPerSecond: number;
  readonly p99PauseMs: number;
  readonly maxPauseMs: number;
}

export class GcMonitor {
  private readonly pauses: number[] = [];
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as PerformanceEntry[]) this.pauses.push(entry.duration);
  });
  private readonly startedAt = performance.now();

  constructor() {
    this.observer.observe({ entryTypes: ["gc"] });
  }

  stop(): GcFigures {
    this.observer.disconnect();
    const seconds = (performance.now() - this.startedAt) / 1000;
    const sorted = [...this.pauses].sort((a, b) => a - b);
    const total = sorted.reduce((sum, pause) => sum + pause, 0);
    const round = (value: number): number => Math.round(value * 1000) / 1000;
    return {
      collections: sorted.length,
      pauseMsPerSecond: round(total / seconds),
      p99PauseMs: round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0),
      maxPauseMs: round(sorted[sorted.length - 1] ?? 0),
    };
  }
}
