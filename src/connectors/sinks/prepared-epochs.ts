// What a sink that prepares each epoch durably (the file sink, the JetStream sink's transactional mode) does with the
// preparations it finds at open(), and which of several attempts' preparations of one epoch is the committed one. Pure
// decisions, unit-tested with their crash points (test/connectors/file-sink.test.ts, jetstream-sink.test.ts).

/**
 * A query attempt, as a preparation records it: its run, its rollback number, the epoch it resumed after, when it
 * opened, and its sequence number on the checkpoint (the attempt fence's, src/state/fence.ts; absent in preparations
 * of a Rill before it and of a query without a checkpoint).
 */
export interface PreparedBy {
  readonly runId: string;
  readonly number: number;
  readonly resumedAfter: number;
  readonly openedAt: number;
  readonly sequence?: number;
}

/** The attempt of a writer opened with `context`'s attempt (a random run when none: a query without attempts) now. */
export function preparedBy(attempt: { readonly runId: string; readonly number: number; readonly sequence?: number } | undefined, lastCommittedEpoch: number, openedAt: number, newRunId: () => string): PreparedBy {
  const prepared = { runId: attempt?.runId ?? newRunId(), number: attempt?.number ?? 0, resumedAfter: lastCommittedEpoch, openedAt };
  return attempt?.sequence === undefined ? prepared : { ...prepared, sequence: attempt.sequence };
}

/** The attempt's token in file and folder names: its run's first 12 hex digits and its rollback number. */
export function attemptToken(attempt: PreparedBy): string {
  return `${attempt.runId.replaceAll("-", "").slice(0, 12)}_${attempt.number}`;
}

/** What open() does with each epoch prepared before it: remove it (clean, discard) or finish its commit. */
export type RecoveryAction = "discard" | "finish" | "clean";

/**
 * The recovery decision for one prepared epoch, from facts read at open(): epochs after the last
 * committed one were never committed (discard); epochs the sink's own record already has (the file sink's log, the
 * JetStream sink's last published epoch) only left their preparation behind (clean); committed epochs the record
 * lacks crashed between the commit decision and the record, and are finished now.
 */
export function recoveryAction(epoch: number, lastCommittedEpoch: number, lastLoggedEpoch: number): RecoveryAction {
  if (epoch <= lastLoggedEpoch) return "clean";
  return epoch > lastCommittedEpoch ? "discard" : "finish";
}

/**
 * Of the complete preparations of one committed epoch (by several attempts, when a stalled one resumed), the one the
 * committing attempt made: the newest. When both carry one, the sequence number the checkpoint gave their attempts
 * says which began later (a later attempt's begin fences every earlier one's commits out). Otherwise (a preparation
 * of a Rill before sequences): an attempt resumes at or after every commit of the ones before it, so the newest resume
 * point wins; two attempts resuming at the same point are ordered by rollback number within a run, and across runs (a
 * restarted driver) by the time they opened, which a clock stepped back gets wrong. Undefined when there is none.
 */
export function committingPreparation<T extends { readonly attempt?: PreparedBy | undefined }>(candidates: readonly T[]): T | undefined {
  const newer = (a: PreparedBy | undefined, b: PreparedBy | undefined): boolean => {
    if (b === undefined) return a !== undefined;
    if (a === undefined) return false;
    if (a.sequence !== undefined && b.sequence !== undefined && a.sequence !== b.sequence) return a.sequence > b.sequence;
    if (a.resumedAfter !== b.resumedAfter) return a.resumedAfter > b.resumedAfter;
    if (a.runId === b.runId) return a.number > b.number;
    return a.openedAt > b.openedAt;
  };
  let best: T | undefined;
  for (const candidate of candidates) if (best === undefined || newer(candidate.attempt, best.attempt)) best = candidate;
  return best;
}
