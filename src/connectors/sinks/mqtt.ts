// The MQTT sink: publishes each row (JSON or msgpack) to a fixed topic or to the topic a column names; at-least-once.
//
// With QoS 1 or 2 a publish counts once the broker has acknowledged it; at most ROWS_IN_FLIGHT wait for that, and
// each epoch's barrier waits for all of them, so a slow broker slows the query. A replay after a crash publishes
// the rows of the uncommitted epoch again (MQTT has no message ids to de-duplicate on): at-least-once.
//
// @example
//   alerts.writeStream.format("mqtt").option("url", "mqtt://127.0.0.1:1883").option("topic", "alerts/temperature")
//     .option("qos", "1").option("clientId", "gateway-alerts-out").start()
import { randomBytes } from "node:crypto";
import { pack } from "msgpackr";
import { ConfigError, RecordError, RillError, TransportError } from "../../core/errors.ts";
import { jsonWithLongs } from "../../core/long.ts";
import type { Row } from "../../core/types.ts";
import { MqttConnection, type MqttConnectionSettings, type MqttQos } from "../mqtt-client.ts";
import { MQTT_CONNECTION_OPTIONS, connectionSettings, qosOption, topicProblem } from "../mqtt-options.ts";
import { NATS_ENCODINGS, type NatsEncoding } from "../nats-options.ts";
import { ConnectorOptions, ENGINE_SINK_OPTIONS } from "../options.ts";
import type { SinkRequest } from "./request.ts";
import type { SinkProvider, SinkWriter } from "./sink.ts";

const OPTIONS = [...MQTT_CONNECTION_OPTIONS, "topic", "topicColumn", "qos", "retain", "encoding", ...ENGINE_SINK_OPTIONS];

/** Publishes waiting for the broker's ack at most; past it, write() holds the query back until they are acked. */
export const ROWS_IN_FLIGHT = 1000;

interface MqttSinkSettings {
  readonly connection: MqttConnectionSettings;
  /** The fixed topic, or the column that holds each row's topic (left out of the payload). */
  readonly topic: { readonly fixed: string } | { readonly column: string };
  readonly qos: MqttQos;
  readonly retain: boolean;
  readonly encoding: NatsEncoding;
}

export class MqttSinkProvider implements SinkProvider {
  readonly format = "mqtt";
  readonly guarantee = "at-least-once" as const;
  readonly description: string;
  private readonly settings: MqttSinkSettings;

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
    const topic = fixed !== undefined ? fixed : `topic from column ${column}`;
    this.description = `MqttSink[${topic}, qos ${this.settings.qos}${this.settings.retain ? ", retained" : ""}, ${this.settings.encoding}, ${connection.url}]`;
  }

  createWriter(): SinkWriter {
    return new MqttWriter(this.settings);
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
        target = "fixed" in topic ? topic.fixed : this.topicOf(row, topic.column);
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

  private topicOf(row: Row, column: string): string {
    const value = row[column];
    if (typeof value !== "string") throw new RecordError(`Column '${column}' (option 'topicColumn' of the mqtt sink) holds ${value === null || value === undefined ? "null" : typeof value} in a row, not a topic. Filter such rows out or fill the column.`);
    const problem = topicProblem(value, false);
    if (problem) throw new RecordError(`Column '${column}' (option 'topicColumn' of the mqtt sink) holds '${value}', which is no topic to publish to: ${problem}.`);
    return value;
  }
}

function withoutColumn(row: Row, column: string): Row {
  const rest: Row = {};
  for (const name in row) if (name !== column) rest[name] = row[name];
  return rest;
}
