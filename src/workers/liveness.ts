// When a worker is lost: heartbeats judge a worker at work, a placement request's own timeout judges a worker being
// placed. Pure: the pool (pool.ts) keeps one Liveness per worker and asks `judge` on each check; the placement
// (placement.ts) reports its requests, their answers and its attempt's first commit. test/workers/liveness.test.ts.
//
// Why: a worker building its plan for a placement (importing the job's modules, planning, replaying a generator up to
// the resume offsets) may block its event loop for longer than the heartbeat timeout, more so on a loaded machine. Given
// up for that, it is killed (a local one) and the query rolls back again, onto a replacement just as slow: a cascade.
// While a placement request is out, the request's timeout (rill.workers.placementTimeout) is the bound instead; once it
// answers, its silence is excused for as long again as the request took (a worker slow to place is slow to catch up),
// or until the attempt it was placed for commits an epoch (its actors then answered the coordinator: it works).

/** What excuses a worker's silence, for one placement (one attempt of one query). */
export type Excuse =
  /** A placement request is out since `since` (this driver's clock): the request's timeout judges the worker. */
  | { readonly kind: "placing"; readonly since: number }
  /** It answered: silence is excused until `until`, or until the attempt commits (the excuse is then dropped). */
  | { readonly kind: "answered"; readonly until: number };

export interface Liveness {
  /** When the last heartbeat arrived (this driver's clock). */
  readonly lastSeen: number;
  /** Placement (attempt key) -> its excuse. */
  readonly excuses: ReadonlyMap<string, Excuse>;
  /** When the latest excuse ended (expired, committed, dropped): silence counts from then at the earliest. */
  readonly excusedUntil: number;
}

export function fresh(now: number): Liveness {
  return { lastSeen: now, excuses: new Map(), excusedUntil: now };
}

export function heard(state: Liveness, now: number): Liveness {
  return { ...state, lastSeen: Math.max(state.lastSeen, now) };
}

/** A placement request went out to the worker. */
export function requested(state: Liveness, key: string, now: number): Liveness {
  const excuses = new Map(state.excuses);
  const before = excuses.get(key);
  excuses.set(key, { kind: "placing", since: now });
  // An answered excuse of the same attempt (the operators' request, then the sources') is kept as the floor.
  return { ...state, excuses, excusedUntil: before?.kind === "answered" ? Math.max(state.excusedUntil, Math.min(before.until, now)) : state.excusedUntil };
}

/**
 * The worker answered the request of `key` (whatever it said): its silence is excused as long again as the request
 * took. A second answer for the same attempt keeps the later end of the two.
 */
export function answered(state: Liveness, key: string, now: number): Liveness {
  const excuse = state.excuses.get(key);
  if (excuse?.kind !== "placing") return state;
  const excuses = new Map(state.excuses);
  excuses.set(key, { kind: "answered", until: now + (now - excuse.since) });
  return { ...state, excuses };
}

/**
 * The attempt of `key` committed an epoch (its answered excuse ends now), or was stopped or failed (every excuse of it
 * ends now). A request still out for another attempt keeps its own excuse.
 */
export function ended(state: Liveness, key: string, now: number, how: "committed" | "dropped"): Liveness {
  const excuse = state.excuses.get(key);
  if (!excuse) return state;
  if (how === "committed" && excuse.kind === "placing") return state;
  const excuses = new Map(state.excuses);
  excuses.delete(key);
  const end = excuse.kind === "answered" ? Math.min(excuse.until, now) : now;
  return { ...state, excuses, excusedUntil: Math.max(state.excusedUntil, end) };
}

export type Judgement =
  | { readonly lost: false; readonly why: "placing" | "excused" | "heard" }
  | { readonly lost: true; readonly silentMs: number; readonly excusedMs: number };

/**
 * Whether a worker is lost at `now`: never while a placement request is out to it (that request's timeout judges it)
 * nor while an answered placement's excuse runs; else when it has been silent for longer than `timeoutMs`, counting
 * from its last heartbeat or from the end of its last excuse, whichever is later.
 */
export function judge(state: Liveness, now: number, timeoutMs: number): Judgement {
  let excusedUntil = state.excusedUntil;
  for (const excuse of state.excuses.values()) {
    if (excuse.kind === "placing") return { lost: false, why: "placing" };
    if (excuse.until >= now) return { lost: false, why: "excused" };
    excusedUntil = Math.max(excusedUntil, excuse.until);
  }
  const since = Math.max(state.lastSeen, excusedUntil);
  const silentMs = now - since;
  if (silentMs <= timeoutMs) return { lost: false, why: "heard" };
  return { lost: true, silentMs: now - state.lastSeen, excusedMs: Math.max(0, excusedUntil - state.lastSeen) };
}

/** Answered excuses that ran out, folded into `excusedUntil` (keeps the map small; judge gives the same answer). */
export function expire(state: Liveness, now: number): Liveness {
  let changed = false;
  let excusedUntil = state.excusedUntil;
  const excuses = new Map(state.excuses);
  for (const [key, excuse] of state.excuses) {
    if (excuse.kind !== "answered" || excuse.until >= now) continue;
    excuses.delete(key);
    excusedUntil = Math.max(excusedUntil, excuse.until);
    changed = true;
  }
  return changed ? { ...state, excuses, excusedUntil } : state;
}

/**
 * Whether the driver may judge silence on a check that runs at `now`, the previous one having run at `previous`, every
 * `periodMs`. A check far behind its time means the driver's own event loop was stalled (starved of CPU, a long
 * task): the heartbeats that arrived meanwhile are still unread in its socket (timers run before I/O in an event-loop
 * turn), so every worker would look silent. That check is skipped, once: the next one, after the socket was read,
 * judges, so a driver stalled over and over still notices losses. (A worker judges its driver the same way: host.ts.)
 */
export function mayJudge(previous: number, now: number, periodMs: number, skippedLast: boolean): boolean {
  return skippedLast || now - previous <= 2 * periodMs;
}
