// The JetStream sink: publishes rows to a subject a stream captures, with a Nats-Msg-Id per row so the stream drops replays.
//
// Two modes:
// - "idempotent" (default): each row is published as it arrives, with Nats-Msg-Id
//   `<queryId>:<row id>`, the deterministic id the sink actor gives it. A replay after a crash
//   publishes the same ids and the stream drops them, but only within the stream's
//   duplicate_window (2 minutes by default): exactly-once needs the replay to come sooner.
//   Append output mode only: update and complete rows have no id a replay reproduces (refused at start()).
// - "transactional": an epoch's rows are prepared at its barrier, written to the checkpoint folder
//   (`sinks/jetstream-<subject>/<epoch>-<attempt>.msgpack`, fsync'd) when the query has one, and published at
//   commitEpoch() with ids `<queryId>:<epoch>:<index>`, so a commit replayed after a crash is dropped
//   as well (again within the duplicate window). Nothing of an epoch is visible before its commit.
//   A restart publishes the prepared epochs the checkpoint committed and deletes the others.
//
// @example
//   df.writeStream.format("jetstream").option("subject", "results.counts").option("mode", "transactional").start()
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { pack } from "msgpackr";
import type { JetStreamAccess } from "../../actors/jetstream.ts";
import type { Transport } from "../../actors/transport.ts";
import { ConfigError, RecordError, RillError, TransportError } from "../../core/errors.ts";
import { faultPoint } from "../../core/fault-points.ts";
import type { Row } from "../../core/types.ts";
import { NATS_ENCODINGS, subjectProblem, type NatsEncoding } from "../nats-options.ts";
import { ConnectorOptions, ENGINE_SINK_OPTIONS } from "../options.ts";
import { preparedBy, type PreparedBy } from "./prepared-epochs.ts";
import { PreparedFolder } from "./prepared-folder.ts";
import type { SinkRequest } from "./request.ts";
import type { SinkContext, SinkProvider, SinkWriter } from "./sink.ts";
import { jsonWithLongs } from "../../core/long.ts";

const OPTIONS = ["subject", "mode", "encoding", ...ENGINE_SINK_OPTIONS];

export type JetStreamSinkMode = "idempotent" | "transactional";
const MODES: readonly JetStreamSinkMode[] = ["idempotent", "transactional"];

/** Publishes awaiting their PubAck at most: past it, the writer waits for the acks, which slows the query to the stream's pace. */
export const MAX_UNACKED_PUBLISHES = 1000;

export class JetStreamSinkProvider implements SinkProvider {
  readonly format = "jetstream";
  readonly guarantee: "idempotent" | "transactional";
  readonly description: string;
  private readonly subject: string;
  private readonly mode: JetStreamSinkMode;
  private readonly encoding: NatsEncoding;

  constructor(private readonly request: SinkRequest) {
    const options = new ConnectorOptions("the jetstream sink", request.options, OPTIONS);
    this.subject = options.requiredString("subject", "the subject to publish rows to, captured by a JetStream stream, e.g. 'results.counts'");
    const problem = subjectProblem(this.subject, false);
    if (problem) throw options.invalid("subject", this.subject, `a valid NATS subject to publish to (${problem}), e.g. 'results.counts'`);
    this.mode = options.choice("mode", MODES, "idempotent");
    this.encoding = options.choice("encoding", NATS_ENCODINGS, "json");
    if (!request.transport.jetstream) throw jetstreamMissing(request.transport);
    this.guarantee = this.mode;
    const when = this.mode === "idempotent" ? "publishes each row at once" : "publishes each epoch at its commit (prepared durably in the checkpoint folder)";
    this.description = `JetStreamSink[${this.subject}, ${this.mode}, ${this.encoding}, ${request.transport.address}]: ${when} with a Nats-Msg-Id; exactly-once when a replay comes within the stream's duplicate_window (2 minutes by default)`;
  }

  createWriter(): SinkWriter {
    const publisher = new Publisher(this.request.transport, this.subject, this.encoding);
    return this.mode === "idempotent" ? new IdempotentWriter(publisher) : new TransactionalWriter(publisher, this.subject);
  }
}

function jetstreamMissing(transport: Transport): ConfigError {
  return new ConfigError(`format('jetstream') needs a NATS transport with JetStream, but the query runs on the ${transport.kind} transport. Configure NATS (rill.nats.url, or leave rill.transport unset with nats-server installed).`);
}

/** Publishes rows with msgIds, keeping at most MAX_UNACKED_PUBLISHES acks outstanding; flush() waits for the rest. */
class Publisher {
  private access: JetStreamAccess | undefined;
  private readonly encode: (row: Row) => Uint8Array;
  private unacked = 0;
  private drained: (() => void) | undefined;
  private failure: RillError | undefined;
  /** The failure was thrown to the writer's caller once: close() does not throw it again (a rollback stops a failed run). */
  private reported = false;
  /** Publishes the stream dropped as duplicates (a replay); for tests and logs. */
  duplicates = 0;

  constructor(private readonly transport: Transport, readonly subject: string, encoding: NatsEncoding) {
    const textEncoder = new TextEncoder();
    // Standalone pack() writes plain msgpack maps, which any msgpack decoder reads.
    this.encode = encoding === "json" ? (row) => textEncoder.encode(jsonWithLongs(row)) : (row) => pack(row);
  }

  /** Checks that a stream captures the subject, and returns that stream's name. */
  async open(): Promise<string> {
    if (!this.transport.jetstream) throw jetstreamMissing(this.transport);
    this.access = this.transport.jetstream();
    const stream = await this.access.findStream(this.subject);
    if (stream === undefined) {
      throw new ConfigError(`Option 'subject' of the jetstream sink is '${this.subject}', but no JetStream stream on ${this.transport.address} captures it. Create one whose subjects include it (e.g. 'nats stream add RESULTS --subjects "${this.subject}"') or publish to a subject a stream captures.`);
    }
    return stream;
  }

  /** Publishes rows[i] with msgId msgIds(i); waits for acks whenever MAX_UNACKED_PUBLISHES are outstanding. */
  async publish(rows: readonly Row[], msgId: ((index: number) => string) | undefined): Promise<void> {
    const access = this.access;
    if (!access) throw new RillError("SINK_NOT_OPEN", "internal", `The jetstream sink for '${this.subject}' published before open().`);
    for (let index = 0; index < rows.length; index++) {
      this.throwFailure();
      if (this.unacked >= MAX_UNACKED_PUBLISHES) await this.flush();
      let payload: Uint8Array;
      try {
        payload = this.encode(rows[index] as Row);
      } catch (error) {
        throw new RecordError(`Cannot encode row ${index} of the batch for '${this.subject}': ${(error as Error).message}. Rows must hold JSON-encodable values.`, { cause: error });
      }
      this.unacked++;
      access.publish(this.subject, payload, msgId === undefined ? {} : { msgId: msgId(index) }).then(this.acked, this.rejected);
    }
    this.throwFailure();
  }

  /** Resolves when every publish so far is acked; rejects with the first failure. */
  async flush(): Promise<void> {
    if (this.unacked > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.throwFailure();
  }

  private readonly acked = (ack: { duplicate: boolean }): void => {
    if (ack.duplicate) this.duplicates++;
    this.settle();
  };

  private readonly rejected = (error: unknown): void => {
    // The first failure fails the query at the next publish or flush; later ones repeat it.
    this.failure ??= error instanceof RillError ? error : new TransportError(`Publishing to '${this.subject}' failed: ${String(error)}`, { cause: error });
    this.settle();
  };

  private settle(): void {
    this.unacked--;
    if (this.unacked > 0) return;
    const drained = this.drained;
    this.drained = undefined;
    drained?.();
  }

  /** Waits for the acks still out (a publish the server never answers times out); throws only a failure not reported yet. */
  async close(): Promise<void> {
    if (this.unacked > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    if (!this.reported) this.throwFailure();
  }

  private throwFailure(): void {
    if (!this.failure) return;
    this.reported = true;
    throw this.failure;
  }
}

/** Publishes rows as they arrive; the sink actor's row ids make each Nats-Msg-Id the same on a replay. */
class IdempotentWriter implements SinkWriter {
  readonly needsRowIds = true;
  private queryId = "";

  constructor(private readonly publisher: Publisher) {}

  async open(context: SinkContext): Promise<void> {
    if (context.outputMode !== "append") throw idempotentRefused(context.outputMode);
    if (!context.orderReproducible) throw idempotentAfterShuffleRefused();
    this.queryId = context.queryId;
    await this.publisher.open();
  }

  write(rows: readonly Row[], _keys?: readonly unknown[], ids?: readonly string[]): Promise<void> {
    const queryId = this.queryId;
    // Without ids (a sink actor that does not give them) rows go out without a msgId: at-least-once.
    return this.publisher.publish(rows, ids === undefined ? undefined : (index) => `${queryId}:${ids[index] ?? index}`);
  }

  /** The epoch's rows are all acked before its barrier passes: nothing of it is in flight at a checkpoint. */
  endEpoch(): Promise<void> {
    return this.publisher.flush();
  }

  close(): Promise<void> {
    return this.publisher.close();
  }
}

/**
 * An update (or complete) row is published the moment a turn produces it, and which values a key passes through
 * depends on how the epoch was cut into turns. A replay after a crash cuts it differently: an id of the form
 * key.epoch.n would name another value (the stream drops it as a duplicate), and an id from the row's content would
 * publish a value after a later one of the run that crashed. Neither is exact, so the mode is refused.
 */
function idempotentRefused(outputMode: string): ConfigError {
  return new ConfigError(`Option 'mode' of the jetstream sink is 'idempotent' (the default), which is exactly-once only in append output mode; the query uses ${outputMode} mode, whose rows a replay after a crash does not reproduce one for one. Set .option("mode", "transactional"): it publishes each epoch's last row per key at the epoch's commit, from what it prepared durably.`);
}

/**
 * After a shuffle (groupBy, dropDuplicates, group state, a union's merge) a sender interleaves rows from several
 * upstream actors in arrival order, which a replay does not reproduce: the n-th row of a sender would name another row.
 */
function idempotentAfterShuffleRefused(): ConfigError {
  return new ConfigError(`Option 'mode' of the jetstream sink is 'idempotent' (the default), which is exactly-once only when rows reach the sink in an order a replay reproduces; this query shuffles or merges rows before the sink (a groupBy, dropDuplicates, groupByKey or union), so a replay after a crash would give row ids to other rows. Set .option("mode", "transactional"): it publishes each epoch's rows at the epoch's commit, from what it prepared durably.`);
}

/** The file that records the last epoch this sink published whole: `{ "epoch": N }`. */
const PUBLISHED_FILE = "_published.json";

/**
 * Holds each epoch's rows until its commit (durably, in the checkpoint folder), then publishes them with ids the epoch
 * determines. Each attempt prepares its own file (`<epoch>-<attempt>.msgpack`, holding the attempt and the rows), so a
 * stalled attempt that resumes and prepares an epoch again writes beside the committing attempt's file, never over it;
 * after an epoch is published whole, `_published.json` records it, and a preparation of it found later is removed
 * unpublished. A restart finishes the committed epochs that record lacks from the committing attempt's preparation
 * (src/connectors/sinks/prepared-epochs.ts, as the file sink does).
 */
class TransactionalWriter implements SinkWriter {
  private readonly prepared = new Map<number, readonly Row[]>();
  private queryId = "";
  private folder: PreparedFolder | undefined;
  private attempt: PreparedBy = { runId: "", number: 0, resumedAfter: -1, openedAt: 0 };

  constructor(private readonly publisher: Publisher, private readonly subject: string) {}

  async open(context: SinkContext): Promise<void> {
    this.queryId = context.queryId;
    this.attempt = preparedBy(context.attempt, context.lastCommittedEpoch, Date.now(), randomUUID);
    await this.publisher.open();
    if (!context.checkpointLocation) return;
    this.folder = await PreparedFolder.open(join(context.checkpointLocation, "sinks", `jetstream-${this.subject.replace(/[^A-Za-z0-9_-]/g, "_")}`), PUBLISHED_FILE);
    await this.folder.recover(context.lastCommittedEpoch, this.attempt.sequence, async (epoch, rows) => {
      this.prepared.set(epoch, rows);
      faultPoint("sink-recover");
      await this.commitEpoch(epoch);
    });
  }

  async endEpoch(epoch: number, rows: readonly Row[]): Promise<void> {
    this.prepared.set(epoch, rows);
    await this.folder?.prepare(epoch, this.attempt, rows);
  }

  /**
   * Publishes the epoch and waits for every ack; a second commit of the same epoch finds nothing left to publish. Then
   * records the epoch as published and removes its preparations, every attempt's.
   */
  async commitEpoch(epoch: number): Promise<void> {
    const rows = this.prepared.get(epoch);
    if (rows === undefined) return;
    const prefix = `${this.queryId}:${epoch}:`;
    await this.publisher.publish(rows, (index) => `${prefix}${index}`);
    faultPoint("jetstream-sink-commit");
    await this.publisher.flush();
    this.prepared.delete(epoch);
    await this.folder?.finished(epoch, () => faultPoint("jetstream-sink-published"));
  }

  /** Epochs prepared but not committed are dropped: a restart replays them from the sources. */
  async close(): Promise<void> {
    this.prepared.clear();
    await this.publisher.close();
  }
}
