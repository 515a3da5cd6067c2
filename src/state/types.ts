// What a checkpoint holds, as values: the query's identity, committed epochs, and state changes.

/** One stateful operator as the checkpoint knows it: a restart must find the same ones. */
export interface StatefulOperatorInfo {
  /** Stable id (`aggregate-0`, `sink`): names the operator's state. */
  readonly stateId: string;
  readonly kind: string;
  /** What must not change across a restart: grouping keys, aggregate functions, state schema. */
  readonly signature: string;
  /**
   * The types of the state's keys and values (`keys [sensor: string] values [count: long]`). Absent in checkpoints written
   * before it was kept: those are checked by their signature only.
   */
  readonly stateSchema?: string;
  /**
   * What the state's keys and values are computed from (`keys [k = upper(sensor)] values [total = sum(value)]`). Absent in
   * checkpoints written before it was kept: those are checked by signature and state schema only.
   */
  readonly definition?: string;
}

/** Parameter values as the checkpoint keeps them: the bucket revision they were read at, by name. */
export interface RecordedParams {
  readonly revision: number;
  readonly values: Readonly<Record<string, unknown>>;
}

export interface QueryMeta {
  readonly id: string;
  readonly name: string | null;
  readonly createdAt: string;
  readonly sources: readonly string[];
  /**
   * What each source actor reads, for sources that say (a JetStream partition's filter subject): a restart that reads
   * something else is refused. Absent in checkpoints written before it was kept: those are checked by actor names only.
   */
  readonly sourceIdentities?: Readonly<Record<string, string>>;
  readonly stateful: readonly StatefulOperatorInfo[];
  readonly outputMode: string;
  /** The parameter values the query's first epoch ran with (src/params): a replay of it before any commit uses them. */
  readonly firstParams?: RecordedParams;
  /** How state values are stored (src/state/value-codec.ts): 2 = with a CRC-32 each; absent = plain (upgraded on open). */
  readonly stateFormat?: number;
}

export interface EpochCommit {
  readonly epoch: number;
  /** Source actor name -> the offset after the last row of the epoch. */
  readonly offsets: Readonly<Record<string, unknown>>;
  readonly committedAt: string;
  /** The parameter values of the epoch after this one (src/params): a replay after a crash runs it with them. */
  readonly params?: RecordedParams;
  /** CRC-32 of the rest of the record, written by the storage and checked when read (absent in older checkpoints). */
  readonly checksum?: number;
}

/** A state change: the value, or null when the key was deleted. */
export interface StateChange {
  readonly stateId: string;
  readonly keyGroup: number;
  readonly key: string;
  readonly value: unknown;
}
