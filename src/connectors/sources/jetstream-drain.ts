// When prepare() of the jetstream source has read all a stream held at the call: pure decisions over facts the cursor read.
//
// The count to read to comes from a probe consumer, which the cluster places on any replica of the stream; a replica
// still catching up (a node restarted after a crash) counts only what it holds, so the count can be short. The stream
// leader's last sequence at the call bounds the reading from above, and the leader, asked for the next message after
// the last one handed out, tells a short count from a true one.
//
// @example
//   let target = { count: 100, onLeader: false };
//   drainState({ handed: 100, lastHanded: 140, leaderLast: 900 }, target) // "counted": ask the leader
//   afterLeaderCheck(150, 900, 140) // "short": 150 <= 900 was held at the call and is not handed out

/** A count of the messages read once the stream's matching messages are handed out (absolute, as handedOut()). */
export interface DrainCount {
  readonly count: number;
  /** Counted by the stream leader itself (or a stream with one replica): it holds every message there is. */
  readonly onLeader: boolean;
}

/** What the cursor knows now. */
export interface DrainPosition {
  /** Messages handed out over the cursor's life. */
  readonly handed: number;
  /** The stream sequence of the last message handed out (or the one before the start). */
  readonly lastHanded: number;
  /** The stream leader's last sequence when prepare() was called: everything to read is at or below it. */
  readonly leaderLast: number;
}

/**
 * - `passed`: the cursor is at or past the leader's last sequence at the call: done.
 * - `reading`: the count is not reached yet.
 * - `counted`: the count is reached by a count the leader made: done.
 * - `unsure`: the count is reached, but a replica that may lag made it: ask the leader (afterLeaderCheck).
 */
export type DrainState = "passed" | "reading" | "counted" | "unsure";

export function drainState(position: DrainPosition, target: DrainCount): DrainState {
  if (position.lastHanded >= position.leaderLast) return "passed";
  if (position.handed < target.count) return "reading";
  return target.onLeader ? "counted" : "unsure";
}

/**
 * The leader's answer to "the first message matching the filter after the last handed out" (`next`, undefined when
 * none): `short` when it existed at the call and is not handed out, so the count came from a replica behind the
 * leader; `done` when there is none, or only after the call. A message deleted, expired or purged is not answered.
 * `moved` when the cursor handed it out while the question was on its way (`lastHanded` is now's): look again.
 */
export function afterLeaderCheck(next: number | undefined, leaderLast: number, lastHanded: number): "done" | "short" | "moved" {
  if (next === undefined || next > leaderLast) return "done";
  return next <= lastHanded ? "moved" : "short";
}

/**
 * The target after a recount while reading: a count that went down (messages purged or expired since) replaces it,
 * never one that went up (messages published after the call).
 */
export function lowerTarget(target: DrainCount, recount: DrainCount): DrainCount {
  return recount.count < target.count ? recount : target;
}

/**
 * The target after the leader proved the count short: at least one message more (the leader holds one), or the
 * new count if it is higher; the reading still stops at the leader's last sequence at the call (drainState `passed`).
 */
export function raiseShortTarget(handed: number, recount: DrainCount): DrainCount {
  return recount.count > handed ? recount : { count: handed + 1, onLeader: false };
}

/**
 * Leader checks one prepare() makes at most: past them it ends with data left (the next epoch reads on), so a replica
 * that never catches up costs a few requests an epoch, never a prepare() that does not end. Trigger once (which has no
 * next epoch) checks on: after a short count each check waits for one message more, so its checks end with the reading.
 */
export const MAX_LEADER_CHECKS = 4;
