// The MQTT source: subscribes to topic filters on a broker, each message one record (JSON or msgpack) with its topic.
//
// QoS 1 and 2 messages are acknowledged only once the epoch that holds them has committed: until then the broker keeps
// them in the client's persistent session (`cleanSession` false, a fixed `clientId`) and sends them again after a
// crash, so nothing is lost (at-least-once). The broker also keeps what is published while the query is down.
// A message the broker sends again while this run still holds it unacknowledged (after a reconnect) is dropped.
//
// @example
//   session.readStream.format("mqtt").schema(z.object({ device: z.string(), celsius: z.number() }))
//     .option("url", "mqtt://127.0.0.1:1883").option("topic", "sensors/+/temperature,alarms/#").option("qos", "1")
//     .option("clientId", "gateway-alerts").load()
import { randomBytes } from "node:crypto";
import { unpack } from "msgpackr";
import { nowMs } from "../../core/clock.ts";
import { ConfigError } from "../../core/errors.ts";
import { parseJsonWithLongs } from "../../core/long.ts";
import type { BinaryRecord } from "../../core/binary-record.ts";
import { schemaOf, type PositionalRow, type Row, type Schema } from "../../core/types.ts";
import { MqttConnection, type HeldAck, type MqttConnectionSettings, type MqttMessage, type MqttQos } from "../mqtt-client.ts";
import { MQTT_CONNECTION_OPTIONS, connectionSettings, qosOption, topicProblem } from "../mqtt-options.ts";
import { NATS_ENCODINGS, type NatsEncoding } from "../nats-options.ts";
import { ConnectorOptions } from "../options.ts";
import { binaryRaw, decodeUtf8, positionalRecordChecker, recordChecker, requireSchema, type RecordCheck } from "./decode.ts";
import { ReadyQueue } from "./ready-queue.ts";
import type { SourceRequest } from "./request.ts";
import type { PositionalSourceReader, ReadyBatchOf, SourceContext, SourceProvider, SourceReader, SourceReaderOf } from "./source.ts";

const OPTIONS = [...MQTT_CONNECTION_OPTIONS, "topic", "qos", "encoding", "topicColumn", "maxBufferedMessages"];

interface MqttSourceSettings<R = Row> {
  readonly connection: MqttConnectionSettings;
  readonly filters: readonly string[];
  readonly qos: MqttQos;
  readonly encoding: NatsEncoding;
  readonly topicColumn: string;
  readonly check: RecordCheck<R>;
  /** Adds the message's topic to a checked row: by name, or at the end (the topic column is the schema's last). */
  readonly withTopic: (row: R, topic: string) => void;
  /** Messages read and not yet polled by the query past which the source stops reading the broker (until half are). */
  readonly maxBuffered: number;
}

export class MqttSourceProvider implements SourceProvider {
  readonly format = "mqtt";
  readonly numPartitions = 1;
  readonly guarantee;
  readonly schema: Schema;
  readonly description: string;
  private readonly settings: MqttSourceSettings;
  private readonly positionalSettings: MqttSourceSettings<PositionalRow>;

  constructor(request: SourceRequest) {
    const options = new ConnectorOptions("the mqtt source", request.options, OPTIONS);
    const topicText = options.requiredString("topic", "one or more MQTT topic filters, separated by commas, e.g. 'sensors/+/temperature,alarms/#'");
    const filters = topicText.split(",").map((filter) => filter.trim());
    for (const filter of filters) {
      const problem = topicProblem(filter, true);
      if (problem) throw options.invalid("topic", topicText, `MQTT topic filters separated by commas (${problem}; '${filter}')`);
    }
    const qos = qosOption(options, 1);
    const encoding = options.choice("encoding", NATS_ENCODINGS, "json");
    const topicColumn = options.string("topicColumn") ?? "topic";
    const userSchema = requireSchema("mqtt", request.schema, "an MQTT topic");
    if (userSchema.fields.some((field) => field.name === topicColumn)) {
      throw new ConfigError(`The schema of the mqtt source has a field '${topicColumn}', which is also the column the source adds for each message's topic. Rename the field, or set option 'topicColumn' to another name.`);
    }
    const connection = connectionSettings(options, `rill-${randomBytes(6).toString("hex")}`);
    if (!connection.clean && options.string("clientId") === undefined) {
      throw new ConfigError(`Option 'clientId' of the mqtt source is missing: a persistent session (cleanSession false, the default) is kept by the broker under the client id, which must be the same on every run and unique per query, e.g. .option("clientId", "gateway-alerts"). Or set cleanSession to true (messages published while the query is down are then lost).`);
    }
    const maxBuffered = options.number("maxBufferedMessages", 65_536, { min: 1, integer: true });
    const withTopic = (row: Row, topic: string): void => {
      row[topicColumn] = topic;
    };
    this.settings = { connection, filters, qos, encoding, topicColumn, check: recordChecker(userSchema, request.validate), withTopic, maxBuffered };
    const appendTopic = (row: PositionalRow, topic: string): void => {
      row.push(topic);
    };
    this.positionalSettings = { ...this.settings, check: positionalRecordChecker(userSchema, request.validate), withTopic: appendTopic };
    this.schema = schemaOf([...userSchema.fields, { name: topicColumn, type: "string", nullable: false }]);
    this.guarantee = qos === 0 ? ("at-most-once" as const) : ("at-least-once" as const);
    const session = connection.clean ? "clean session" : "persistent session";
    this.description = `MqttStream[${filters.join(", ")}, qos ${qos}, ${encoding}, ${connection.url}, client ${connection.clientId}, ${session}]`;
  }

  createReader(_partition: number): SourceReader {
    return new MqttReader(this.settings);
  }

  /** Rows by position: each decoded message is read by the schema's names once into an array, its topic last. */
  createPositionalReader(_partition: number): PositionalSourceReader {
    return new MqttReader(this.positionalSettings);
  }
}

/** Acknowledgements of the messages read in one epoch, released when it commits. */
interface EpochAcks {
  readonly epoch: number;
  readonly acks: HeldAck[];
}

class MqttReader<R> implements SourceReaderOf<R> {
  private readonly ready = new ReadyQueue<R>();
  /** The held ack of each ready row (undefined for QoS 0), in order. */
  private readyAcks: (HeldAck | undefined)[] = [];
  private readyHead = 0;
  private pendingRows: R[] = [];
  private pendingAcks: (HeldAck | undefined)[] = [];
  private pendingSince = 0;
  /** Acks of rows polled (and of dead letters) since the last barrier. */
  private sinceBarrier: HeldAck[] = [];
  private readonly uncommitted: EpochAcks[] = [];
  private connection: MqttConnection | undefined;
  private context: SourceContext | undefined;
  private closed = false;

  constructor(private readonly settings: MqttSourceSettings<R>) {}

  async open(context: SourceContext): Promise<void> {
    this.context = context;
    const { connection, filters, qos } = this.settings;
    this.connection = await MqttConnection.connect(connection, { holdAcks: qos > 0, onMessage: this.receive });
    await this.connection.subscribe(filters, qos);
  }

  async prepare(): Promise<void> {
    // A barrier asks for what exists now: a broker away longer than the connect timeout fails the query (which rolls
    // back and connects anew) instead of looking like a quiet topic.
    this.connection?.checkConnected();
    this.flushPending();
  }

  readyCount(): number {
    return this.ready.size + this.pendingRows.length;
  }

  poll(max: number): ReadyBatchOf<R> | undefined {
    this.flushPending();
    const batch = this.ready.poll(max);
    if (!batch) return undefined;
    if (this.readyCount() <= this.settings.maxBuffered / 2) this.connection?.resume();
    const end = this.readyHead + batch.rows.length;
    for (let index = this.readyHead; index < end; index++) {
      const ack = this.readyAcks[index];
      if (ack) this.sinceBarrier.push(ack);
    }
    this.readyHead = end;
    if (this.readyHead > 4096 && this.readyHead * 2 > this.readyAcks.length) {
      this.readyAcks = this.readyAcks.slice(this.readyHead);
      this.readyHead = 0;
    }
    return batch;
  }

  epochEnded(epoch: number): void {
    this.uncommitted.push({ epoch, acks: this.sinceBarrier });
    this.sinceBarrier = [];
  }

  epochCommitted(epoch: number): void {
    while (this.uncommitted.length > 0 && (this.uncommitted[0] as EpochAcks).epoch <= epoch) {
      this.connection?.release((this.uncommitted.shift() as EpochAcks).acks);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    // Held message callbacks run (the messages are ignored, closed) so that MQTT.js can end the connection.
    this.connection?.resume();
    // Acks not released stay unsent: the broker keeps those messages for the next run.
    await this.connection?.close();
    this.connection = undefined;
  }

  private readonly receive = (message: MqttMessage): void => {
    if (this.closed) return;
    const { encoding, check, withTopic } = this.settings;
    const payload = message.payload;
    const text = encoding === "json" ? decodeUtf8(payload) : undefined;
    let reason: string | undefined;
    let raw: string | BinaryRecord = "";
    let value: unknown;
    if (encoding === "json" && text === undefined) {
      reason = `message on topic '${message.topic}' is invalid UTF-8`;
      raw = binaryRaw(payload);
    } else {
      try {
        value = text !== undefined ? parseJsonWithLongs(text) : unpack(payload);
      } catch (error) {
        reason = `message on topic '${message.topic}' is not valid ${encoding} (${(error as Error).message})`;
        raw = text ?? binaryRaw(payload);
      }
    }
    if (reason === undefined) {
      const checked = check(value);
      if ("row" in checked) {
        withTopic(checked.row, message.topic);
        this.push(checked.row, message.ack);
        return;
      }
      reason = `message on topic '${message.topic}' fails the schema: ${checked.error}`;
      raw = text ?? binaryRaw(payload, value);
    }
    // A dead letter is published at once; its message is acknowledged with the epoch being read.
    this.context?.deadLetter(raw, reason);
    if (message.ack) this.sinceBarrier.push(message.ack);
  };

  private push(row: R, ack: HeldAck | undefined): void {
    if (this.pendingRows.length === 0) {
      this.pendingSince = nowMs();
      queueMicrotask(() => {
        this.flushPending();
        this.context?.notify();
      });
    }
    this.pendingRows.push(row);
    this.pendingAcks.push(ack);
    if (this.readyCount() >= this.settings.maxBuffered) this.connection?.pause();
  }

  /** Times the source stopped reading because the query fell behind by maxBufferedMessages. */
  get pauses(): number {
    return this.connection?.pauses ?? 0;
  }

  private flushPending(): void {
    if (this.pendingRows.length === 0) return;
    this.ready.push(this.pendingRows, this.pendingSince);
    for (const ack of this.pendingAcks) this.readyAcks.push(ack);
    this.pendingRows = [];
    this.pendingAcks = [];
  }
}
