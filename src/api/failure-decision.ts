// Which failure reports roll a checkpointed query back: a pure decision over the report and the query's attempts
// (test/api/failure-decision.test.ts). One lost NATS node can be reported many times (the driver's reconnect, each
// worker's reconnect for each run it hosts, the next attempt's restore while the cluster elects leaders): only a
// report about the attempt running now may roll it back; one about an attempt already rolled back, or one whose
// rollback is under way, is covered by that rollback.

/** What kind of failure: a source offset moving back (never rolled back), a failed checkpoint write, or any other. */
export type FailureKind = "offset-regression" | "write" | "other";

export interface FailureReport {
  /**
   * The attempt the failure belongs to: the one whose runtime, coordinator or placement raised it, or, for an
   * interrupted NATS connection, the one that ran when the connection dropped (frames in flight then were its frames).
   */
  readonly attempt: number;
  readonly kind: FailureKind;
}

export interface AttemptState {
  /** False once the query stopped or failed for good. */
  readonly active: boolean;
  readonly checkpointed: boolean;
  /** The newest attempt: its runtime exists (it may still be being placed). */
  readonly current: number;
  /** True while the current attempt is being rolled back (stopped, and the next one not made yet). */
  readonly rollingBack: boolean;
  /** Rollbacks since the last commit, and their bound (rill.recovery.maxRetries). */
  readonly retries: number;
  readonly maxRetries: number;
  /** False when a failed start set the write retries to infinity: a write failure then fails the query too. */
  readonly writeRetriesBounded: boolean;
}

export type FailureDecision =
  | { readonly action: "ignore"; readonly why: "inactive" | "stale" | "covered" }
  | { readonly action: "rollback" }
  | { readonly action: "fail" };

export function decideFailure(state: AttemptState, report: FailureReport): FailureDecision {
  if (!state.active) return { action: "ignore", why: "inactive" };
  // Its attempt was rolled back already: the attempt running now has its own subjects and actors, and started after it.
  if (report.attempt < state.current) return { action: "ignore", why: "stale" };
  // The rollback under way throws the failed attempt away whole: whatever else went wrong in it is covered.
  if (state.rollingBack) return { action: "ignore", why: "covered" };
  // A source offset moving back is a forged ack or a bug: a rollback would trust the same subject again.
  if (report.kind === "offset-regression" || !state.checkpointed) return { action: "fail" };
  if (state.retries < state.maxRetries) return { action: "rollback" };
  if (report.kind === "write" && state.writeRetriesBounded) return { action: "rollback" };
  return { action: "fail" };
}

/**
 * The attempt an interrupted connection concerns: the current one if it was made before the connection dropped, else
 * an earlier one (made during the outage, the current attempt never had frames in flight on the lost connection: what
 * it published meanwhile waited in the client and went out after the reconnect, its subscriptions first).
 */
export function attemptOfInterruption(current: number, currentMadeAt: number, disconnectedAt: number): number {
  return currentMadeAt <= disconnectedAt ? current : current - 1;
}
