// The JSON forms of progress reports and query events, as other systems receive them (Spark's progress.json).
import type { QueryEvent } from "../api/listener.ts";
import type { StreamingQueryProgress } from "../api/progress.ts";

/** One query event as published: the same envelope for every type, so a consumer can route on `type` alone. */
export interface QueryEventMessage {
  readonly type: QueryEvent["type"];
  readonly id: string;
  readonly runId: string;
  /** The query's name, or null for an unnamed query (or when the event came before the listener knew it). */
  readonly name: string | null;
  /** ISO time of the event: the start, the epoch's end, the idle epoch, or when the termination was seen. */
  readonly timestamp: string;
  /** Only in `progress` messages. */
  readonly progress?: StreamingQueryProgress;
  /** Only in `terminated` messages: the failure's message, or null when the query was stopped. */
  readonly exception?: string | null;
  /** Only in `terminated` messages: the failure's code (USER_CODE, EPOCH_TIMEOUT, CHECKPOINT, ...), or null. */
  readonly errorClassOnException?: string | null;
}

/** The query id an event belongs to. */
export function eventQueryId(event: QueryEvent): string {
  return event.type === "progress" ? event.event.progress.id : event.event.id;
}

/** Builds the published envelope of an event; `name` fills in what idle and terminated events do not carry. */
export function queryEventMessage(event: QueryEvent, name: string | null, now: () => Date = () => new Date()): QueryEventMessage {
  switch (event.type) {
    case "started":
      return { type: "started", id: event.event.id, runId: event.event.runId, name: event.event.name ?? name, timestamp: event.event.timestamp };
    case "progress": {
      const progress = event.event.progress;
      return { type: "progress", id: progress.id, runId: progress.runId, name: progress.name ?? name, timestamp: progress.timestamp, progress };
    }
    case "idle":
      return { type: "idle", id: event.event.id, runId: event.event.runId, name, timestamp: event.event.timestamp };
    case "terminated":
      return {
        type: "terminated", id: event.event.id, runId: event.event.runId, name, timestamp: now().toISOString(),
        exception: event.event.exception, errorClassOnException: event.event.errorClassOnException,
      };
  }
}

/** A progress report as JSON (Spark's `progress.json`; `pretty` gives `prettyJson`). Stage watermarks stay in ms. */
export function progressJson(progress: StreamingQueryProgress, pretty = false): string {
  return JSON.stringify(progress, undefined, pretty ? 2 : undefined);
}
