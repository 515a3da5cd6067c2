// Which parameter values an epoch runs with, as pure logic: facts in (the checkpoint, the bucket), a decision out.
//
// The coordinator decides the values of epoch N+1 when it asks for barrier N (the end of epoch N), from the latest
// bucket revision it has seen; they travel with that barrier, so every actor switches right after epoch N and never
// within an epoch. The commit record of epoch N keeps them, so a restart replays epoch N+1 with the very same values.
import type { ParamSet, ParamValue } from "./types.ts";

/** What the checkpoint says about the values of the first epoch a run replays. */
export interface ParamResumeFacts {
  /** Undefined for a new checkpoint location (or a query without one). */
  readonly resume: { readonly lastCommittedEpoch: number } | undefined;
  /** The values the last commit record holds for the epoch after it (absent: a checkpoint of a query without parameters). */
  readonly committed: ParamSet | undefined;
  /** The values the query's first epoch ran with (kept in the checkpoint's metadata when it was created). */
  readonly firstEpoch: ParamSet | undefined;
  /** The latest values known now (the bucket, declarations' defaults). */
  readonly latest: ParamSet;
}

export type ParamOrigin = "latest" | "commit" | "first-epoch";

export interface ParamResumeDecision {
  readonly params: ParamSet;
  readonly origin: ParamOrigin;
  /** Names the checkpoint had no value for (a replacing query uses a new parameter): they take the latest value. */
  readonly added: readonly string[];
}

/**
 * The values of the first epoch of a run: the ones recorded for it when it was started before (so its replay gives the
 * same output), else the latest.
 */
export function decideResumeParams(facts: ParamResumeFacts): ParamResumeDecision {
  const { resume, committed, firstEpoch, latest } = facts;
  if (!resume) return { params: latest, origin: "latest", added: [] };
  if (resume.lastCommittedEpoch >= 0) {
    return committed ? { ...withLatestFor(committed, latest), origin: "commit" } : { params: latest, origin: "latest", added: [] };
  }
  // Nothing committed yet: epoch 0 replays with the values it first ran with.
  return firstEpoch ? { ...withLatestFor(firstEpoch, latest), origin: "first-epoch" } : { params: latest, origin: "latest", added: [] };
}

function withLatestFor(recorded: ParamSet, latest: ParamSet): { params: ParamSet; added: string[] } {
  const added = Object.keys(latest.values).filter((name) => !(name in recorded.values));
  if (added.length === 0) return { params: recorded, added };
  const values: Record<string, ParamValue> = { ...recorded.values };
  for (const name of added) values[name] = latest.values[name] as ParamValue;
  return { params: { revision: recorded.revision, values }, added };
}

/** One value that changed, and the first epoch that runs with it. */
export interface ParamChange {
  readonly name: string;
  readonly value: ParamValue;
  readonly revision: number;
  readonly fromEpoch: number;
}

export interface NextEpochDecision {
  readonly params: ParamSet;
  readonly changes: readonly ParamChange[];
}

/**
 * Barrier `endingEpoch` is about to be asked for: epoch `endingEpoch + 1` runs with the latest values. Only the names
 * the query uses count, so a change to another parameter in the bucket changes nothing.
 */
export function decideNextEpoch(endingEpoch: number, inForce: ParamSet, latest: ParamSet): NextEpochDecision {
  const changes: ParamChange[] = [];
  for (const [name, value] of Object.entries(inForce.values)) {
    const next = latest.values[name];
    if (next !== undefined && next !== value) changes.push({ name, value: next, revision: latest.revision, fromEpoch: endingEpoch + 1 });
  }
  if (changes.length === 0) return { params: inForce, changes };
  const values: Record<string, ParamValue> = { ...inForce.values };
  for (const change of changes) values[change.name] = change.value;
  return { params: { revision: latest.revision, values }, changes };
}
