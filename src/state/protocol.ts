// The recovery decision, as pure logic: facts read from a checkpoint in, a decision out. Every crash point is a unit test.
import type { EpochCommit, QueryMeta, StatefulOperatorInfo } from "./types.ts";

export interface RecoveryFacts {
  /** What the checkpoint holds (undefined meta: a new checkpoint location). */
  readonly meta: QueryMeta | undefined;
  readonly lastCommit: EpochCommit | undefined;
  /** The epochs of every commit record kept, oldest first (older ones are pruned). */
  readonly committedEpochs: readonly number[];
  /** Epochs with state changes not folded into the state. */
  readonly pendingEpochs: readonly number[];
  /** The query being started. */
  readonly current: { readonly sources: readonly string[]; readonly sourceIdentities?: Readonly<Record<string, string>> | undefined; readonly stateful: readonly StatefulOperatorInfo[] };
}

export type RecoveryDecision =
  | { readonly kind: "fresh" }
  | {
      readonly kind: "resume";
      readonly id: string;
      /** -1 when the query ran but never committed an epoch. */
      readonly lastCommittedEpoch: number;
      readonly offsets: Readonly<Record<string, unknown>>;
      /** Changes of these epochs were never committed: remove them. */
      readonly discard: readonly number[];
    }
  | { readonly kind: "refuse"; readonly reasons: readonly string[] }
  /** The checkpoint breaks an invariant the protocol keeps: resuming from it could lose or repeat an epoch. */
  | { readonly kind: "damaged"; readonly reasons: readonly string[] };

export function decideRecovery(facts: RecoveryFacts): RecoveryDecision {
  const { meta, lastCommit, pendingEpochs, current } = facts;
  if (!meta) return { kind: "fresh" };
  const damage = checkInvariants(facts);
  if (damage.length > 0) return { kind: "damaged", reasons: damage };
  const reasons = [...compareStateful(meta.stateful, current.stateful), ...compareSources(meta.sources, current.sources, meta.sourceIdentities, current.sourceIdentities)];
  if (reasons.length > 0) return { kind: "refuse", reasons };
  const lastCommittedEpoch = lastCommit?.epoch ?? -1;
  return {
    kind: "resume",
    id: meta.id,
    lastCommittedEpoch,
    offsets: lastCommit?.offsets ?? {},
    discard: pendingEpochs.filter((epoch) => epoch > lastCommittedEpoch),
  };
}

/**
 * Epochs commit in epoch order, and a commit folds its epoch's changes in the same transaction. So the kept commit
 * records are consecutive, and no change of a committed epoch is left outside the state.
 */
function checkInvariants({ committedEpochs, pendingEpochs, lastCommit }: RecoveryFacts): string[] {
  const reasons: string[] = [];
  for (let index = 1; index < committedEpochs.length; index++) {
    const previous = committedEpochs[index - 1] as number;
    const epoch = committedEpochs[index] as number;
    if (epoch !== previous + 1) reasons.push(`epoch ${epoch} is committed but epoch ${previous + 1} is not (commits must follow epoch order)`);
  }
  const lastCommittedEpoch = lastCommit?.epoch ?? -1;
  const unfolded = pendingEpochs.filter((epoch) => epoch <= lastCommittedEpoch);
  if (unfolded.length > 0) reasons.push(`state changes of committed epoch${unfolded.length > 1 ? "s" : ""} ${unfolded.join(", ")} were never folded into the state`);
  return reasons;
}

function compareStateful(before: readonly StatefulOperatorInfo[], now: readonly StatefulOperatorInfo[]): string[] {
  const reasons: string[] = [];
  for (const old of before) {
    const match = now.find((operator) => operator.stateId === old.stateId);
    if (!match) reasons.push(`the stateful operator ${old.stateId} (${old.kind}: ${old.signature}) was removed`);
    else if (match.kind !== old.kind || match.signature !== old.signature) reasons.push(`the stateful operator ${old.stateId} changed from ${old.kind}: ${old.signature} to ${match.kind}: ${match.signature}`);
    else if (old.stateSchema !== undefined && match.stateSchema !== undefined && old.stateSchema !== match.stateSchema) reasons.push(`the state schema of the stateful operator ${old.stateId} (${old.kind}: ${old.signature}) changed from ${old.stateSchema} to ${match.stateSchema}`);
    else if (old.definition !== undefined && match.definition !== undefined && old.definition !== match.definition) reasons.push(`the stateful operator ${old.stateId} (${old.kind}: ${old.signature}) computes its state from other expressions: ${old.definition} before, ${match.definition} now`);
  }
  for (const added of now) {
    if (!before.some((operator) => operator.stateId === added.stateId)) reasons.push(`a stateful operator ${added.stateId} (${added.kind}: ${added.signature}) was added`);
  }
  return reasons;
}

function compareSources(before: readonly string[], now: readonly string[], readBefore: Readonly<Record<string, string>> | undefined, readNow: Readonly<Record<string, string>> | undefined): string[] {
  if (before.length !== now.length || before.some((source, index) => source !== now[index])) {
    // What the actors read names the option that changed (a JetStream source's 'partitions').
    const reads = (names: readonly string[], identities: Readonly<Record<string, string>>) => names.map((name) => identities[name] ?? name).join(", ");
    const detail = readBefore && readNow ? ` (they read ${reads(before, readBefore)}; now ${reads(now, readNow)})` : "";
    return [`the sources changed from [${before.join(", ")}] to [${now.join(", ")}]${detail}, so the stored offsets no longer apply`];
  }
  // Checkpoints written before identities were kept have none: only the names are compared.
  if (!readBefore || !readNow) return [];
  return before.flatMap((name) => {
    const old = readBefore[name];
    const current = readNow[name];
    return old !== current ? [`the source ${name} read ${old ?? "(unrecorded)"} and now reads ${current ?? "(unrecorded)"}, so its stored offset no longer applies`] : [];
  });
}
