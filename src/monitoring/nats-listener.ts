// A built-in StreamingQueryListener that publishes every query event as JSON to NATS, so other systems can watch (seed 23.5).
import { sanitizeToken } from "../actors/subjects.ts";
import type { QueryEvent, QueryIdleEvent, QueryProgressEvent, QueryStartedEvent, QueryTerminatedEvent, StreamingQueryListener } from "../api/listener.ts";
import type { Session } from "../api/session.ts";
import { ConfigError } from "../core/errors.ts";
import { eventQueryId, queryEventMessage } from "./progress-json.ts";

export interface NatsQueryListenerOptions {
  /** First tokens of every subject; default `<rill.subjectPrefix>.events`, i.e. `rill.events`. */
  readonly prefix?: string;
}

const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Publishes each event of every query of the session to `<prefix>.<query>.<started|progress|idle|terminated>`, as a
 * {@link QueryEventMessage}; `<query>` is the query's name (or its id when it has none). Like every listener it runs off
 * the query's path: a slow broker delays only this listener. Events are published through `session.transport`, so
 * they reach the broker the queries run on.
 *
 * @example
 * const listener = new NatsQueryListener(session, { prefix: "ops.rill" });
 * session.streams.addListener(listener); // `nats sub 'ops.rill.>'` now sees every query's progress
 */
export class NatsQueryListener implements StreamingQueryListener {
  readonly prefix: string;
  private readonly names = new Map<string, string | null>();
  private readonly encoder = new TextEncoder();
  private count = 0;
  private lost = 0;

  constructor(private readonly session: Pick<Session, "transport" | "conf">, options: NatsQueryListenerOptions = {}) {
    const prefix = options.prefix ?? `${session.conf.get("rill.subjectPrefix") ?? "rill"}.events`;
    if (!SUBJECT_PREFIX.test(prefix)) {
      throw new ConfigError(`NatsQueryListener option 'prefix' = '${prefix}' is not a subject prefix: write dot-separated tokens of letters, digits, '_' and '-', without wildcards, e.g. 'rill.events'.`);
    }
    this.prefix = prefix;
  }

  /** Messages published so far. */
  get published(): number {
    return this.count;
  }

  /**
   * Events not published because the session's transport was already closed: `session.stop()` closes it before the
   * listeners have drained, so the last events of queries still running then are counted here instead.
   */
  get dropped(): number {
    return this.lost;
  }

  /** The subject one event type of one query goes to. */
  subject(query: string, type: QueryEvent["type"]): string {
    return `${this.prefix}.${sanitizeToken(query)}.${type}`;
  }

  onQueryStarted(event: QueryStartedEvent): void {
    this.names.set(event.id, event.name);
    this.publish({ type: "started", event });
  }

  onQueryProgress(event: QueryProgressEvent): void {
    this.names.set(event.progress.id, event.progress.name);
    this.publish({ type: "progress", event });
  }

  onQueryIdle(event: QueryIdleEvent): void {
    this.publish({ type: "idle", event });
  }

  /** Publishes, then flushes, so the last word of a query reaches the broker even if the session stops next. */
  async onQueryTerminated(event: QueryTerminatedEvent): Promise<void> {
    this.publish({ type: "terminated", event });
    this.names.delete(event.id);
    if (this.session.transport.isConnected) await this.session.transport.flush();
  }

  private publish(event: QueryEvent): void {
    if (!this.session.transport.isConnected) {
      this.lost++;
      return;
    }
    const id = eventQueryId(event);
    const message = queryEventMessage(event, this.names.get(id) ?? null);
    this.session.transport.publish(this.subject(message.name ?? id, event.type), this.encoder.encode(JSON.stringify(message)));
    this.count++;
  }
}

/** Creates a {@link NatsQueryListener} and adds it to `session.streams`; remove it with `session.streams.removeListener`. */
export function publishQueryEvents(session: Pick<Session, "transport" | "conf" | "streams">, options: NatsQueryListenerOptions = {}): NatsQueryListener {
  const listener = new NatsQueryListener(session, options);
  session.streams.addListener(listener);
  return listener;
}
