// The dead-letter protocol at every crash point: a model run keeps letters as the actors and the coordinator do (held,
// written at the barrier, folded at the commit, published, removed after the ack), a crash cuts it after any step, and
// a replay makes the uncommitted epochs' letters again, cut into other epochs. The stream must hold each letter once.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addressLetters, decideLetters, letterKey, letterMessageId, parseLetterKey, retryDelayMs, type StoredLetter } from "../../src/deadletters/protocol.ts";

const QUERY = "q-1";

/** What the actors' memory, the checkpoint and the dead-letter stream hold. */
interface World {
  held: Map<string, string[]>;
  /** `delta/N` letters, written at the barrier of N (discarded by recovery when N did not commit). */
  pending: StoredLetter[];
  /** Letters the commits folded in and no publish has removed. */
  committed: StoredLetter[];
  lastCommittedEpoch: number;
  /** The stream: message id -> the letter's text; a repeated id is dropped (the duplicate window). */
  stream: Map<string, string>;
  duplicates: number;
}

type Step =
  | { readonly kind: "letter"; readonly actor: string; readonly text: string }
  | { readonly kind: "barrier"; readonly epoch: number; readonly actor: string }
  | { readonly kind: "commit"; readonly epoch: number }
  /** Publishes up to `count` committed letters; `removed: false` is a crash between their acks and their removal. */
  | { readonly kind: "publish"; readonly count: number; readonly removed?: boolean };

function emptyWorld(): World {
  return { held: new Map(), pending: [], committed: [], lastCommittedEpoch: -1, stream: new Map(), duplicates: 0 };
}

function apply(world: World, step: Step): void {
  if (step.kind === "letter") world.held.set(step.actor, [...(world.held.get(step.actor) ?? []), step.text]);
  else if (step.kind === "barrier") {
    world.pending.push(...addressLetters(step.actor, step.epoch, (world.held.get(step.actor) ?? []).map((text) => new TextEncoder().encode(text))));
    world.held.delete(step.actor);
  } else if (step.kind === "commit") {
    world.committed.push(...world.pending.filter((letter) => letter.epoch === step.epoch));
    world.pending = world.pending.filter((letter) => letter.epoch !== step.epoch);
    world.lastCommittedEpoch = step.epoch;
  } else publish(world, step.count, step.removed ?? true);
}

/** Publishes what decideLetters says, in its order, with each letter's message id. */
function publish(world: World, count = Number.POSITIVE_INFINITY, removed = true): void {
  const { publish: order } = decideLetters({ lastCommittedEpoch: world.lastCommittedEpoch, committed: world.committed, pending: world.pending });
  for (const address of order.slice(0, count)) {
    const id = letterMessageId(QUERY, address);
    if (world.stream.has(id)) world.duplicates++;
    else world.stream.set(id, new TextDecoder().decode((address as StoredLetter).payload));
    if (removed) world.committed = world.committed.filter((letter) => letterKey(letter) !== letterKey(address));
  }
}

/** Two actors, three epochs, publishing in steps. */
const RUN: readonly Step[] = [
  { kind: "letter", actor: "s0.p0", text: "a0" },
  { kind: "letter", actor: "s0.p0", text: "a1" },
  { kind: "letter", actor: "s1.p0", text: "a2" },
  { kind: "barrier", epoch: 0, actor: "s0.p0" },
  { kind: "barrier", epoch: 0, actor: "s1.p0" },
  { kind: "letter", actor: "s1.p0", text: "b0" },
  { kind: "commit", epoch: 0 },
  { kind: "publish", count: 2, removed: false },
  { kind: "publish", count: 1 },
  { kind: "barrier", epoch: 1, actor: "s0.p0" },
  { kind: "publish", count: 5 },
  { kind: "barrier", epoch: 1, actor: "s1.p0" },
  { kind: "letter", actor: "s0.p0", text: "a3" },
  { kind: "commit", epoch: 1 },
  { kind: "letter", actor: "s1.p0", text: "b1" },
  { kind: "publish", count: 1 },
  { kind: "barrier", epoch: 2, actor: "s0.p0" },
  { kind: "barrier", epoch: 2, actor: "s1.p0" },
  { kind: "commit", epoch: 2 },
  { kind: "publish", count: 5 },
];
const EVERY_LETTER = ["a0", "a1", "a2", "a3", "b0", "b1"];

/** The epoch each letter of RUN belongs to: the next barrier of its actor. */
function epochOf(index: number): number {
  const step = RUN[index] as Step & { kind: "letter" };
  const barrier = RUN.slice(index).find((later) => later.kind === "barrier" && later.actor === step.actor);
  return barrier?.kind === "barrier" ? barrier.epoch : Number.POSITIVE_INFINITY;
}

/**
 * A crash then recovery: memory is gone, the deltas of uncommitted epochs are discarded, the committed letters left are
 * published. Then the replay from the last commit's offsets makes the later letters again, in one epoch this time
 * (a replay cuts epochs differently), which commits and is published.
 */
function crashAndReplay(world: World): void {
  world.held.clear();
  const decision = decideLetters({ lastCommittedEpoch: world.lastCommittedEpoch, committed: world.committed, pending: world.pending });
  assert.ok(decision.discard.every((letter) => letter.epoch > world.lastCommittedEpoch), "only letters of epochs that did not commit are discarded");
  world.pending = [];
  publish(world);
  const replayEpoch = world.lastCommittedEpoch + 1;
  const again = RUN.flatMap((step, index) => (step.kind === "letter" && epochOf(index) > world.lastCommittedEpoch ? [step] : []));
  for (const step of [...again].reverse()) apply(world, { ...step, actor: "s0.p0" });
  apply(world, { kind: "barrier", epoch: replayEpoch, actor: "s0.p0" });
  apply(world, { kind: "commit", epoch: replayEpoch });
  publish(world);
}

function lettersIn(world: World): string[] {
  return [...world.stream.values()].sort();
}

describe("the dead-letter protocol", () => {
  it("keys sort by epoch, actor and index, and read back to their address", () => {
    const keys = [{ epoch: 10, actor: "s0.p0", index: 0 }, { epoch: 2, actor: "s1.p0", index: 11 }, { epoch: 2, actor: "s1.p0", index: 3 }, { epoch: 2, actor: "s0.p1", index: 7 }].map(letterKey);
    assert.deepEqual([...keys].sort().map(parseLetterKey), [
      { epoch: 2, actor: "s0.p1", index: 7 }, { epoch: 2, actor: "s1.p0", index: 3 }, { epoch: 2, actor: "s1.p0", index: 11 }, { epoch: 10, actor: "s0.p0", index: 0 },
    ]);
    assert.equal(parseLetterKey("not a letter"), undefined);
    assert.equal(letterMessageId("q", { epoch: 4, actor: "s2-filter.p1", index: 9 }), "q:deadletter:4:s2-filter.p1:9");
  });

  it("publishes committed letters oldest first and never one of an epoch that did not commit", () => {
    const letter = (epoch: number, actor: string, index: number): StoredLetter => ({ epoch, actor, index, payload: new Uint8Array() });
    const decision = decideLetters({ lastCommittedEpoch: 3, committed: [letter(3, "b", 0), letter(1, "a", 1), letter(1, "a", 0)], pending: [letter(4, "a", 0)] });
    assert.deepEqual(decision.publish.map(letterKey), [letter(1, "a", 0), letter(1, "a", 1), letter(3, "b", 0)].map(letterKey));
    assert.deepEqual(decision.discard.map(letterKey), [letterKey(letter(4, "a", 0))]);
  });

  it("a run without a crash publishes each letter once, a repeated publish (acked, not removed) dropped by the stream", () => {
    const world = emptyWorld();
    for (const step of RUN) apply(world, step);
    assert.deepEqual(lettersIn(world), EVERY_LETTER);
    assert.equal(world.duplicates, 2, "the two letters published but not removed were published again, and dropped");
    assert.equal(world.committed.length + world.pending.length + world.held.size, 0, "nothing is left in the checkpoint");
  });

  // After every step: before a barrier (held letters lost: the epoch replays), after a barrier before the commit (its
  // delta is discarded: the epoch replays), after a commit before its publish, in the middle of a publish, and between
  // a publish's acks and the removal of its letters.
  RUN.forEach((step, index) => {
    it(`a crash after step ${index + 1} (${step.kind}${"epoch" in step ? ` ${step.epoch}` : ""}) ends with each letter in the stream exactly once`, () => {
      const world = emptyWorld();
      for (const done of RUN.slice(0, index + 1)) apply(world, done);
      crashAndReplay(world);
      assert.deepEqual(lettersIn(world), EVERY_LETTER);
      assert.equal(world.committed.length, 0);
    });
  });

  it("a second crash in the middle of the republish after the first still ends with each letter once", () => {
    const world = emptyWorld();
    for (const step of RUN.slice(0, 7)) apply(world, step); // epoch 0 committed, nothing published
    publish(world, 1, false);
    crashAndReplay(world);
    assert.deepEqual(lettersIn(world), EVERY_LETTER);
  });

  it("publishing a letter of an epoch that did not commit would repeat it after the replay (the model can fail)", () => {
    const world = emptyWorld();
    for (const step of RUN.slice(0, 5)) apply(world, step); // epoch 0 written at its barriers, not committed
    world.committed.push(...world.pending); // the wrong decision: treat the pending letters as publishable
    publish(world);
    world.committed = [];
    world.lastCommittedEpoch = -1;
    crashAndReplay(world);
    assert.notDeepEqual(lettersIn(world), EVERY_LETTER);
  });

  it("backs off from 100 ms, doubling, to at most 5 s", () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map(retryDelayMs), [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  });
});
