// The checkpoint layout: every LMDB key Rill writes is built here, so a person can read and query it.
//
//   ["meta"]                                      -> QueryMeta: identity, plan fingerprint, stateful operators
//   ["commit", epoch]                             -> EpochCommit: source offsets, time (the epoch is committed iff this exists)
//   ["delta", epoch, stateId, keyGroup, key]      -> an actor's state change in an epoch not yet committed (value, or null = deleted)
//   ["state", stateId, keyGroup, key]             -> state as of the last committed epoch
//   ["fence"]                                     -> {runId, number}: the attempt that may write changes and commits (src/state/fence.ts)
//   (dead letters ride along as stateId "__rill_deadletters", key group 0, key "<epoch>/<actor>/<index>": in delta/N
//   until N commits, then in state until their publish is acknowledged; src/deadletters/protocol.ts)
export type LmdbKey = Array<string | number>;

export const META_KEY: LmdbKey = ["meta"];

export function commitKey(epoch: number): LmdbKey {
  return ["commit", epoch];
}

export function deltaKey(epoch: number, stateId: string, keyGroup: number, key: string): LmdbKey {
  return ["delta", epoch, stateId, keyGroup, key];
}

export function stateKey(stateId: string, keyGroup: number, key: string): LmdbKey {
  return ["state", stateId, keyGroup, key];
}

/** [start, end) of a key prefix in LMDB's order (ordered-binary sorts arrays element by element). */
export function prefixRange(prefix: LmdbKey): { start: LmdbKey; end: LmdbKey } {
  return { start: prefix, end: [...prefix, "\uffff"] };
}

export function epochRange(kind: "commit" | "delta", fromEpoch: number, toEpoch = Number.MAX_SAFE_INTEGER): { start: LmdbKey; end: LmdbKey } {
  return { start: [kind, fromEpoch], end: [kind, toEpoch] };
}
