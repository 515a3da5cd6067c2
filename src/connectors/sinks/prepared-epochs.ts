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

/**
 * The attempt's token in file and folder names: its run's first 12 letters and digits, its rollback number and, when it
 * has one, its sequence on the checkpoint (`<run>_<number>_<sequence>`). A preparation still being written has no
 * record of its attempt yet, so a writer opening beside it reads the sequence from the name (`sequenceOfToken`).
 */
export function attemptToken(attempt: PreparedBy): string {
  const token = `${attempt.runId.replace(/[^A-Za-z0-9]/g, "").slice(0, 12)}_${attempt.number}`;
  return attempt.sequence === undefined ? token : `${token}_${attempt.sequence}`;
}

/** The sequence an attempt token carries; undefined for `<run>_<number>` (before decision 78, or no checkpoint) and for no token (before attempts). */
export function sequenceOfToken(token: string | undefined): number | undefined {
  const match = token === undefined ? null : /^[A-Za-z0-9]*_\d+_(\d+)$/.exec(token);
  return match ? Number(match[1]) : undefined;
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
 * Whether a writer opening with the attempt sequence `own` removes a preparation, by the attempt with sequence
 * `prepared`, of an epoch `action` names: an epoch the sink's record has (clean) or finished from the committing
 * preparation (finish) leaves nothing to keep; of an epoch after the last committed one (discard), only an older
 * attempt's preparation goes. A newer attempt began on the checkpoint after this writer's (this one stalled before its
 * open) and owns its preparations: it commits them, or its successor's open discards them; removing one would fail
 * its commit of an epoch the checkpoint may already have committed, and lose the epoch. One of the same sequence is not
 * older and is left too. A preparation without a sequence (a Rill before decision 78) counts as older, and a writer
 * without one (no checkpoint) discards as before.
 */
export function removedAtOpen(action: RecoveryAction, prepared: number | undefined, own: number | undefined): boolean {
  if (action !== "discard") return true;
  return prepared === undefined || own === undefined || prepared < own;
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
