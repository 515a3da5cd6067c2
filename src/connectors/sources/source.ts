// The source seam: a reader per partition feeds rows to its source actor, which owns credit and barriers.
//
// Lifecycle: open() once; then prepare()/readyCount()/poll() any number of times; close() at stop.
// close() is not promised after a crash. poll() never waits: it takes rows that are ready now.
import type { OffsetOrder } from "../../core/offsets.ts";
import type { PositionalRow, Row, Schema } from "../../core/types.ts";

export type DeliveryGuarantee = "exactly-once" | "at-least-once" | "at-most-once";

export interface SourceContext {
  readonly partition: number;
  readonly numPartitions: number;
  /** Tells the source actor that rows became ready. */
  notify(): void;
  /** Sends a bad input to the dead-letter output with its reason, and counts it. */
  deadLetter(raw: unknown, reason: string): void;
  /** A static file read with Spark's mode DROPMALFORMED dropped a malformed record, as asked: counted, not dead-lettered. */
  dropMalformed?(reason: string): void;
  /** The largest record that can travel between actors (the broker's payload limit less a frame's header). */
  readonly maxRecordBytes?: number;
}

/** Rows taken in one poll, with the ingest time of the oldest (ms, nowMs() clock). */
export interface ReadyBatchOf<R> {
  readonly rows: R[];
  readonly since: number;
  /** Ingest time of the newest row. */
  readonly until: number;
}

/** Named rows, as most readers poll them. */
export type ReadyBatch = ReadyBatchOf<Row>;

/** What prepare() may read: up to the source's read limit per trigger (maxFilesPerTrigger, maxOffsetsPerTrigger), or everything (trigger once). */
export type ReadLimit = "limited" | "all";

/** What prepare() left unread: `dataLeft` when the read limit held back data that existed at the call. */
export interface Prepared {
  readonly dataLeft: boolean;
}

/** A reader whose poll() gives rows of type R: named rows (SourceReader) or arrays in the schema's order (PositionalSourceReader). */
export interface SourceReaderOf<R> {
  open(context: SourceContext): Promise<void>;
  /**
   * Makes ready everything that exists now (lists new files, computes due rows), within the read limit of one trigger;
   * a barrier follows what this made ready. A source with a read limit says whether it held data back.
   * `readLimit` is "limited" when absent.
   */
  prepare(readLimit?: ReadLimit): Promise<Prepared | void>;
  readyCount(): number;
  poll(max: number): ReadyBatchOf<R> | undefined;
  /**
   * The position right after the last row poll() returned, stored with each epoch (msgpack-serialisable).
   * Absent when the source cannot replay.
   */
  offset?(): unknown;
  /**
   * How two of this source's offsets compare (src/core/offsets.ts): the coordinator refuses to commit an epoch whose
   * acked offset is behind the one before it. Absent: offsets are opaque and not checked.
   */
  readonly offsetOrder?: OffsetOrder;
  /** Called before open() on a restart from a checkpoint: the next poll() starts right after `offset`. */
  seek?(offset: unknown): void;
  /**
   * The barrier is about to leave: hand the dead letters of records before the next unpolled row to the context now,
   * with the offset moved past them, so each letter belongs to the epoch whose offset covers its record. For a reader
   * that decodes ahead of poll() (JetStream); one that dead-letters as it polls needs none.
   */
  releaseDeadLetters?(): void;
  /** The barrier of `epoch` is leaving: every row poll() returned so far belongs to `epoch` or an earlier one. */
  epochEnded?(epoch: number): void;
  /**
   * `epoch` and every earlier one are committed (with a checkpoint, once the commit record is durable; without one,
   * right after epochEnded). A source that must acknowledge what it read (MQTT QoS 1/2) does it here, so a crash
   * before the commit leaves the messages with the broker, which sends them again.
   */
  epochCommitted?(epoch: number): void;
  close(): Promise<void>;
}

export type SourceReader = SourceReaderOf<Row>;

/**
 * A reader that builds each row as an array of the schema's columns in their order, without a named object first
 * (rows by position, src/plan/positional-rows.ts). Offsets, seek, dead letters and every other call are the named
 * reader's: a checkpoint written by either kind restores the other.
 */
export type PositionalSourceReader = SourceReaderOf<PositionalRow>;

/** A configured source: validated at start(), then one reader per partition. */
export interface SourceProvider {
  readonly format: string;
  readonly schema: Schema;
  readonly numPartitions: number;
  readonly guarantee: DeliveryGuarantee;
  /** One line for explain() and logs. */
  readonly description: string;
  createReader(partition: number): SourceReader;
  /**
   * Rows by position: present when this source's readers can build their rows as arrays in the schema's column order
   * without a named object first. The planner then lets the source stage run by position (positional-rows.ts).
   */
  createPositionalReader?(partition: number): PositionalSourceReader;
  /**
   * What a partition reads (a JetStream source's filter subject), kept in a new checkpoint: a restart on it whose
   * partition reads something else is refused at start(), since the stored offset no longer applies. Absent: not checked.
   */
  partitionIdentity?(partition: number): string;
}
