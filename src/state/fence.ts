// The attempt fence of a shared checkpoint: which attempt may write epoch changes into it (pure; the LMDB adapter
// reads the fence and applies this decision inside each write transaction).
//
// Every process of a query on one machine writes its actors' changes (`delta/N`) into the driver's checkpoint
// environment. A worker paused past its heartbeat timeout (SIGSTOP, a long GC, a machine suspended) is given up, the
// query rolls back and runs on; when the worker resumes it finishes the writes it was in and runs whatever frames its
// socket held, writing changes of epochs the next attempt replays and commits. Those changes either land in a commit
// (folded with the replay's, so state is wrong) or stay beside the state of an epoch already committed (and the next
// start refuses the checkpoint as damaged). A local worker is killed before the rollback; a cluster worker cannot be.
//
// So each attempt, before any of its actors runs, records itself in the checkpoint (`["fence"]`) in the same
// transaction that removes the changes of uncommitted epochs (`CheckpointStorage.beginAttempt`). A write of changes
// reads the fence first, inside its own transaction (LMDB runs write transactions one at a time, across processes),
// and is refused unless the fence names the writer's attempt. A write of the old attempt that landed before the new
// one began is removed by that transaction (its epoch is not committed: the old attempt never acked it); one that
// comes after is refused. Attempts are told apart by run id (a new one per driver start) and rollback number.
//
// The fence also numbers the attempts that begin on the checkpoint (`sequence`, one above the previous fence's), in
// the same transaction, so their order is the order LMDB ran those transactions in, across runs and processes: a
// sink's preparations of one epoch by two drivers' attempts are ordered by it, not by their clocks (decision 78).
import type { LmdbKey } from "./layout.ts";

/** An attempt of a query: the run (one driver's start) and the number of the runtime within it (QuerySubjects.attempt). */
export interface AttemptId {
  readonly runId: string;
  readonly number: number;
}

/** The fence as stored: the attempt that began last, and how many attempts began on the checkpoint with it. */
export interface Fence extends AttemptId {
  readonly sequence: number;
}

export const FENCE_KEY: LmdbKey = ["fence"];

export type FenceDecision = { readonly kind: "write" } | { readonly kind: "refuse"; readonly reason: string };

/**
 * Whether `writer` may write its changes of `epoch`, given the fence stored in the checkpoint. No fence: no attempt
 * began on this environment (a checkpoint of a Rill before fences, or a worker's own store with replicated state), so
 * nothing is fenced. A writer without an attempt (a caller outside a query run) is not fenced either.
 */
export function decideChangeWrite(stored: unknown, writer: AttemptId | undefined, epoch: number): FenceDecision {
  if (writer === undefined || stored === undefined) return { kind: "write" };
  const fence = asAttemptId(stored);
  if (fence === undefined) return { kind: "refuse", reason: `the checkpoint's attempt fence is not an attempt (${JSON.stringify(stored)})` };
  if (fence.runId === writer.runId && fence.number === writer.number) return { kind: "write" };
  return { kind: "refuse", reason: `the changes of epoch ${epoch} come from ${describeAttempt(writer)}, but ${describeAttempt(fence)} began on this checkpoint since (the writer's attempt was rolled back or replaced; its actors were given up, e.g. a worker paused past its heartbeat timeout)` };
}

export function describeAttempt(attempt: AttemptId): string {
  return `attempt ${attempt.number} of run ${attempt.runId.slice(0, 8)}`;
}

function asAttemptId(value: unknown): AttemptId | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { runId, number } = value as { runId?: unknown; number?: unknown };
  return typeof runId === "string" && typeof number === "number" ? { runId, number } : undefined;
}

/**
 * Whether an attempt may begin on the checkpoint. `previous` is the attempt this run began last (undefined for a run's
 * first attempt: a driver that just opened the checkpoint takes it over). A run whose previous attempt no longer holds
 * the fence was taken over by another driver on the same checkpoint (it was paused past its heartbeat timeout and a
 * new driver started): it must not begin again, or the two would take the checkpoint from each other.
 */
export function decideBegin(stored: unknown, previous: AttemptId | undefined, next: AttemptId): FenceDecision {
  if (previous === undefined || stored === undefined) return { kind: "write" };
  const fence = asAttemptId(stored);
  if (fence !== undefined && fence.runId === previous.runId && fence.number === previous.number) return { kind: "write" };
  return { kind: "refuse", reason: `${describeAttempt(next)} cannot begin: ${fence ? describeAttempt(fence) : "another attempt"} began on this checkpoint after ${describeAttempt(previous)}, so another driver runs this query on it now` };
}

/**
 * The fence `next` writes when it begins: its sequence is one above the stored fence's. The first attempt on a
 * checkpoint, or the first over a fence of a Rill before sequences, is 1.
 */
export function nextFence(stored: unknown, next: AttemptId): Fence {
  const previous = typeof stored === "object" && stored !== null ? (stored as { sequence?: unknown }).sequence : undefined;
  const sequence = typeof previous === "number" && Number.isSafeInteger(previous) && previous >= 0 ? previous + 1 : 1;
  return { runId: next.runId, number: next.number, sequence };
}
