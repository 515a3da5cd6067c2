// The LMDB adapter: the one module that imports lmdb. Thin: reads facts, writes in single transactions.
import { existsSync, mkdirSync } from "node:fs";
import { statfs } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { open, type RootDatabase } from "lmdb";
import { CheckpointError, CheckpointWriteError } from "../core/errors.ts";
import { faultPoint } from "../core/fault-points.ts";
import { scanInChild, verifyHeader } from "./checkpoint-verify.ts";
import { FENCE_KEY, decideBegin, decideChangeWrite, nextFence, type AttemptId, type FenceDecision } from "./fence.ts";
import { META_KEY, commitKey, deltaKey, epochRange, prefixRange, stateKey, type LmdbKey } from "./layout.ts";
import type { EpochCommit, QueryMeta, StateChange } from "./types.ts";
import { STATE_FORMAT, damageOf, decodeStateValue, encodeStateValue } from "./value-codec.ts";

/**
 * Where a worker's epoch changes go besides its local LMDB (src/state/replication): awaited before the write settles,
 * so the actor acks its barrier only once the changes are durable there too.
 */
export interface EpochReplica {
  upload(epoch: number, writer: string, changes: ReadonlyArray<{ readonly stateId: string; readonly keyGroup: number; readonly key: string; readonly bytes: Uint8Array | null }>): Promise<void>;
}

/**
 * Options every process opening a checkpoint environment passes alike (the two sync modes read LMDB's meta pages differently, so
 * processes sharing an environment must agree). See `CheckpointStorage.open` for why overlappingSync is off.
 */
const ENVIRONMENT_OPTIONS = { compression: false, noSubdir: false, overlappingSync: false } as const;

export class CheckpointStorage {
  private replica: EpochReplica | undefined;

  private constructor(private readonly db: RootDatabase<unknown, LmdbKey>, readonly path: string) {}

  /** Opens (or creates) the environment at `path`; a damaged one is refused with a CheckpointError before lmdb maps it. */
  static open(path: string): CheckpointStorage {
    refuseLostData(path);
    const header = verifyHeader(path);
    if (header.kind === "short") scanInChild(path, import.meta.resolve("lmdb"), header.reason);
    try {
      mkdirSync(path, { recursive: true });
      // lmdb-js takes a path with an extension ("stream.checkpoint-1") for a file name unless told it is a folder.
      // int64AsType "auto": a state value holding a long past 2^53 (a bigint) reads back exact (src/core/long.ts).
      // Without event-turn batching: with it, lmdb-js starts each batch with a write whose promise nobody can handle,
      // so a failed commit (a full disk) ends the process with an unhandled rejection. Rill's writes are explicit
      // transactions, which lmdb-js still groups while a commit runs.
      // overlappingSync off (lmdb-js 3 turns it on by default on Linux): with it, a commit syncs under a second shared
      // mutex, and a process that takes that mutex from one SIGKILLed mid-sync while it still holds its own write
      // transaction marks its environment fatal (MDB_PANIC for every later write), although the data is intact.
      // Workers and the driver share this environment, so one killed process poisoned the others
      // (test/state/lmdb-shared-kill.test.ts). Without it, a commit also resolves only once it is on disk.
      const db = open<unknown, LmdbKey>({ path, ...ENVIRONMENT_OPTIONS, encoder: { int64AsType: "auto" }, eventTurnBatching: false });
      const storage = new CheckpointStorage(db, path);
      // lmdb reads lazily: one read now makes a damaged tree fail here, where the error can name the location.
      storage.readMeta();
      return storage;
    } catch (error) {
      if (error instanceof CheckpointError) throw error;
      throw new CheckpointError(`Cannot open the checkpoint location '${path}': ${String(error)}`, { cause: error });
    }
  }

  /**
   * Ends the read snapshot this process holds, so the next read sees what other processes committed since (workers
   * share one environment with the driver, whose coordinator commits). lmdb-js otherwise renews it once per event turn.
   */
  refresh(): void {
    this.db.resetReadTxn();
  }

  readMeta(): QueryMeta | undefined {
    return this.read(() => this.db.get(META_KEY) as QueryMeta | undefined);
  }

  async writeMeta(meta: QueryMeta): Promise<void> {
    await this.write("the query's metadata", () => this.db.put(META_KEY, meta));
  }

  /** Committed epochs, oldest first. */
  commits(): EpochCommit[] {
    return this.read(() => {
      const commits: EpochCommit[] = [];
      for (const { value } of this.db.getRange(epochRange("commit", 0))) commits.push(this.verified(value as EpochCommit));
      return commits;
    });
  }

  lastCommit(): EpochCommit | undefined {
    return this.read(() => {
      // Reverse ranges exclude `end`, so the bound sits below epoch 0.
      for (const { value } of this.db.getRange({ start: ["commit", Number.MAX_SAFE_INTEGER], end: ["commit", -1], reverse: true, limit: 1 })) return this.verified(value as EpochCommit);
      return undefined;
    });
  }

  /** Epochs that have state changes written but not folded in (not committed, or a crash came between). */
  pendingEpochs(): number[] {
    return this.read(() => {
      const epochs = new Set<number>();
      for (const key of this.db.getKeys(prefixRange(["delta"]))) epochs.add((key as LmdbKey)[1] as number);
      return [...epochs].sort((a, b) => a - b);
    });
  }

  /**
   * One actor's changes of one epoch, in one transaction: all of them or none. Each value carries its CRC-32. With a
   * replica (a worker whose state must outlive its machine), the write settles once the replica holds them too.
   * With `attempt`, the write is refused (a CheckpointError, nothing written) unless that attempt holds the
   * checkpoint's fence (src/state/fence.ts): a writer of a rolled-back attempt that resumes lands nothing.
   */
  async writeChanges(epoch: number, changes: readonly StateChange[], writer?: string, attempt?: AttemptId): Promise<void> {
    if (changes.length === 0) return;
    // Encoded before the transaction: a value msgpack cannot encode fails here, and the transaction stays short.
    const values = changes.map((change) => (change.value === null ? null : encodeStateValue(change.value)));
    faultPoint("delta-write");
    await this.write(`the state changes of epoch ${epoch}`, () => this.db.transaction(() => {
      this.checkFence(decideChangeWrite(this.readFence(), attempt, epoch));
      changes.forEach((change, index) => this.db.put(deltaKey(epoch, change.stateId, change.keyGroup, change.key), values[index]));
    }));
    if (!this.replica) return;
    if (writer === undefined) throw new CheckpointError(`The state changes of epoch ${epoch} in '${this.path}' name no writer, so they cannot be replicated.`);
    await this.replica.upload(epoch, writer, changes.map((change, index) => ({ stateId: change.stateId, keyGroup: change.keyGroup, key: change.key, bytes: values[index] ?? null })));
  }

  /** From now on every actor's epoch changes are uploaded to `replica` before their write settles. */
  replicateTo(replica: EpochReplica | undefined): void {
    this.replica = replica;
  }

  /**
   * Replaces the working state with `entries` (checksummed bytes, as a replica holds them) in one transaction: every
   * state row and pending change goes first. A worker does this before it hosts actors restored from a replica.
   */
  async installState(entries: ReadonlyArray<{ readonly stateId: string; readonly keyGroup: number; readonly key: string; readonly bytes: Uint8Array }>): Promise<void> {
    await this.write("the state restored from the replica", () => this.db.transaction(() => {
      for (const prefix of [["state"], ["delta"]]) {
        // Read the whole range first: removing entries under an open cursor makes LMDB skip some of them.
        const keys = [...this.db.getKeys(prefixRange(prefix))] as LmdbKey[];
        for (const key of keys) this.db.remove(key);
      }
      for (const entry of entries) this.db.put(stateKey(entry.stateId, entry.keyGroup, entry.key), entry.bytes);
    }));
  }

  /**
   * Rewrites a checkpoint of a Rill before state checksums (meta without `stateFormat`, plain values) in the current
   * format, in one transaction: every state value and pending change gets its checksum, and the meta records the format.
   * Returns how many values were rewritten.
   */
  async upgradeStateFormat(meta: QueryMeta): Promise<number> {
    let rewritten = 0;
    await this.write("the state values upgraded to checksummed values", () => this.db.transaction(() => {
      for (const prefix of [["state"], ["delta"]]) {
        const entries = [...this.db.getRange(prefixRange(prefix))];
        for (const { key, value } of entries) {
          if (value === null) continue;
          this.db.put(key as LmdbKey, encodeStateValue(value));
          rewritten++;
        }
      }
      this.db.put(META_KEY, { ...meta, stateFormat: STATE_FORMAT });
    }));
    return rewritten;
  }

  /**
   * Commits an epoch in one transaction: its record, its state changes folded into the state, the changes removed,
   * and commit records older than the last `keep` pruned (as Spark keeps its last 100 batches).
   */
  async commit(commit: EpochCommit, keep = 100, attempt?: AttemptId): Promise<void> {
    await this.write(`the commit of epoch ${commit.epoch}`, () => this.db.transaction(() => {
      this.checkFence(decideChangeWrite(this.readFence(), attempt, commit.epoch));
      this.foldDeltas(commit.epoch);
      this.db.put(commitKey(commit.epoch), { ...commit, checksum: commitChecksum(commit) });
      for (const key of this.db.getKeys({ start: ["commit", 0], end: ["commit", commit.epoch - keep + 1] })) this.db.remove(key as LmdbKey);
    }));
  }

  /**
   * Begins an attempt in one transaction: the checkpoint's fence names it from now on (src/state/fence.ts), and the
   * changes of epochs after `lastCommittedEpoch` (never committed, some perhaps of a writer given up) are removed.
   * `previous` is the attempt the same run began last; when another one holds the fence, another driver took the
   * checkpoint over and this attempt is refused (a CheckpointError). Resolves to the attempt's sequence number on the
   * checkpoint (`nextFence`): attempts that begin later, in any process, have higher ones.
   */
  async beginAttempt(attempt: AttemptId, lastCommittedEpoch: number, previous: AttemptId | undefined): Promise<number> {
    let sequence = 0;
    await this.write(`the beginning of an attempt`, () => this.db.transaction(() => {
      const stored = this.readFence();
      this.checkFence(decideBegin(stored, previous, attempt));
      const fence = nextFence(stored, attempt);
      this.db.put(FENCE_KEY, fence);
      sequence = fence.sequence;
      // Read the whole range first: removing entries under an open cursor makes LMDB skip some of them.
      const keys = [...this.db.getKeys({ start: ["delta", lastCommittedEpoch + 1], end: ["delta", Number.MAX_SAFE_INTEGER] })] as LmdbKey[];
      for (const key of keys) this.db.remove(key);
    }));
    return sequence;
  }

  /** Removes the state changes of epochs after `epoch`: they were never committed. */
  async discardAfter(epoch: number): Promise<void> {
    await this.write(`the removal of epochs after ${epoch}`, () => this.db.transaction(() => {
      // Read the whole range first: removing entries under an open cursor makes LMDB skip some of them.
      const keys = [...this.db.getKeys({ start: ["delta", epoch + 1], end: ["delta", Number.MAX_SAFE_INTEGER] })] as LmdbKey[];
      for (const key of keys) this.db.remove(key);
    }));
  }

  /** State of one operator as of the last committed epoch, for the key groups a partition owns. */
  *readState(stateId: string, keyGroups: (keyGroup: number) => boolean): Iterable<[string, unknown]> {
    try {
      for (const { key, value } of this.db.getRange(prefixRange(["state", stateId]))) {
        const parts = key as LmdbKey;
        if (keyGroups(parts[2] as number)) yield [parts[3] as string, decodeStateValue(this.checked(parts, value))];
      }
    } catch (error) {
      throw undecodable(this.path, storageFailure(this.path, error));
    }
  }

  /**
   * Removes committed entries of one state id in one transaction (dead letters once their publish was acknowledged,
   * src/deadletters). Not for operator state, which changes only through an epoch's fold.
   */
  async removeState(stateId: string, keyGroup: number, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.write(`the removal of ${keys.length} entries of ${stateId}`, () => this.db.transaction(() => {
      for (const key of keys) this.db.remove(stateKey(stateId, keyGroup, key));
    }));
  }

  /** Counts of state rows per operator, for progress and `rill` inspection. */
  stateRows(stateId: string): number {
    return this.read(() => {
      let count = 0;
      for (const _key of this.db.getKeys(prefixRange(["state", stateId]))) count++;
      return count;
    });
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** Runs one write; a failed commit becomes a CheckpointWriteError naming the location, the cause and the free space. */
  private async write(what: string, operation: () => Promise<unknown>): Promise<void> {
    try {
      await operation();
    } catch (error) {
      const failure = storageFailure(this.path, error);
      if (failure instanceof CheckpointError) throw failure;
      throw new CheckpointWriteError(`Cannot write ${what} to the checkpoint location '${this.path}': ${await commitCause(error)}${await freeSpace(this.path)}. Make room there: the query rolls back to its last committed epoch and retries until the write succeeds.`, { cause: error });
    }
  }

  /**
   * Inside a write transaction, before its first put: lmdb-js commits what a transaction callback put before it
   * threw, so a refusal must come first to leave nothing written.
   */
  private checkFence(decision: FenceDecision): void {
    if (decision.kind === "refuse") throw new CheckpointError(`The checkpoint at '${this.path}' refused a write: ${decision.reason}.`);
  }

  /** Stored state bytes whose checksum holds; otherwise a CheckpointError naming the file, the state and the key. */
  private checked(key: LmdbKey, stored: unknown): Uint8Array {
    const damage = damageOf(stored);
    if (damage === undefined) return stored as Uint8Array;
    const where = key[0] === "delta" ? `the change of epoch ${String(key[1])} to state ${String(key[2])}, key '${String(key[4])}'` : `state ${String(key[1])}, key '${String(key[3])}'`;
    throw new CheckpointError(`The checkpoint file '${join(this.path, "data.mdb")}' is damaged: ${where} (key group ${String(key[0] === "delta" ? key[3] : key[2])}) holds ${damage}. Restore the checkpoint location from a backup, or start the query with a new checkpoint location (its state then starts empty).`);
  }

  /** A commit record whose checksum does not match was damaged on disk: its offsets cannot be trusted. */
  private verified(commit: EpochCommit): EpochCommit {
    if (commit.checksum === undefined || commit.checksum === commitChecksum(commit)) return commit;
    throw new CheckpointError(`The checkpoint file '${join(this.path, "data.mdb")}' is damaged: the commit record of epoch ${String(commit.epoch)} fails its checksum, so its source offsets cannot be trusted. Restore the checkpoint location from a backup, or start the query with a new checkpoint location (its state then starts empty).`);
  }

  private read<T>(operation: () => T): T {
    try {
      return operation();
    } catch (error) {
      throw undecodable(this.path, storageFailure(this.path, error));
    }
  }

  /** The attempt fence, read inside a write transaction; a record that does not decode is damage, not a write failure. */
  private readFence(): unknown {
    try {
      return this.db.get(FENCE_KEY);
    } catch (error) {
      throw undecodable(this.path, storageFailure(this.path, error));
    }
  }

  /**
   * Moves one epoch's changes into the state. The range is read whole before anything is written: removing entries
   * under an open cursor makes LMDB skip some of them. A change left behind aborts the commit's transaction.
   */
  private foldDeltas(epoch: number): void {
    const range = prefixRange(["delta", epoch]);
    const changes = [...this.db.getRange(range)];
    for (const { key, value } of changes) {
      const parts = key as LmdbKey;
      const target = stateKey(parts[2] as string, parts[3] as number, parts[4] as string);
      // The bytes move as they are, checked first: a change damaged on disk never becomes committed state.
      if (value === null) this.db.remove(target);
      else this.db.put(target, this.checked(parts, value));
      this.db.remove(parts);
      faultPoint("fold");
    }
    for (const _left of this.db.getKeys({ ...range, limit: 1 })) {
      throw new CheckpointError(`The fold of epoch ${epoch} in '${this.path}' left a state change behind; the commit is aborted.`);
    }
  }
}

/**
 * A location where LMDB's lock file, or a sink's prepared epochs, survive but the data file is gone lost its state
 * and commits: opening it would silently start a new query with empty state. That is an error, never a fresh start.
 */
function refuseLostData(path: string): void {
  if (existsSync(join(path, "data.mdb"))) return;
  const left = ["lock.mdb", "sinks"].filter((name) => existsSync(join(path, name)));
  if (left.length === 0) return;
  throw new CheckpointError(`The checkpoint location '${path}' has ${left.join(" and ")} but no data.mdb: its state and committed epochs are gone. Restore data.mdb from a backup, or start the query with a new checkpoint location (its state then starts empty).`);
}

/**
 * A read of the checkpoint's records (meta, commits, the attempt fence) that threw something other than LMDB's codes:
 * a record whose bytes no longer decode (msgpack's "Data read, but end of buffer not reached"), damage like the rest.
 */
function undecodable(path: string, error: unknown): unknown {
  if (error instanceof CheckpointError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CheckpointError(`The checkpoint file '${join(path, "data.mdb")}' is damaged: a record does not decode (${message.split("\n")[0]}). Restore the checkpoint location from a backup, or start the query with a new checkpoint location (its state then starts empty).`, { cause: error });
}

/** LMDB's own codes (MDB_PAGE_NOTFOUND, MDB_CORRUPTED, ...) mean a damaged file: the error names it and says what to do. */
export function storageFailure(path: string, error: unknown): unknown {
  if (error instanceof CheckpointError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (!/MDB_(PAGE_NOTFOUND|CORRUPTED|PANIC|INVALID|VERSION_MISMATCH|BAD_TXN|INCOMPATIBLE)/.test(message)) return error;
  return new CheckpointError(`The checkpoint file '${join(path, "data.mdb")}' is damaged (${message.split("\n")[0]}). Restore the checkpoint location from a backup, or start the query with a new checkpoint location (its state then starts empty).`, { cause: error });
}

/**
 * lmdb-js rejects a failed commit with "Commit failed (see commitError for details)" and puts the real error in a
 * second promise, `commitError`, which rejects too: it gets a handler here (or it would end the process) and gives
 * the cause. It is settled by the time the commit's own rejection arrives, so one macrotask is enough to read it.
 */
async function commitCause(error: unknown): Promise<string> {
  const message = error instanceof Error ? error.message : String(error);
  const commitError: unknown = error instanceof Error && "commitError" in error ? error.commitError : undefined;
  if (!(commitError instanceof Promise)) return message;
  const settled = commitError.then(() => message, (cause: unknown) => (cause instanceof Error ? cause.message : String(cause)));
  return await Promise.race([settled, new Promise<string>((resolve) => setImmediate(() => resolve(message)))]);
}

/** " (N bytes free on its file system)", or nothing when the file system cannot say. */
async function freeSpace(path: string): Promise<string> {
  try {
    const stats = await statfs(path);
    return ` (${stats.bavail * stats.bsize} bytes free on its file system)`;
  } catch (error) {
    return ` (free space unknown: ${String(error)})`;
  }
}

/**
 * CRC-32 of a commit record's epoch, offsets, time and parameter values, as JSON (the record round-trips through msgpack
 * unchanged). A record without parameters sums as before they existed, so older checkpoints still verify.
 */
function commitChecksum(commit: EpochCommit): number {
  const fields: unknown[] = [commit.epoch, commit.offsets, commit.committedAt];
  if (commit.params !== undefined) fields.push(commit.params);
  return crc32(JSON.stringify(fields));
}
