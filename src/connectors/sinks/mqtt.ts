// The MQTT sink: publishes each row (JSON or msgpack) to a fixed topic or to the topic a column names; at-least-once.
//
// With QoS 1 or 2 a publish counts once the broker has acknowledged it; at most ROWS_IN_FLIGHT wait for that, and
// each epoch's barrier waits for all of them, so a slow broker slows the query. A replay after a crash publishes
// the rows of the uncommitted epoch again (MQTT has no message ids to de-duplicate on): at-least-once.
//
// With option `storeAndForward` (a folder) the sink queues instead: see StoreAndForwardWriter below.
//
// @example
//   alerts.writeStream.format("mqtt").option("url", "mqtt://127.0.0.1:1883").option("topic", "alerts/temperature")
//     .option("qos", "1").option("clientId", "gateway-alerts-out").start()
//   // through a durable local queue while the uplink is down, at most 64 MiB of it:
//   alerts.writeStream.format("mqtt").option("url", "mqtts://cloud.example:8883").option("topic", "alerts/temperature")
//     .option("storeAndForward", "/var/lib/gateway/uplink").option("maxQueueBytes", "67108864").start()
import { randomBytes, randomUUID } from "node:crypto";
import { pack } from "msgpackr";
import { ConfigError, RecordError, RillError, TransportError } from "../../core/errors.ts";
import { jsonWithLongs } from "../../core/long.ts";
import type { Row } from "../../core/types.ts";
import { loadOutbox } from "../../state/load-lmdb.ts";
import type { Outbox } from "../../state/lmdb-outbox.ts";
import { messageBytes, type OutboxMessage } from "../../state/outbox-message.ts";
import { MqttConnection, type MqttConnectionSettings, type MqttQos } from "../mqtt-client.ts";
import { MQTT_CONNECTION_OPTIONS, connectionSettings, qosOption, topicProblem } from "../mqtt-options.ts";
import { NATS_ENCODINGS, type NatsEncoding } from "../nats-options.ts";
import { ConnectorOptions, ENGINE_SINK_OPTIONS } from "../options.ts";
import { attemptToken, committingPreparation, preparedBy, removedAtOpen, type PreparedBy } from "./prepared-epochs.ts";
import type { SinkRequest } from "./request.ts";
import { Forwarder } from "../uplink/forwarder.ts";
import type { SinkContext, SinkProvider, SinkWriter } from "./sink.ts";

const OPTIONS = [...MQTT_CONNECTION_OPTIONS, "topic", "topicColumn", "qos", "retain", "encoding", "storeAndForward", "maxQueueBytes", "idField", ...ENGINE_SINK_OPTIONS];

/** Publishes waiting for the broker's ack at most; past it, write() holds the query back until they are acked. */
export const ROWS_IN_FLIGHT = 1000;

interface MqttSinkSettings {
  readonly connection: MqttConnectionSettings;
  /** The fixed topic, or the column that holds each row's topic (left out of the payload). */
  readonly topic: { readonly fixed: string } | { readonly column: string };
  readonly qos: MqttQos;
  readonly retain: boolean;
  readonly encoding: NatsEncoding;
  /** Store-and-forward: the outbox folder and its bound in bytes. */
  readonly queue?: { readonly folder: string; readonly maxBytes: number };
  /** A JSON field that carries each message's id in the payload too (MQTT 3.1.1 has no user properties). */
  readonly idField?: string;
}

/** The default bound of the store-and-forward queue: 256 MiB. */
export const DEFAULT_MAX_QUEUE_BYTES = 256 * 1024 * 1024;

export class MqttSinkProvider implements SinkProvider {
  readonly format = "mqtt";
  readonly guarantee = "at-least-once" as const;
  readonly description: string;
  private readonly settings: MqttSinkSettings;
  /** The store-and-forward writers created in this process, for metrics(). */
  private readonly queueWriters = new Set<StoreAndForwardWriter>();

  constructor(request: SinkRequest) {
    const options = new ConnectorOptions("the mqtt sink", request.options, OPTIONS);
    const fixed = options.string("topic");
    const column = options.string("topicColumn");
    if ((fixed === undefined) === (column === undefined)) {
      throw new ConfigError(`The mqtt sink needs exactly one of option 'topic' (one topic for every row, e.g. 'alerts/temperature') and option 'topicColumn' (a string column holding each row's topic)${fixed === undefined ? "" : "; both are set"}.`);
    }
    if (fixed !== undefined) {
      const problem = topicProblem(fixed, false);
      if (problem) throw options.invalid("topic", fixed, `a topic to publish to (${problem}), e.g. 'alerts/temperature'`);
    }
    const connection = connectionSettings(options, `rill-sink-${randomBytes(6).toString("hex")}`);
    this.settings = {
      // A sink keeps nothing in a session: a clean one unless asked otherwise.
      connection: options.has("cleanSession") ? connection : { ...connection, clean: true },
      topic: fixed !== undefined ? { fixed } : { column: column as string },
      qos: qosOption(options, 1),
      retain: options.boolean("retain", false),
      encoding: options.choice("encoding", NATS_ENCODINGS, "json"),
    };
    const folder = options.string("storeAndForward");
    const idField = options.string("idField");
    if (folder !== undefined) {
      if (this.settings.qos === 0) throw options.invalid("qos", "0", "1 or 2 with option 'storeAndForward' (a queued message leaves the queue only when the broker acknowledged it)");
      this.settings = { ...this.settings, queue: { folder, maxBytes: options.number("maxQueueBytes", DEFAULT_MAX_QUEUE_BYTES, { min: 1024, integer: true }) }, ...(idField === undefined ? {} : { idField }) };
      if (idField !== undefined && this.settings.encoding !== "json") throw options.invalid("idField", idField, "a field name with encoding 'json' only");
    } else {
      for (const name of ["maxQueueBytes", "idField"]) if (options.has(name)) throw new ConfigError(`Option '${name}' of the mqtt sink needs option 'storeAndForward' (the folder of the local queue).`);
    }
    const topic = fixed !== undefined ? fixed : `topic from column ${column}`;
    const queue = this.settings.queue ? `, store-and-forward via ${this.settings.queue.folder}` : "";
    this.description = `MqttSink[${topic}, qos ${this.settings.qos}${this.settings.retain ? ", retained" : ""}, ${this.settings.encoding}, ${connection.url}${queue}]`;
  }

  createWriter(): SinkWriter {
    if (!this.settings.queue) return new MqttWriter(this.settings);
    const writer = new StoreAndForwardWriter(this.settings, this.settings.queue);
    this.queueWriters.add(writer);
    return writer;
  }

  /** Store-and-forward: the queue's fill level (queuedMessages, queuedBytes, capacityBytes, oldestQueuedAgeMs) and what was delivered. */
  metrics(): Readonly<Record<string, number>> | undefined {
    for (const writer of this.queueWriters) if (writer.closed) this.queueWriters.delete(writer);
    // One query per queue folder: after a rollback the new writer is the open one.
    const writer = [...this.queueWriters].pop();
    return writer?.metrics();
  }
}

const textEncoder = new TextEncoder();

class MqttWriter implements SinkWriter {
  private connection: MqttConnection | undefined;
  private inFlight: Promise<void>[] = [];
  private failure: Error | undefined;
  private readonly encode: (row: Row) => Uint8Array;

  constructor(private readonly settings: MqttSinkSettings) {
    this.encode = settings.encoding === "json" ? (row) => textEncoder.encode(jsonWithLongs(row)) : (row) => pack(row);
  }

  async open(): Promise<void> {
    this.connection = await MqttConnection.connect(this.settings.connection, { holdAcks: false });
  }

  write(rows: readonly Row[]): void | Promise<void> {
    const connection = this.connection;
    if (!connection) throw new TransportError("The mqtt sink wrote before it was opened.");
    if (this.failure) throw this.failure;
    const { qos, retain, topic } = this.settings;
    for (let index = 0; index < rows.length; index++) {
      const row = rows[index] as Row;
      let target: string;
      let payload: Uint8Array;
      try {
        target = "fixed" in topic ? topic.fixed : topicOf(row, topic.column);
        payload = this.encode("fixed" in topic ? row : withoutColumn(row, topic.column));
      } catch (error) {
        if (error instanceof RillError) throw error;
        throw new RecordError(`Cannot publish row ${index} of the batch to MQTT: ${(error as Error).message}. Rows must hold JSON-encodable values.`, { cause: error });
      }
      this.inFlight.push(connection.publish(target, payload, qos, retain).catch((error: unknown) => {
        this.failure ??= new TransportError(`Publishing to MQTT topic '${target}' at ${this.settings.connection.url} failed: ${String(error)}`, { cause: error });
      }));
    }
    if (this.inFlight.length >= ROWS_IN_FLIGHT) return this.settle();
  }

  endEpoch(): Promise<void> {
    return this.settle();
  }

  async close(): Promise<void> {
    await this.settle().finally(() => this.connection?.close());
    this.connection = undefined;
  }

  /** Waits for every publish in flight; the first that failed fails the query. */
  private async settle(): Promise<void> {
    const waiting = this.inFlight;
    this.inFlight = [];
    await Promise.all(waiting);
    if (this.failure) throw this.failure;
  }
}

function topicOf(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== "string") throw new RecordError(`Column '${column}' (option 'topicColumn' of the mqtt sink) holds ${value === null || value === undefined ? "null" : typeof value} in a row, not a topic. Filter such rows out or fill the column.`);
  const problem = topicProblem(value, false);
  if (problem) throw new RecordError(`Column '${column}' (option 'topicColumn' of the mqtt sink) holds '${value}', which is no topic to publish to: ${problem}.`);
  return value;
}

function withoutColumn(row: Row, column: string): Row {
  const rest: Row = {};
  for (const name in row) if (name !== column) rest[name] = row[name];
  return rest;
}

/**
 * Store-and-forward: each epoch's rows go durably into a local LMDB queue at its barrier (prepared) and into the queue
 * proper at its commit, in one transaction that a repeated commit turns into a no-op; a forwarder drains the queue to
 * the broker in order (src/connectors/uplink/forwarder.ts). The broker may be away for as long as the queue has room;
 * when it is full, the barrier waits (the query stops) until delivered messages make room: nothing is dropped.
 * Each message carries its id `<queryId>:<epoch>:<index>` (MQTT 5 user property `rill-id`, and option `idField`).
 */
class StoreAndForwardWriter implements SinkWriter {
  private outbox: Outbox | undefined;
  private forwarder: Forwarder | undefined;
  private queryId = "";
  /** Bytes of the epochs prepared and not committed yet, by epoch. */
  private readonly preparedBytes = new Map<number, number>();
  /** This attempt: each attempt prepares its epochs apart in the outbox (src/connectors/sinks/prepared-epochs.ts). */
  private attempt: PreparedBy = { runId: "", number: 0, resumedAfter: -1, openedAt: 0 };
  private attemptToken = "";
  private readonly encode: (row: Row) => Uint8Array;

  constructor(private readonly settings: MqttSinkSettings, private readonly queue: { readonly folder: string; readonly maxBytes: number }) {
    this.encode = settings.encoding === "json" ? (row) => textEncoder.encode(jsonWithLongs(row)) : (row) => pack(row);
  }

  async open(context: SinkContext): Promise<void> {
    if (context.outputMode !== "append") throw new ConfigError(`The mqtt sink with option 'storeAndForward' queues appended rows only; the query's output mode is '${context.outputMode}'.`);
    this.queryId = context.queryId;
    const { Outbox } = await loadOutbox();
    const outbox = Outbox.open(this.queue.folder);
    this.outbox = outbox;
    this.attempt = preparedBy(context.attempt, context.lastCommittedEpoch, Date.now(), randomUUID);
    this.attemptToken = attemptToken(this.attempt);
    // Prepared epochs the checkpoint committed go into the queue now, as the committing attempt prepared them (a stalled
    // attempt's late preparation of the same epoch never does); later ones were never committed, and go unless a newer
    // attempt (this one stalled before its open) prepared them: that one commits them (removedAtOpen).
    for (const epoch of outbox.preparedEpochs()) {
      if (epoch > context.lastCommittedEpoch) continue;
      const committing = committingPreparation(outbox.preparations(epoch));
      if (committing !== undefined) await outbox.commit(epoch, committing.token);
    }
    await outbox.discardAfter(context.lastCommittedEpoch, (attempt) => removedAtOpen("discard", attempt?.sequence, this.attempt.sequence));
    this.forwarder = new Forwarder(outbox, { connection: this.settings.connection, qos: this.settings.qos, retain: this.settings.retain });
    this.forwarder.start();
  }

  async endEpoch(epoch: number, rows: readonly Row[]): Promise<void> {
    const outbox = this.opened();
    const messages = rows.map((row, index) => this.message(row, epoch, index));
    const bytes = messages.reduce((sum, message) => sum + messageBytes(message), 0);
    // Full: wait for the forwarder to make room. The epoch prepared and not committed yet counts too (the next barrier
    // may come before the last commit, which cannot run while this waits), but only queued messages, which the
    // forwarder can remove, make it wait: into an empty queue the epoch goes, even past the bound.
    const pending = [...this.preparedBytes.values()].reduce((sum, size) => sum + size, 0);
    for (let level = outbox.level(); level.messages > 0 && level.bytes + pending + bytes > this.queue.maxBytes; level = outbox.level()) {
      await (this.forwarder as Forwarder).drained();
      if (!this.outbox) return;
    }
    await outbox.prepare(epoch, this.attemptToken, this.attempt, messages);
    this.preparedBytes.set(epoch, bytes);
  }

  async commitEpoch(epoch: number): Promise<void> {
    await this.opened().commit(epoch, this.attemptToken);
    this.preparedBytes.delete(epoch);
    this.forwarder?.notify();
  }

  async close(): Promise<void> {
    const outbox = this.outbox;
    this.outbox = undefined;
    await this.forwarder?.stop();
    await outbox?.close();
  }

  get closed(): boolean {
    return this.outbox === undefined && this.forwarder !== undefined;
  }

  /** The queue's fill level now (read from LMDB: what the forwarder removed is gone). */
  metrics(): Readonly<Record<string, number>> | undefined {
    const outbox = this.outbox;
    if (!outbox) return undefined;
    const level = outbox.level();
    return {
      queuedMessages: level.messages,
      queuedBytes: level.bytes,
      capacityBytes: this.queue.maxBytes,
      oldestQueuedAgeMs: level.oldestQueuedAt === undefined ? 0 : Math.max(0, Date.now() - level.oldestQueuedAt),
      deliveredMessages: this.forwarder?.delivered ?? 0,
    };
  }

  private opened(): Outbox {
    if (!this.outbox) throw new TransportError("The mqtt sink wrote before it was opened.");
    return this.outbox;
  }

  private message(row: Row, epoch: number, index: number): OutboxMessage {
    const { topic, idField } = this.settings;
    const id = `${this.queryId}:${epoch}:${index}`;
    try {
      const target = "fixed" in topic ? topic.fixed : topicOf(row, topic.column);
      const body = "fixed" in topic ? row : withoutColumn(row, topic.column);
      return { id, topic: target, payload: this.encode(idField === undefined ? body : { ...body, [idField]: id }) };
    } catch (error) {
      if (error instanceof RillError) throw error;
      throw new RecordError(`Cannot queue row ${index} of epoch ${epoch} for MQTT: ${(error as Error).message}. Rows must hold JSON-encodable values.`, { cause: error });
    }
  }
}
