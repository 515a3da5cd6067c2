// Time: the wall clock in fractional milliseconds (latency), and the processing-time clock that triggers and
// processing-time timeouts read, which tests can replace with a ManualClock.
const origin = performance.timeOrigin;

export function nowMs(): number {
  return origin + performance.now();
}

/** Processing time as triggers and GroupState timeouts see it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` every `intervalMs`; returns the function that cancels it. `unref`: it does not keep Node alive. */
  setInterval(callback: () => void, intervalMs: number, options?: { readonly unref?: boolean }): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setInterval: (callback, intervalMs, options) => {
    const timer = setInterval(callback, intervalMs);
    if (options?.unref === true) timer.unref();
    return () => clearInterval(timer);
  },
};

interface ManualTimer {
  next: number;
  readonly intervalMs: number;
  readonly callback: () => void;
}

/**
 * A clock that moves only when told to (Spark's StreamManualClock), for tests of processingTime triggers and
 * processing-time timeouts without sleeping. Configure it with `rill.clock` = `manual`; `session.manualClock()` returns it.
 * @example clock.advance(5_000) // fires every interval due within the next 5 seconds, in time order
 */
export class ManualClock implements Clock {
  private readonly timers = new Set<ManualTimer>();

  constructor(private current = 0) {}

  now(): number {
    return this.current;
  }

  setInterval(callback: () => void, intervalMs: number): () => void {
    const timer: ManualTimer = { next: this.current + intervalMs, intervalMs: Math.max(1, intervalMs), callback };
    this.timers.add(timer);
    return () => void this.timers.delete(timer);
  }

  /** Moves the time forward by `milliseconds`, calling each interval as often as it falls due, earliest first. */
  advance(milliseconds: number): void {
    const target = this.current + milliseconds;
    for (;;) {
      let due: ManualTimer | undefined;
      for (const timer of this.timers) if (timer.next <= target && (due === undefined || timer.next < due.next)) due = timer;
      if (due === undefined) break;
      this.current = due.next;
      due.next += due.intervalMs;
      due.callback();
    }
    this.current = target;
  }
}
