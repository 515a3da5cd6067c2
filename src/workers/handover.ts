// Planned re-placement (a handover): when a running query on workers moves its actors at an epoch boundary without a
// rollback, and what each step's failure leads to. Pure: the driver (src/api/query.ts) and the worker (host.ts) act on
// these answers; test/workers/handover.test.ts covers each decision and each crash point.

/** A worker the next attempt may use: its name and the slots it has free for this query (its own actors count as free). */
export interface Candidate {
  readonly name: string;
  readonly free: number;
}

/**
 * Whether workers that joined are worth a handover: a candidate with a free slot hosts nothing of the query while some
 * worker hosts at least two more actors than that candidate would after a new placement (one). Round-robin placement
 * (placement.ts) leaves no worker more than one actor above another, so a handover never causes the next one.
 * `hosted`: worker -> this query's actors on it now.
 */
export function joinWantsHandover(hosted: ReadonlyMap<string, number>, candidates: readonly Candidate[]): boolean {
  const idle = candidates.filter((candidate) => candidate.free > 0 && (hosted.get(candidate.name) ?? 0) === 0);
  if (idle.length === 0) return false;
  const busiest = Math.max(0, ...hosted.values());
  return busiest >= 2;
}

export type LeaveDecision =
  /** The query hosts nothing on the leaving worker: the worker may go at once, as far as this query is concerned. */
  | { readonly kind: "not-hosting" }
  /** The other workers have room: hand over without the leaving one. */
  | { readonly kind: "hand-over" }
  /** The others have too few free slots: no handover; the worker leaves as before (one rollback, then wait for room). */
  | { readonly kind: "no-room"; readonly reason: string };

/** What a query does when a worker asks to leave: `remote` is how many of its actors run on workers. */
export function leaveDecision(leaving: string, hosted: ReadonlyMap<string, number>, others: readonly Candidate[], remote: number): LeaveDecision {
  if ((hosted.get(leaving) ?? 0) === 0) return { kind: "not-hosting" };
  const room = others.filter((candidate) => candidate.name !== leaving).reduce((sum, candidate) => sum + Math.max(0, candidate.free), 0);
  if (room < remote) return { kind: "no-room", reason: `the other workers have ${room} free slots for the query's ${remote} actors` };
  return { kind: "hand-over" };
}

/** The query's state when a handover is asked for. */
export interface QueryState {
  readonly active: boolean;
  readonly failed: boolean;
  readonly checkpointed: boolean;
  readonly onWorkers: boolean;
  /** Epochs on a trigger interval (continuous, processing time): once and availableNow end by themselves. */
  readonly triggered: boolean;
  /** A rollback is under way: a handover waits for it (it places on the warm workers, then considers the others). */
  readonly recovering: boolean;
  readonly handingOver: boolean;
}

export type StartDecision = { readonly kind: "start" } | { readonly kind: "join-running" } | { readonly kind: "skip"; readonly reason: string };

/** Whether a handover may start now, join the one (or the rollback) under way, or cannot happen at all. */
export function startDecision(state: QueryState): StartDecision {
  if (!state.onWorkers) return { kind: "skip", reason: "the query runs no actor on workers (rill.workers = local)" };
  if (!state.triggered) return { kind: "skip", reason: "the query runs trigger once or availableNow, which ends after its own final epoch" };
  if (!state.checkpointed) return { kind: "skip", reason: "the query has no checkpoint location, so it has no commit to resume from" };
  if (!state.active || state.failed) return { kind: "skip", reason: "the query is not running" };
  if (state.recovering || state.handingOver) return { kind: "join-running" };
  return { kind: "start" };
}

/** The steps of a handover, in order. */
export type HandoverStep = "final-epoch" | "stop" | "place";

export type StepOutcome =
  /** The step did what it should. */
  | { readonly kind: "ok" }
  /** The step failed (an error, a timeout, a worker lost). */
  | { readonly kind: "failed"; readonly error: string }
  /** A rollback replaced the run while the step waited (a worker or the epoch failed): it took over. */
  | { readonly kind: "superseded" };

export type NextAction =
  | { readonly kind: "continue"; readonly step: HandoverStep }
  /** Every step is done: the next attempt runs on the new set of workers, nothing replayed. */
  | { readonly kind: "done" }
  /** A rollback to the last commit is (or was already) under way: exactly-once holds as after any failure. */
  | { readonly kind: "rollback"; readonly reason: string }
  /** Nothing was changed: the run goes on where it is (the final epoch never started). */
  | { readonly kind: "abandon"; readonly reason: string };

/**
 * What follows a step:
 * - final epoch: committed -> stop; failed -> roll back (the sources stopped at its barrier, but whether it committed is
 *   unknown: the checkpoint says); superseded -> the rollback under way is the fallback.
 * - stop: ok -> place; failed -> place all the same: the final epoch committed and the sources read nothing after it,
 *   so no actor of the old run has anything uncommitted, and a worker that did not confirm its stop was fenced (given
 *   up for lost) by the stop itself; the new attempt's subjects are its own, so a late frame of the old one reaches no one.
 * - place: ok -> done; failed -> roll back (a worker lost while placing: the rollback places on the ones alive).
 */
export function afterStep(step: HandoverStep, outcome: StepOutcome): NextAction {
  if (outcome.kind === "superseded") return { kind: "rollback", reason: `a rollback took over during the handover's ${step} step` };
  switch (step) {
    case "final-epoch":
      return outcome.kind === "ok" ? { kind: "continue", step: "stop" } : { kind: "rollback", reason: `the handover's final epoch failed: ${outcome.error}` };
    case "stop":
      return { kind: "continue", step: "place" };
    case "place":
      return outcome.kind === "ok" ? { kind: "done" } : { kind: "rollback", reason: `placing the next attempt failed: ${outcome.error}` };
  }
}

export type LeaveReply = { readonly ok: true } | { readonly ok: false; readonly error: string };

/**
 * What a leaving worker does with the driver's answer: released by every driver -> stop and exit (nothing of theirs is
 * hosted here any more); any refusal, timeout or silent driver -> today's way: stop the actors and say it leaves, which
 * costs those drivers one rollback each.
 */
export function leaveOutcome(replies: ReadonlyMap<string, LeaveReply | "timeout">): { readonly kind: "handed-over" } | { readonly kind: "fallback"; readonly reasons: readonly string[] } {
  const reasons: string[] = [];
  for (const [driver, reply] of replies) {
    if (reply === "timeout") reasons.push(`driver ${driver} did not answer in time (or is gone)`);
    else if (!reply.ok) reasons.push(`driver ${driver}: ${reply.error}`);
  }
  return reasons.length === 0 ? { kind: "handed-over" } : { kind: "fallback", reasons };
}
