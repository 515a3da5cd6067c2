// Streaming query listeners (Spark's StreamingQueryListener): events delivered asynchronously, in order, per listener.
import type { StreamingQueryProgress } from "./progress.ts";

export interface QueryStartedEvent {
  readonly id: string;
  readonly runId: string;
  readonly name: string | null;
  readonly timestamp: string;
}

export interface QueryProgressEvent {
  readonly progress: StreamingQueryProgress;
}

/** An epoch passed with no input after one that had some (Spark 3.5's onQueryIdle). */
export interface QueryIdleEvent {
  readonly id: string;
  readonly runId: string;
  readonly name: string | null;
  readonly timestamp: string;
}

export interface QueryTerminatedEvent {
  readonly id: string;
  readonly runId: string;
  readonly name: string | null;
  /** The failure's message, or null when the query was stopped. */
  readonly exception: string | null;
  readonly errorClassOnException: string | null;
}

export interface StreamingQueryListener {
  onQueryStarted?(event: QueryStartedEvent): void | Promise<void>;
  onQueryProgress?(event: QueryProgressEvent): void | Promise<void>;
  onQueryIdle?(event: QueryIdleEvent): void | Promise<void>;
  onQueryTerminated?(event: QueryTerminatedEvent): void | Promise<void>;
}

export type QueryEvent =
  | { readonly type: "started"; readonly event: QueryStartedEvent }
  | { readonly type: "progress"; readonly event: QueryProgressEvent }
  | { readonly type: "idle"; readonly event: QueryIdleEvent }
  | { readonly type: "terminated"; readonly event: QueryTerminatedEvent };

/** What a query tells its session about itself. */
export interface QueryEventSink {
  post(event: QueryEvent): void;
}

/**
 * Delivers events to listeners off the query's path: each listener has its own queue, drained one event at a time,
 * so a slow listener delays only itself and sees events in order. A listener that throws is reported and kept.
 */
export class ListenerBus implements QueryEventSink {
  private readonly queues = new Map<StreamingQueryListener, { events: QueryEvent[]; draining: boolean }>();
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly report: (message: string) => void) {}

  add(listener: StreamingQueryListener): void {
    if (!this.queues.has(listener)) this.queues.set(listener, { events: [], draining: false });
  }

  remove(listener: StreamingQueryListener): void {
    this.queues.delete(listener);
  }

  /** Resolves when every listener has handled every event posted so far (the session awaits it before closing). */
  async drained(): Promise<void> {
    if ([...this.queues.values()].every((queue) => !queue.draining)) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  post(event: QueryEvent): void {
    for (const [listener, queue] of this.queues) {
      queue.events.push(event);
      if (!queue.draining) {
        queue.draining = true;
        setImmediate(() => void this.drain(listener));
      }
    }
  }

  private async drain(listener: StreamingQueryListener): Promise<void> {
    const queue = this.queues.get(listener);
    if (!queue) return;
    while (queue.events.length > 0 && this.queues.get(listener) === queue) {
      const event = queue.events.shift() as QueryEvent;
      try {
        await deliver(listener, event);
      } catch (error) {
        this.report(`rill: a streaming query listener threw on ${event.type}: ${String(error)}`);
      }
    }
    queue.draining = false;
    if ([...this.queues.values()].every((other) => !other.draining)) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const waiter of waiters) waiter();
    }
  }
}

async function deliver(listener: StreamingQueryListener, event: QueryEvent): Promise<void> {
  switch (event.type) {
    case "started": return await listener.onQueryStarted?.(event.event);
    case "progress": return await listener.onQueryProgress?.(event.event);
    case "idle": return await listener.onQueryIdle?.(event.event);
    case "terminated": return await listener.onQueryTerminated?.(event.event);
  }
}
