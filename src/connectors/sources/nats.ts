// The core NATS subject source: each message one record (JSON or msgpack), checked against the schema; at-most-once.
//
// Core NATS keeps no messages: what arrives while the query is down is gone, hence at-most-once.
// For replay, read a JetStream stream instead.
//
// @example
//   session.readStream.format("nats").schema(z.object({ device: z.string(), x: z.number() })).option("subject", "sensors.>").load()
import { unpack } from "msgpackr";
import { nowMs } from "../../core/clock.ts";
import { ConfigError } from "../../core/errors.ts";
import type { PositionalRow, Row, Schema } from "../../core/types.ts";
import type { Subscription, Transport } from "../../actors/transport.ts";
import { NATS_ENCODINGS, subjectProblem, type NatsEncoding } from "../nats-options.ts";
import { ConnectorOptions } from "../options.ts";
import type { BinaryRecord } from "../../core/binary-record.ts";
import { binaryRaw, decodeUtf8, positionalRecordChecker, recordChecker, requireSchema, type RecordCheck } from "./decode.ts";
import { ReadyQueue } from "./ready-queue.ts";
import type { PositionalSourceReader, ReadyBatchOf, SourceContext, SourceProvider, SourceReader, SourceReaderOf } from "./source.ts";
import type { SourceRequest } from "./request.ts";
import { parseJsonWithLongs } from "../../core/long.ts";

const OPTIONS = ["subject", "encoding", "queue", "maxBufferedMessages"];

/** Messages received and not yet taken by the query, past which the source sends the next ones to the dead letters. */
export const DEFAULT_MAX_BUFFERED_MESSAGES = 65_536;

export class NatsSourceProvider implements SourceProvider {
  readonly format = "nats";
  readonly numPartitions = 1;
  readonly guarantee = "at-most-once" as const;
  readonly schema: Schema;
  readonly description: string;
  private readonly subject: string;
  private readonly encoding: NatsEncoding;
  private readonly check: RecordCheck<Row>;
  private readonly positionalCheck: RecordCheck<PositionalRow>;
  private readonly maxBuffered: number;

  constructor(private readonly request: SourceRequest) {
    const options = new ConnectorOptions("the nats source", request.options, OPTIONS);
    this.subject = options.requiredString("subject", "a NATS subject, wildcards allowed, e.g. 'sensors.>'");
    const problem = subjectProblem(this.subject, true);
    if (problem) throw options.invalid("subject", this.subject, `a valid NATS subject (${problem}), e.g. 'sensors.>'`);
    this.encoding = options.choice("encoding", NATS_ENCODINGS, "json");
    if (options.has("queue")) {
      throw new ConfigError(`Option 'queue' of the nats source is '${options.string("queue")}', but queue groups are not supported yet: the transport subscribes without one. Remove the option; one partition reads the subject.`);
    }
    this.maxBuffered = options.number("maxBufferedMessages", DEFAULT_MAX_BUFFERED_MESSAGES, { min: 1, integer: true });
    this.schema = requireSchema("nats", request.schema, "a NATS subject");
    this.check = recordChecker(this.schema, request.validate);
    this.positionalCheck = positionalRecordChecker(this.schema, request.validate);
    this.description = `NatsStream[${this.subject}, ${this.encoding}, ${request.transport.address}]`;
  }

  createReader(_partition: number): SourceReader {
    return new NatsReader(this.request.transport, this.subject, this.encoding, this.check, this.maxBuffered);
  }

  /** Rows by position: each decoded message is read by the schema's names once into an array (positionalRecordChecker). */
  createPositionalReader(_partition: number): PositionalSourceReader {
    return new NatsReader(this.request.transport, this.subject, this.encoding, this.positionalCheck, this.maxBuffered);
  }
}


class NatsReader<R> implements SourceReaderOf<R> {
  private readonly ready = new ReadyQueue<R>();
  private subscription: Subscription | undefined;
  /** Rows decoded since the last microtask: pushed to the queue as one chunk, with one notice. */
  private pending: R[] = [];
  private pendingSince = 0;

  constructor(
    private readonly transport: Transport,
    private readonly subject: string,
    private readonly encoding: NatsEncoding,
    private readonly check: RecordCheck<R>,
    /**
     * Core NATS cannot slow its publishers, and a client that stops reading its socket is cut off by the server (with
     * every actor channel on the connection). So past this many messages not yet taken by the query, the next ones go
     * to the dead letters, with their payload and the reason: counted and kept, never dropped silently.
     */
    private readonly maxBuffered: number,
  ) {}

  async open(context: SourceContext): Promise<void> {
    this.subscription = this.transport.subscribe(this.subject, (payload, subject) => this.receive(context, payload, subject));
  }

  async prepare(): Promise<void> {
    this.flushPending();
  }

  readyCount(): number {
    return this.ready.size + this.pending.length;
  }

  poll(max: number): ReadyBatchOf<R> | undefined {
    this.flushPending();
    return this.ready.poll(max);
  }

  async close(): Promise<void> {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  private receive(context: SourceContext, payload: Uint8Array, subject: string): void {
    if (this.readyCount() >= this.maxBuffered) {
      context.deadLetter(this.rawOf(payload), `message on '${subject}' not read: the query is ${this.readyCount()} messages behind the subject (option maxBufferedMessages = ${this.maxBuffered}); core NATS cannot slow its publishers`);
      return;
    }
    const text = this.encoding === "json" ? decodeUtf8(payload) : undefined;
    if (this.encoding === "json" && text === undefined) {
      context.deadLetter(binaryRaw(payload), `message on '${subject}' is invalid UTF-8`);
      return;
    }
    let value: unknown;
    try {
      value = text !== undefined ? parseJsonWithLongs(text) : unpack(payload);
    } catch (error) {
      context.deadLetter(this.rawOf(payload), `message on '${subject}' is not valid ${this.encoding} (${(error as Error).message})`);
      return;
    }
    const checked = this.check(value);
    if ("error" in checked) {
      context.deadLetter(text ?? binaryRaw(payload, value), `message on '${subject}' fails the schema: ${checked.error}`);
      return;
    }
    if (this.pending.length === 0) {
      this.pendingSince = nowMs();
      queueMicrotask(() => {
        this.flushPending();
        context.notify();
      });
    }
    this.pending.push(checked.row);
  }

  private flushPending(): void {
    if (this.pending.length === 0) return;
    this.ready.push(this.pending, this.pendingSince);
    this.pending = [];
  }

  /** A payload for the dead-letter output: its text for JSON, base64 for msgpack (binary). */
  private rawOf(payload: Uint8Array): string | BinaryRecord {
    return this.encoding === "json" ? decodeUtf8(payload) ?? binaryRaw(payload) : binaryRaw(payload);
  }
}
