// The JetStream source: reads one stream in sequence order; the stream sequence is the offset, so a restart replays exactly.
//
// Messages are fetched in the background into a bounded buffer (JetStream keeps what is not read
// yet, so a slow query slows the reading, not the memory). prepare() reads the backlog up to the
// stream's end as of the call, so a barrier follows every message published before it was asked for;
// that may exceed the bound, and maxOffsetsPerTrigger is what limits it.
//
// With `partitions` (disjoint filter subjects, as NATS's `{{partition(n,...)}}` subject mapping makes them), each filter
// is a partition: its own source actor, consumer and offset (the sequence of the last message it read).
//
// @example
//   session.readStream.format("jetstream").schema(z.object({ device: z.string(), x: z.number() }))
//     .option("stream", "SENSORS").option("subject", "sensors.>").option("startingOffsets", "earliest").load()
//   // the stream's subjects mapped `sensors.*.>` -> `sensors.{{partition(3,1)}}.{{wildcard(1)}}.>`:
//   ....option("stream", "SENSORS").option("partitions", "sensors.0.>,sensors.1.>,sensors.2.>").load()
import { unpack } from "msgpackr";
import { sequenceOrder } from "../../core/offsets.ts";
import type { JetStreamAccess, JetStreamCount, JetStreamCursor, JetStreamMessage, JetStreamStart } from "../../actors/jetstream.ts";
import type { Transport } from "../../actors/transport.ts";
import { nowMs } from "../../core/clock.ts";
import { ConfigError, RillError, TransportError } from "../../core/errors.ts";
import type { PositionalRow, Row, Schema } from "../../core/types.ts";
import { NATS_ENCODINGS, subjectProblem, type NatsEncoding } from "../nats-options.ts";
import { ConnectorOptions } from "../options.ts";
import type { BinaryRecord } from "../../core/binary-record.ts";
import { binaryRaw, decodeUtf8, positionalRecordChecker, recordChecker, requireSchema, type RecordCheck } from "./decode.ts";
import { afterLeaderCheck, drainState, lowerTarget, MAX_LEADER_CHECKS, raiseShortTarget, type DrainCount } from "./jetstream-drain.ts";
import { ReadyQueue } from "./ready-queue.ts";
import type { SourceRequest } from "./request.ts";
import type { PositionalSourceReader, Prepared, ReadLimit, ReadyBatchOf, SourceContext, SourceProvider, SourceReader, SourceReaderOf } from "./source.ts";

const OPTIONS = ["stream", "subject", "partitions", "startingOffsets", "maxOffsetsPerTrigger", "encoding"];
/** Partitions one source reads at most (each is a source actor and a consumer). */
const MAX_PARTITIONS = 256;

/** Rows the background fetching makes ready at most; past it, fetching waits for poll() (prepare() may exceed it). */
export const MAX_BUFFERED_ROWS = 10_000;
/** Most messages asked for in one fetch. */
const FETCH_BATCH = 1000;
/** How long one fetch waits for messages on an idle stream before the next one is sent. */
const FETCH_WAIT_MS = 5000;
/** Consecutive failed fetches retried (with a growing pause) before the query fails. */
const FETCH_RETRIES = 8;

/** Knobs for tests and benchmarks; users set none of them. */
export interface JetStreamSourceTuning {
  readonly maxBufferedRows?: number;
  readonly fetchWaitMs?: number;
}

interface JetStreamSettings<R = Row> {
  readonly stream: string;
  readonly filter: string | undefined;
  /** The option the filter comes from, for errors: 'subject' or 'partitions'. */
  readonly filterOption: "subject" | "partitions";
  readonly start: JetStreamStart;
  readonly maxOffsetsPerTrigger: number | undefined;
  readonly encoding: NatsEncoding;
  readonly check: RecordCheck<R>;
  readonly maxBufferedRows: number;
  readonly fetchWaitMs: number;
}

export class JetStreamSourceProvider implements SourceProvider {
  readonly format = "jetstream";
  readonly numPartitions: number;
  readonly guarantee = "exactly-once" as const;
  readonly schema: Schema;
  readonly description: string;
  private readonly settings: JetStreamSettings;
  /** With `partitions`: the filter subject of each partition. */
  private readonly partitionFilters: readonly string[] | undefined;
  private readonly positionalCheck: RecordCheck<PositionalRow>;

  constructor(private readonly request: SourceRequest, tuning: JetStreamSourceTuning = {}) {
    const options = new ConnectorOptions("the jetstream source", request.options, OPTIONS);
    const stream = options.requiredString("stream", "the name of an existing JetStream stream, e.g. 'SENSORS'");
    if (/[\s.*>]/.test(stream)) throw options.invalid("stream", stream, "a JetStream stream name (no white space, '.', '*' or '>'), e.g. 'SENSORS'");
    const filter = options.string("subject");
    if (filter !== undefined) {
      const problem = subjectProblem(filter, true);
      if (problem) throw options.invalid("subject", filter, `a valid NATS subject filter (${problem}), e.g. 'sensors.>'`);
    }
    const partitions = options.has("partitions") ? parsePartitions(options, filter) : undefined;
    this.partitionFilters = partitions;
    this.numPartitions = partitions?.length ?? 1;
    const startText = options.string("startingOffsets") ?? "earliest";
    const maxOffsetsPerTrigger = options.has("maxOffsetsPerTrigger") ? options.number("maxOffsetsPerTrigger", 0, { min: 1, integer: true }) : undefined;
    const encoding = options.choice("encoding", NATS_ENCODINGS, "json");
    if (!request.transport.jetstream) throw jetstreamMissing(request.transport);
    this.schema = requireSchema("jetstream", request.schema, "a JetStream stream");
    this.settings = {
      stream,
      filter,
      filterOption: "subject",
      start: parseStart(startText, options),
      maxOffsetsPerTrigger,
      encoding,
      check: recordChecker(this.schema, request.validate),
      maxBufferedRows: tuning.maxBufferedRows ?? MAX_BUFFERED_ROWS,
      fetchWaitMs: tuning.fetchWaitMs ?? FETCH_WAIT_MS,
    };
    this.positionalCheck = positionalRecordChecker(this.schema, request.validate);
    const limit = maxOffsetsPerTrigger === undefined ? "" : `, at most ${maxOffsetsPerTrigger} per trigger`;
    const reads = partitions ? ` partitions ${partitions.join(",")}` : filter === undefined ? "" : ` ${filter}`;
    this.description = `JetStream[${stream}${reads}, from ${startText.trim()}${limit}, ${encoding}, ${request.transport.address}]`;
  }

  createReader(partition: number): SourceReader {
    return new JetStreamReader(this.request.transport, this.settingsOf(partition, this.settings));
  }

  /** Rows by position: each decoded message is read by the schema's names once into an array (positionalRecordChecker). */
  createPositionalReader(partition: number): PositionalSourceReader {
    return new JetStreamReader(this.request.transport, this.settingsOf(partition, { ...this.settings, check: this.positionalCheck }));
  }

  private settingsOf<R>(partition: number, settings: JetStreamSettings<R>): JetStreamSettings<R> {
    const filter = this.partitionFilters?.[partition];
    return filter === undefined ? settings : { ...settings, filter, filterOption: "partitions" };
  }

  /** What a partition reads, kept in a checkpoint: a restart whose partition reads something else is refused at start(). */
  partitionIdentity(partition: number): string {
    const filter = this.partitionFilters?.[partition];
    if (filter !== undefined) return `stream '${this.settings.stream}' subject '${filter}' (option 'partitions')`;
    return this.settings.filter === undefined ? `stream '${this.settings.stream}' (every subject)` : `stream '${this.settings.stream}' subject '${this.settings.filter}' (option 'subject')`;
  }
}

/** partitions: disjoint filter subjects, comma-separated, one partition each. */
function parsePartitions(options: ConnectorOptions, subject: string | undefined): string[] {
  const text = options.string("partitions") ?? "";
  const example = "disjoint NATS filter subjects separated by commas, one per partition, e.g. 'events.0.>,events.1.>,events.2.>'";
  if (subject !== undefined) throw options.invalid("partitions", text, `${example}, without option 'subject' (each partition's filter replaces it)`);
  const filters = text.split(",").map((part) => part.trim());
  if (filters.length > MAX_PARTITIONS) throw options.invalid("partitions", text, `${example}; at most ${MAX_PARTITIONS}`);
  for (const filter of filters) {
    const problem = filter === "" ? "an empty subject" : subjectProblem(filter, true);
    if (problem) throw options.invalid("partitions", text, `${example} ('${filter}': ${problem})`);
  }
  for (let index = 0; index < filters.length; index++) {
    for (let other = index + 1; other < filters.length; other++) {
      const a = filters[index] as string;
      const b = filters[other] as string;
      // Overlapping filters would read a message in two partitions: twice.
      if (subjectsOverlap(a, b)) throw options.invalid("partitions", text, `${example}; '${a}' and '${b}' can match the same subject, whose messages would be read twice`);
    }
  }
  return filters;
}

/** startingOffsets: "earliest", "latest", a stream sequence, or an ISO time. */
function parseStart(text: string, options: ConnectorOptions): JetStreamStart {
  const value = text.trim();
  const lower = value.toLowerCase();
  if (lower === "earliest" || lower === "latest") return { kind: lower };
  if (/^\d+$/.test(value) && Number(value) >= 1 && Number.isSafeInteger(Number(value))) return { kind: "sequence", sequence: Number(value) };
  const time = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isNaN(time)) return { kind: "time", time: new Date(time) };
  throw options.invalid("startingOffsets", text, "'earliest', 'latest', a stream sequence number (at least 1, e.g. '1042') or an ISO time (e.g. '2024-01-01T00:00:00Z')");
}

function jetstreamMissing(transport: Transport): ConfigError {
  return new ConfigError(`format('jetstream') needs a NATS transport with JetStream, but the query runs on the ${transport.kind} transport. Configure NATS (rill.nats.url, or leave rill.transport unset with nats-server installed).`);
}


class JetStreamReader<R> implements SourceReaderOf<R> {
  /** Stream sequences only grow. */
  readonly offsetOrder = sequenceOrder;
  private readonly ready = new ReadyQueue<R>();
  /** The stream sequence of each ready row, in order: dead-lettered messages leave gaps, so it is kept per row. */
  private readySequences: number[] = [];
  private readyHead = 0;
  /** Rows decoded since the last flush: pushed to the queue as one chunk, with one notice. */
  private pendingRows: R[] = [];
  private pendingSequences: number[] = [];
  private pendingSince = 0;
  private flushScheduled = false;
  /**
   * The sequence of the last row poll() handed out, or of the last dead letter handed on after it: the offset. A replay
   * starts after it, so it neither repeats a row nor a letter of an epoch that committed.
   */
  private lastPolled: number | undefined;
  /**
   * Messages that failed to decode, held in stream order until every row before them is polled: a letter then belongs
   * to the epoch whose offset passes it (src/deadletters/protocol.ts), although fetching runs ahead of polling.
   */
  private letters: Array<{ readonly afterRows: number; readonly sequence: number; readonly raw: unknown; readonly reason: string }> = [];
  /** Rows decoded, and rows polled, over the reader's life: a letter's place among the rows. */
  private rowsDecoded = 0;
  private rowsPolled = 0;
  /** Messages received (rows and dead letters) since the last prepare() ended. */
  private receivedThisTrigger = 0;
  /** prepare() calls running: while one runs, fetching ignores the buffer bound. */
  private draining = 0;
  /** prepare("all") calls running (trigger once): while one runs, fetching ignores maxOffsetsPerTrigger too. */
  private readingAll = 0;
  /** Fetches ended so far: prepare() re-reads the backlog after one ends short. */
  private fetchesEnded = 0;
  private context: SourceContext | undefined;
  private cursor: JetStreamCursor | undefined;
  private loop: Promise<void> | undefined;
  private wakeLoop: (() => void) | undefined;
  private readonly progressWaiters = new Set<() => void>();
  private failure: RillError | undefined;
  private closed = false;

  constructor(private readonly transport: Transport, private readonly settings: JetStreamSettings<R>) {}

  seek(offset: unknown): void {
    if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) {
      throw new RillError("BAD_OFFSET", "internal", `The jetstream source of stream '${this.settings.stream}' cannot seek to ${JSON.stringify(offset)}: its offset is a stream sequence (a whole number, 0 or more).`);
    }
    this.lastPolled = offset;
  }

  offset(): number | undefined {
    return this.lastPolled;
  }

  async open(context: SourceContext): Promise<void> {
    this.context = context;
    const { stream, filter, filterOption } = this.settings;
    const access = this.access();
    const info = await access.streamInfo(stream);
    if (!info) throw new ConfigError(`Option 'stream' of the jetstream source names '${stream}', but no such stream exists on ${this.transport.address}. Create it first (e.g. 'nats stream add ${stream}') or fix the name.`);
    if (filter !== undefined && !info.subjects.some((subject) => subjectsOverlap(subject, filter))) {
      throw new ConfigError(`Option '${filterOption}' of the jetstream source ${filterOption === "subject" ? "is" : "has"} '${filter}', which matches none of the subjects of stream '${stream}' (${info.subjects.join(", ")}). Use one of them or a filter within them.`);
    }
    const startSequence = this.lastPolled === undefined ? await access.resolveStart(stream, this.settings.start) : this.lastPolled + 1;
    this.lastPolled = startSequence - 1;
    this.cursor = await access.openCursor(stream, { startSequence, filter });
    this.loop = this.fetchLoop(this.cursor);
  }

  async prepare(readLimit: ReadLimit = "limited"): Promise<Prepared> {
    this.throwFailure();
    const cursor = this.cursor;
    if (!cursor) return { dataLeft: false };
    const limit = readLimit === "all" ? undefined : this.settings.maxOffsetsPerTrigger;
    let dataLeft: boolean;
    this.draining++;
    if (readLimit === "all") this.readingAll++;
    this.wake();
    try {
      const drained = await this.drain(cursor, limit, readLimit === "all");
      if (drained === "closed") return { dataLeft: false };
      dataLeft = drained;
    } finally {
      this.draining--;
      if (readLimit === "all") this.readingAll--;
    }
    this.flushPending();
    this.receivedThisTrigger = 0;
    this.wake();
    return { dataLeft };
  }

  /**
   * Reads everything the stream held at the call, and never more than the trigger allows; true when the limit (or the
   * leader checks' bound, which trigger once, reading `all`, does not have) left some unread. The target is in the cursor's own count, so messages handed out while it is
   * asked for are neither missed nor counted twice; the stream leader's last sequence at the call bounds it, and the
   * leader tells whether a count reached came from a replica behind it (src/connectors/sources/jetstream-drain.ts).
   */
  private async drain(cursor: JetStreamCursor, limit: number | undefined, all: boolean): Promise<boolean | "closed"> {
    const first = await cursor.endFacts();
    const leaderLast = first.leaderLastSequence;
    let target = drainCount(first);
    let leaderChecks = 0;
    for (;;) {
      const state = drainState({ handed: cursor.handedOut(), lastHanded: cursor.lastSequence(), leaderLast }, target);
      if (state === "passed" || state === "counted") return false;
      if (limit !== undefined && this.receivedThisTrigger >= limit) return true;
      if (state === "unsure") {
        // Trigger once has no next epoch to read on: it checks until the count is right (each check after a short
        // count waits for a message more, so the checks end with the reading).
        if (leaderChecks === MAX_LEADER_CHECKS && !all) return true;
        leaderChecks++;
        const answer = afterLeaderCheck(await cursor.nextAtLeader(), leaderLast, cursor.lastSequence());
        if (answer === "done") return false;
        if (answer === "short") target = raiseShortTarget(cursor.handedOut(), drainCount(await cursor.recount()));
        continue;
      }
      const fetchesBefore = this.fetchesEnded;
      await this.progress();
      this.throwFailure();
      if (this.closed) return "closed";
      // A fetch that ended short may mean messages vanished (purged, expired): ask again, never raising the target.
      if (this.fetchesEnded !== fetchesBefore && cursor.handedOut() < target.count) target = lowerTarget(target, drainCount(await cursor.recount()));
    }
  }

  readyCount(): number {
    return this.ready.size + this.pendingRows.length;
  }

  poll(max: number): ReadyBatchOf<R> | undefined {
    this.throwFailure();
    this.flushPending();
    const batch = this.ready.poll(max);
    if (!batch) {
      this.releaseDeadLetters();
      return undefined;
    }
    this.readyHead += batch.rows.length;
    this.rowsPolled += batch.rows.length;
    this.lastPolled = this.readySequences[this.readyHead - 1] as number;
    this.releaseDeadLetters();
    if (this.readyHead > 4096 && this.readyHead * 2 > this.readySequences.length) {
      this.readySequences = this.readySequences.slice(this.readyHead);
      this.readyHead = 0;
    }
    if (this.ready.size <= this.settings.maxBufferedRows / 2) this.wake();
    return batch;
  }

  /** Hands on the letters of messages before the next unpolled row, and moves the offset past them (also before each barrier). */
  releaseDeadLetters(): void {
    let released = 0;
    for (const letter of this.letters) {
      if (letter.afterRows > this.rowsPolled) break;
      released++;
      if (this.lastPolled === undefined || letter.sequence > this.lastPolled) this.lastPolled = letter.sequence;
      this.context?.deadLetter(letter.raw, letter.reason);
    }
    if (released > 0) this.letters = this.letters.slice(released);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    this.signalProgress();
    await this.cursor?.close();
    await this.loop;
  }

  /** Fetches while there is room, then waits for poll() or prepare() to make some. */
  private async fetchLoop(cursor: JetStreamCursor): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      const room = this.room();
      if (room <= 0) {
        await new Promise<void>((resolve) => (this.wakeLoop = resolve));
        continue;
      }
      try {
        await cursor.fetch(Math.min(room, FETCH_BATCH), this.settings.fetchWaitMs, this.receive);
        failures = 0;
      } catch (error) {
        if (this.closed) return;
        failures++;
        if (failures > FETCH_RETRIES) {
          this.fail(error);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** failures, 5000)));
      }
      this.fetchesEnded++;
      this.signalProgress();
    }
  }

  /** How many messages the next fetch may ask for: the buffer bound (lifted while prepare() runs) and the trigger's limit. */
  private room(): number {
    let room = this.draining > 0 ? FETCH_BATCH : this.settings.maxBufferedRows - this.readyCount();
    const limit = this.settings.maxOffsetsPerTrigger;
    if (limit !== undefined && this.readingAll === 0) room = Math.min(room, limit - this.receivedThisTrigger);
    return room;
  }

  private readonly receive = (message: JetStreamMessage): void => {
    this.receivedThisTrigger++;
    if (!this.flushScheduled) {
      // The client hands out a socket read's messages one microtask each: gathering them until the
      // I/O phase ends makes one ready chunk and one notice per read, not per message.
      this.flushScheduled = true;
      setImmediate(this.afterMessages);
    }
    const { encoding, check } = this.settings;
    const payload = message.payload;
    const text = encoding === "json" ? decodeUtf8(payload) : undefined;
    if (encoding === "json" && text === undefined) {
      this.holdDeadLetter(message, binaryRaw(payload), `${this.where(message)} is invalid UTF-8`);
      return;
    }
    let value: unknown;
    try {
      value = text !== undefined ? JSON.parse(text) : unpack(payload);
    } catch (error) {
      this.holdDeadLetter(message, this.rawOf(payload), `${this.where(message)} is not valid ${encoding} (${(error as Error).message})`);
      return;
    }
    const checked = check(value);
    if ("error" in checked) {
      this.holdDeadLetter(message, text ?? binaryRaw(payload, value), `${this.where(message)} fails the schema: ${checked.error}`);
      return;
    }
    this.rowsDecoded++;
    if (this.pendingRows.length === 0) this.pendingSince = nowMs();
    this.pendingRows.push(checked.row);
    this.pendingSequences.push(message.sequence);
  };

  private readonly afterMessages = (): void => {
    this.flushScheduled = false;
    if (this.closed) return;
    const rows = this.pendingRows.length;
    this.flushPending();
    if (rows > 0) this.context?.notify();
    this.signalProgress();
  };

  private flushPending(): void {
    if (this.pendingRows.length === 0) return;
    this.ready.push(this.pendingRows, this.pendingSince);
    for (const sequence of this.pendingSequences) this.readySequences.push(sequence);
    this.pendingRows = [];
    this.pendingSequences = [];
  }

  private holdDeadLetter(message: JetStreamMessage, raw: unknown, reason: string): void {
    this.letters.push({ afterRows: this.rowsDecoded, sequence: message.sequence, raw, reason });
  }

  private where(message: JetStreamMessage): string {
    return `message ${message.sequence} of stream '${this.settings.stream}' (subject '${message.subject}')`;
  }

  /** A payload for the dead-letter output: its text for JSON, base64 for msgpack (binary). */
  private rawOf(payload: Uint8Array): string | BinaryRecord {
    return this.settings.encoding === "json" ? decodeUtf8(payload) ?? binaryRaw(payload) : binaryRaw(payload);
  }

  /** Resolves at the next batch of messages, the end of a fetch, a failure or close. */
  private progress(): Promise<void> {
    return new Promise((resolve) => this.progressWaiters.add(resolve));
  }

  private signalProgress(): void {
    for (const waiter of this.progressWaiters) waiter();
    this.progressWaiters.clear();
  }

  private wake(): void {
    const wake = this.wakeLoop;
    this.wakeLoop = undefined;
    wake?.();
  }

  /** A failed background fetch surfaces at the next call the actor makes, which fails the query with it. */
  private fail(error: unknown): void {
    this.failure = error instanceof RillError ? error : new TransportError(`Reading the JetStream stream '${this.settings.stream}' failed: ${String(error)}`, { cause: error });
    this.signalProgress();
    this.context?.notify();
  }

  private throwFailure(): void {
    if (this.failure) throw this.failure;
  }

  private access(): JetStreamAccess {
    if (!this.transport.jetstream) throw jetstreamMissing(this.transport);
    return this.transport.jetstream();
  }
}

/** Whether two subjects (wildcards allowed in both) can match one subject in common. */
function subjectsOverlap(a: string, b: string): boolean {
  const left = a.split(".");
  const right = b.split(".");
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const x = left[index];
    const y = right[index];
    if (x === ">" || y === ">") return x !== undefined && y !== undefined;
    if (x === undefined || y === undefined) return false;
    if (x !== "*" && y !== "*" && x !== y) return false;
  }
  return true;
}

function drainCount(end: JetStreamCount): DrainCount {
  return { count: end.count, onLeader: end.countedByLeader };
}
