// The dead-letter protocol, as pure decisions: which epoch a letter belongs to, the key it is checkpointed under, the
// Nats-Msg-Id it is published with, and what is published after a crash at each point. Every crash point is a unit test.
//
// A letter is held by the actor that made it until the barrier of the epoch it belongs to (the epoch the actor is in
// when the record is refused), written with that epoch's state changes (`delta/N`), moved into the committed letters
// (`state`) by the commit's fold, and published after the commit with an id the epoch determines. So:
// - a crash before the barrier loses nothing: the epoch never commits and its replay makes the letter again;
// - a crash after the barrier, before the commit: recovery discards `delta/N` with the rest of the epoch, as above;
// - a crash after the commit, before or during the publish: the committed letters are still in the checkpoint, and the
//   next run publishes all of them with the same ids, which the dead-letter stream drops as duplicates;
// - a letter leaves the checkpoint only after its publish was acknowledged.

/** The state id committed letters live under: `["state", LETTERS_STATE_ID, 0, <letter key>]`, and `delta/N` before. */
export const LETTERS_STATE_ID = "__rill_deadletters";
/** Letters are not keyed data: they all sit in key group 0. */
export const LETTERS_KEY_GROUP = 0;

/** Where a letter came from: the epoch it belongs to, the actor that refused the record, and its place among that actor's letters of the epoch. */
export interface LetterAddress {
  readonly epoch: number;
  readonly actor: string;
  readonly index: number;
}

/** A letter as the checkpoint holds it. */
export interface StoredLetter extends LetterAddress {
  readonly payload: Uint8Array;
}

/** The key of a letter, sorting by epoch, then actor, then index (numbers padded so that text order is number order). */
export function letterKey(address: LetterAddress): string {
  return `${String(address.epoch).padStart(12, "0")}/${address.actor}/${String(address.index).padStart(9, "0")}`;
}

/** The address a key names, or undefined for a key that is not a letter's. */
export function parseLetterKey(key: string): LetterAddress | undefined {
  const match = /^(\d{12})\/(.+)\/(\d{9})$/.exec(key);
  if (!match) return undefined;
  return { epoch: Number(match[1]), actor: match[2] as string, index: Number(match[3]) };
}

/**
 * The Nats-Msg-Id of a letter: the query, the epoch, the actor and the index. A replay of an epoch that did not commit
 * never publishes, so an id is only ever published for the one letter its committed epoch holds.
 */
export function letterMessageId(queryId: string, address: LetterAddress): string {
  return `${queryId}:deadletter:${address.epoch}:${address.actor}:${address.index}`;
}

/** The letters an actor made in one epoch, in order, addressed for the checkpoint. */
export function addressLetters(actor: string, epoch: number, payloads: readonly Uint8Array[]): StoredLetter[] {
  return payloads.map((payload, index) => ({ epoch, actor, index, payload }));
}

/** What a checkpoint holds about letters when a run starts (after a crash at any point) or after a commit. */
export interface LetterFacts {
  /** The last committed epoch (-1: none). */
  readonly lastCommittedEpoch: number;
  /** Letters the commits folded in and no publish has removed yet. */
  readonly committed: readonly LetterAddress[];
  /** Letters written at a barrier whose epoch has not committed (recovery discards them with the epoch's other changes). */
  readonly pending: readonly LetterAddress[];
}

export interface LetterDecision {
  /** Publish these, in this order, each with its message id; remove each once its publish is acknowledged. */
  readonly publish: readonly LetterAddress[];
  /** Never publish these: their epoch did not commit, and its replay makes them again. */
  readonly discard: readonly LetterAddress[];
}

/** Publishes every committed letter still held, oldest epoch first; never one of an epoch that did not commit. */
export function decideLetters(facts: LetterFacts): LetterDecision {
  const publish = [...facts.committed].sort(compareAddresses);
  // A committed letter is always folded; one still pending for a committed epoch cannot exist (the fold is part of the
  // commit's transaction), but if it did, it is committed output and is published, not lost.
  const late = facts.pending.filter((letter) => letter.epoch <= facts.lastCommittedEpoch);
  const discard = facts.pending.filter((letter) => letter.epoch > facts.lastCommittedEpoch);
  return { publish: [...publish, ...late.sort(compareAddresses)], discard };
}

export function compareAddresses(a: LetterAddress, b: LetterAddress): number {
  return a.epoch - b.epoch || (a.actor < b.actor ? -1 : a.actor > b.actor ? 1 : 0) || a.index - b.index;
}

/** The pause before the n-th attempt (1-based) to publish a letter the stream refused (full, or unreachable): doubling from 100 ms up to 5 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(100 * 2 ** Math.max(0, attempt - 1), 5000);
}
