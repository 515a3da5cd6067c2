// Rows by position in the broker sources (nats, jetstream, mqtt): each message is read by the schema's names once
// into an array (positionalRecordChecker). Against a real nats-server and a real Mosquitto, with chaining on, the same
// query by position and named gives the same rows and the same dead letters (bad JSON, bad msgpack, invalid UTF-8,
// records failing the schema); a restart on a checkpoint (or a persistent MQTT session) written either way goes on in
// the other without losing or repeating a row.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt from "mqtt";
import { pack } from "msgpackr";
import type { JetStreamAccess } from "../../src/actors/jetstream.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import type { Session } from "../../src/index.ts";
import { committedLines } from "../helpers/kill-runs.ts";
import { findMosquitto, MOSQUITTO_MISSING, startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { sourcesPositional } from "../helpers/positional-actors.ts";
import { bothWays, DDL, jsonRecords, ZOD, type JsonRecord } from "../helpers/positional-sources.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const encoder = new TextEncoder();
/** A JSON message that is not UTF-8. */
const INVALID_UTF8 = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);

const good = (records: readonly JsonRecord[]) => records.filter((record) => record.good).length;

/** The payloads of `records` as JSON (and one that is not UTF-8), or as msgpack (with one that does not unpack). */
function payloads(records: readonly JsonRecord[], encoding: "json" | "msgpack"): { payloads: Uint8Array[]; rows: number; letters: number } {
  if (encoding === "json") return { payloads: [...records.map((record) => encoder.encode(record.text)), INVALID_UTF8], rows: good(records), letters: records.length + 1 - good(records) };
  // Records that are no object or value (text that is not JSON) go as bytes msgpack cannot read (a str8 cut short).
  const packed = records.map((record) => ("value" in record ? pack(record.value) : new Uint8Array([0xd9])));
  return { payloads: packed, rows: good(records), letters: records.length - good(records) };
}

describe("rows by position in broker sources", () => {
  let transport: NatsTransport;
  let access: JetStreamAccess;
  let folder: string;
  before(async () => {
    transport = await NatsTransport.connect(server().options);
    access = transport.jetstream();
    folder = await mkdtemp(join(tmpdir(), "rill-posbroker-"));
  });
  after(async () => {
    await transport.close();
    await rm(folder, { recursive: true, force: true });
  });

  for (const encoding of ["json", "msgpack"] as const) {
    for (const [schemaName, schema] of [["ddl", DDL], ["zod", ZOD]] as const) {
      it(`nats, ${encoding}, a ${schemaName} schema: the same rows and dead letters both ways`, async () => {
        const input = payloads(jsonRecords(400, encoding === "json" ? 3 : 4, 0), encoding);
        const subject = `posbroker.${encoding}.${schemaName}`;
        const result = await bothWays({
          server: server().options,
          name: `posbroker_nats_${encoding}_${schemaName}`,
          read: (s) => s.readStream.format("nats").schema(schema).option("subject", subject).option("encoding", encoding).load(),
          build: (events) => events.where("d > 0 or flag").select("a", "at", "id"),
          inputRows: input.rows,
          letters: input.letters,
          // Core NATS keeps nothing for a subscriber not there yet: probes (rows the filter drops) go until one is read,
          // then the input, then a last row the filter keeps, which the query has once it has every row before it.
          until: (rows) => rows.some((row) => row.id === -2),
          feed: async (query) => {
            const encode = (value: unknown) => (encoding === "json" ? encoder.encode(JSON.stringify(value)) : pack(value));
            for (let attempt = 0; query.status.numInputRows === 0; attempt++) {
              assert.ok(attempt < 2000, "a probe read");
              transport.publish(subject, encode({ id: -1 }));
              await transport.flush();
              await query.processAllAvailable();
            }
            for (const payload of input.payloads) transport.publish(subject, payload);
            transport.publish(subject, encode({ id: -2, flag: true }));
            await transport.flush();
          },
        });
        assert.ok(result.rows.length > 50, `rows: ${result.rows.length}`);
        assert.deepStrictEqual(Object.keys(result.rows[0] ?? {}), ["a", "at", "id"]);
        assert.ok(result.letters.some((letter) => /fails the schema/.test(letter.reason)) && result.letters.some((letter) => /is not valid|invalid UTF-8/.test(letter.reason)));
      });
    }
  }

  it("jetstream, json, a ddl schema: the same rows and dead letters both ways", async () => {
    const records = jsonRecords(500, 21, 0);
    const input = payloads(records, "json");
    await access.addStream({ name: "POSBROKER", subjects: ["posbroker.js.>"], storage: "memory" });
    for (const payload of input.payloads) await access.publish("posbroker.js.a", payload);
    const result = await bothWays({
      server: server().options,
      name: "posbroker_jetstream",
      read: (s) => s.readStream.format("jetstream").schema(DDL).option("stream", "POSBROKER").load(),
      build: (events) => events.where("d > 0 or flag").select("at", "big", "a", "id"),
      inputRows: input.rows,
      letters: input.letters,
    });
    assert.ok(result.rows.length > 50, `rows: ${result.rows.length}`);
  });

  it("jetstream: a checkpoint written named restores by position, and the reverse: each row once", async () => {
    await access.addStream({ name: "POSRESTART", subjects: ["posrestart.>"], storage: "memory" });
    const output = join(folder, "jetstream-out");
    const checkpoint = join(folder, "jetstream-checkpoint");
    const all: JsonRecord[] = [];
    const positional: boolean[][] = [];
    for (const [round, mode] of (["off", "auto", "off", "auto"] as const).entries()) {
      const records = jsonRecords(150, 31 + round, round * 1000);
      all.push(...records);
      for (const record of records) await access.publish("posrestart.x", encoder.encode(record.text));
      const session = natsSession(server().options, { "rill.rows.positional": mode });
      try {
        const query = await session.readStream.format("jetstream").schema(ZOD).option("stream", "POSRESTART").option("maxOffsetsPerTrigger", 60).load().where("d > 0 or flag").select("id", "a")
          .writeStream.queryName("posbroker_restart").format("json").option("path", output).option("checkpointLocation", checkpoint).start();
        await query.processAllAvailable();
        positional.push(sourcesPositional(query));
      } finally {
        await session.stop();
      }
    }
    assert.deepStrictEqual(positional, [[false], [true], [false], [true]]);
    const ids = (await committedLines(output)).map((line) => (JSON.parse(line) as { id: number }).id).sort((a, b) => a - b);
    const expected = all.filter((record) => record.good).map((record) => record.value as { id: number; d?: number | null; flag?: boolean | null })
      .filter((record) => (typeof record.d === "number" && record.d > 0) || record.flag === true).map((record) => record.id).sort((a, b) => a - b);
    assert.deepStrictEqual(ids, expected);
  });

  describe("mqtt against Mosquitto", { skip: findMosquitto() === undefined ? MOSQUITTO_MISSING : false }, () => {
    let broker: MosquittoHandle;
    let publisher: mqtt.MqttClient;
    before(async () => {
      broker = await startMosquitto();
      publisher = await mqtt.connectAsync(broker.url, { clientId: "posbroker-publisher" });
    });
    after(async () => {
      await publisher.endAsync();
      await broker.stop();
    });

    const read = (s: Session, topic: string, clientId: string) => s.readStream.format("mqtt").schema(DDL).option("url", broker.url).option("topic", `${topic}/#`).option("qos", "1").option("clientId", clientId).load();
    const publish = async (topic: string, payloads: readonly Uint8Array[]) => {
      for (const [index, payload] of payloads.entries()) await publisher.publishAsync(`${topic}/${index % 3}`, Buffer.from(payload), { qos: 1 });
    };

    it("mqtt, json: the same rows (with their topics) and dead letters both ways", async () => {
      const input = payloads(jsonRecords(300, 41, 0), "json");
      let run = 0;
      const result = await bothWays({
        server: server().options,
        name: "posbroker_mqtt",
        read: (s) => read(s, "posmqtt", `posmqtt-${run}`),
        build: (events) => events.where("d > 0 or flag").select("topic", "id", "at"),
        inputRows: input.rows,
        letters: input.letters,
        feed: () => publish("posmqtt", input.payloads),
        beforeEach: async () => {
          run++;
        },
      });
      assert.deepStrictEqual(Object.keys(result.rows[0] ?? {}), ["topic", "id", "at"]);
      assert.ok(result.rows.every((row) => /^posmqtt\/[012]$/.test(String(row.topic))));
    });

    it("mqtt: a persistent session read by position goes on named, and the reverse: each row once", async () => {
      const output = join(folder, "mqtt-out");
      const checkpoint = join(folder, "mqtt-checkpoint");
      const batches = [0, 1, 2].map((round) => jsonRecords(100, 51 + round, round * 1000));
      const all = batches.flat();
      const payloadsOf = (records: readonly JsonRecord[]) => records.map((record) => encoder.encode(record.text));
      const positional: boolean[][] = [];
      for (const [round, mode] of (["auto", "off", "auto"] as const).entries()) {
        const session = natsSession(server().options, { "rill.rows.positional": mode });
        try {
          const query = await read(session, "posmqttrestart", "posmqtt-restart").where("d > 0 or flag").select("id")
            .writeStream.queryName("posbroker_mqtt_restart").format("json").option("path", output).option("checkpointLocation", checkpoint).start();
          // The first batch goes once the query is subscribed; the others were kept by the broker while it was down.
          if (round === 0) await publish("posmqttrestart", payloadsOf(batches[0] as JsonRecord[]));
          for (let attempt = 0; query.status.numInputRows < good(batches[round] as JsonRecord[]); attempt++) {
            assert.ok(attempt < 2000, `round ${round}: ${query.status.numInputRows} rows read`);
            await query.processAllAvailable();
          }
          positional.push(sourcesPositional(query));
        } finally {
          await session.stop();
        }
        if (round < 2) await publish("posmqttrestart", payloadsOf(batches[round + 1] as JsonRecord[]));
      }
      assert.deepStrictEqual(positional, [[true], [false], [true]]);
      const ids = (await committedLines(output)).map((line) => (JSON.parse(line) as { id: number }).id).sort((a, b) => a - b);
      const expected = all.filter((record) => record.good).map((record) => record.value as { id: number; d?: number | null; flag?: boolean | null })
        .filter((record) => (typeof record.d === "number" && record.d > 0) || record.flag === true).map((record) => record.id).sort((a, b) => a - b);
      assert.deepStrictEqual(ids, expected);
    });
  });
});
