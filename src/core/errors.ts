// Typed errors: each names what is wrong, where, and what to do; the supervisor decides from fields.

export type ErrorOwner = "user" | "external" | "internal";

export interface RillErrorOptions {
  cause?: unknown;
  retryable?: boolean;
}

export class RillError extends Error {
  override readonly name: string = "RillError";
  readonly code: string;
  readonly owner: ErrorOwner;
  readonly retryable: boolean;

  constructor(code: string, owner: ErrorOwner, message: string, options: RillErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.owner = owner;
    this.retryable = options.retryable ?? false;
  }
}

/** The query itself is wrong: unknown column, wrong type, unsupported output mode. Raised at start(). */
export class AnalysisError extends RillError {
  override readonly name = "AnalysisError";
  constructor(message: string, options: RillErrorOptions = {}) {
    super("ANALYSIS", "user", message, options);
  }
}

/** An expression or SQL text could not be parsed: `position` is the 0-based offset, `line` and `column` are 1-based. */
export class ParseError extends RillError {
  override readonly name = "ParseError";
  readonly position: number;
  readonly line: number;
  readonly column: number;
  constructor(message: string, position: number, options: RillErrorOptions & { line?: number; column?: number } = {}) {
    super("PARSE", "user", message, options);
    this.position = position;
    this.line = options.line ?? 1;
    this.column = options.column ?? position + 1;
  }
}

/** A configuration value or option is wrong or missing. */
export class ConfigError extends RillError {
  override readonly name = "ConfigError";
  constructor(message: string, options: RillErrorOptions = {}) {
    super("CONFIG", "user", message, options);
  }
}

/** An external database (a lookup source: PostgreSQL, Redis) cannot be reached or read after the retries its options allow. */
export class ExternalSourceError extends RillError {
  override readonly name = "ExternalSourceError";
  constructor(message: string, options: RillErrorOptions = {}) {
    super("EXTERNAL_SOURCE", "external", message, { retryable: true, ...options });
  }
}

/** One input record is bad (unparseable, failing its schema). It goes to the dead-letter output. */
export class RecordError extends RillError {
  override readonly name = "RecordError";
  constructor(message: string, options: RillErrorOptions = {}) {
    super("RECORD", "user", message, options);
  }
}

/** The transport failed: broker unreachable, a gap in a channel's sequence numbers. */
export class TransportError extends RillError {
  override readonly name = "TransportError";
  constructor(message: string, options: RillErrorOptions = {}) {
    super("TRANSPORT", "external", message, { retryable: true, ...options });
  }
}

/** A user function (map, foreach, foreachBatch) threw while a query ran. */
export class UserCodeError extends RillError {
  override readonly name = "UserCodeError";
  constructor(message: string, options: RillErrorOptions = {}) {
    super("USER_CODE", "user", message, options);
  }
}

/** A query stopped because of a failure; `cause` holds the original error. */
export class StreamingQueryError extends RillError {
  override readonly name = "StreamingQueryError";
  constructor(message: string, options: RillErrorOptions = {}) {
    super("QUERY_FAILED", "internal", message, options);
  }
}

/** Closest candidate by edit distance, for "Did you mean ...?" hints. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** A checkpoint location cannot be used: unreadable, written by another query, or incompatible with this one. */
export class CheckpointError extends RillError {
  override readonly name = "CheckpointError";
  constructor(message: string, options: RillErrorOptions = {}) {
    super("CHECKPOINT", "user", message, options);
  }
}

/** A checkpoint write failed (a full disk, an I/O error): the epoch fails and the query retries until a write succeeds. */
export class CheckpointWriteError extends RillError {
  override readonly name = "CheckpointWriteError";
  constructor(message: string, options: RillErrorOptions = {}) {
    super("CHECKPOINT_WRITE", "external", message, { retryable: true, ...options });
  }
}

/**
 * A source actor acked an offset behind the one its previous epoch committed (or none at all): a forged ack on the
 * query's coordinator subject, or a bug. The query fails at once (a rollback would only trust the same subject again)
 * and nothing of the epoch is committed.
 */
export class SourceOffsetError extends RillError {
  override readonly name = "SourceOffsetError";
  constructor(message: string, readonly source: string, options: RillErrorOptions = {}) {
    super("SOURCE_OFFSET_BACKWARD", "internal", message, { retryable: false, ...options });
  }
}

/**
 * A worker (src/workers) refused a placement or was lost: `code` says which (`PLAN_MISMATCH`: the user's job module
 * differs between driver and worker, not worth retrying; `WORKER_LOST`, `WORKER_UNAVAILABLE`: retried by a rollback).
 */
export class WorkerError extends RillError {
  override readonly name = "WorkerError";
  constructor(code: "PLAN_MISMATCH" | "WORKER_LOST" | "WORKER_UNAVAILABLE" | "WORKER_REFUSED", message: string, options: RillErrorOptions = {}) {
    super(code, code === "PLAN_MISMATCH" ? "user" : "external", message, { retryable: code !== "PLAN_MISMATCH", ...options });
  }
}
