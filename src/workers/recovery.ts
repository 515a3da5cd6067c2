// Where a rollback places its next attempt. Pure: placement.ts asks, test/workers/recovery.test.ts covers each case.
//
// A rollback is on the clock (the query produces nothing until its next attempt commits), so it goes to the workers
// that are at work already: those that hosted the failed attempt and are still alive (warm: their job module is loaded,
// their plan built before). A worker that joined meanwhile (the replacement of a lost local worker, a new machine) is
// cold: building its first plan and restoring state may take seconds, and the rollback would wait for it. It is put to
// use afterwards by a handover at an epoch boundary, without a rollback (handover.ts joinWantsHandover). Only when the
// warm workers lack the slots does the rollback take every candidate (and wait for one if there is none, as a first
// placement does). With rill.workers.rebalance = off no handover would follow, so the query (src/api/query.ts) does
// not ask: every candidate, as before.

import type { Candidate } from "./handover.ts";

export type RecoveryChoice =
  /** The warm workers, in the candidates' order: they have room for every actor. */
  | { readonly kind: "warm"; readonly workers: readonly string[] }
  /** Every candidate: the warm ones lack slots (or there are none), with why. */
  | { readonly kind: "all"; readonly reason: string };

/**
 * `hosts`: the workers of the failed attempt; `candidates`: the workers alive and not leaving now, with their free slots
 * for this query; `remote`: how many actors the next attempt places on workers.
 */
export function recoveryWorkers(hosts: ReadonlySet<string>, candidates: readonly Candidate[], remote: number): RecoveryChoice {
  const warm = candidates.filter((candidate) => hosts.has(candidate.name) && candidate.free > 0);
  if (warm.length === 0) return { kind: "all", reason: hosts.size === 0 ? "the failed attempt ran on no worker" : `no worker of the failed attempt (${[...hosts].join(", ")}) is alive with a free slot` };
  const room = warm.reduce((sum, candidate) => sum + candidate.free, 0);
  if (room < remote) return { kind: "all", reason: `the workers of the failed attempt alive now (${warm.map((candidate) => candidate.name).join(", ")}) have ${room} free slots for ${remote} actors` };
  return { kind: "warm", workers: warm.map((candidate) => candidate.name) };
}
