// A query SIGKILLed while it reads QoS 1 messages from Mosquitto loses none (at-least-once).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import mqtt from "mqtt";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";
import { findMosquitto, MOSQUITTO_MISSING, startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.ts";
import { KILLS, MESSAGES, missing, runWithKills } from "./mqtt-kill-harness.ts";

describe("an MQTT query SIGKILLed while reading QoS 1 messages", () => {
  let server: NatsServerHandle;
  before(async () => {
    server = await startNatsServer({ mqtt: { ackWait: "2s" } });
  });
  after(async () => {
    await server.stop();
  });

  it("loses none from Mosquitto (at-least-once): restarted on its checkpoint with the same clientId, every message is committed", { timeout: 600_000, skip: findMosquitto() === undefined ? MOSQUITTO_MISSING : false }, async () => {
    const broker: MosquittoHandle = await startMosquitto();
    try {
      const options = { url: broker.url, topic: "plant/+/reading", clientId: "kill-test-reader", qos: "1" };
      // The persistent session exists before the first message, so the broker keeps everything for the client.
      const session = await mqtt.connectAsync(broker.url, { clientId: "kill-test-reader", clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
      await session.subscribeAsync("plant/+/reading", { qos: 1 });
      await session.endAsync();
      const seed = Number(process.env.RILL_KILL_SEED ?? Date.now() % 100_000);
      const outcome = await runWithKills("mqtt", server, options, { url: broker.url, login: {}, topic: (id) => `plant/d${id % 5}/reading` }, seed);
      const duplicates = [...outcome.counts.values()].reduce((sum, count) => sum + count - 1, 0);
      assert.deepEqual(missing(outcome.counts), [], `lost messages after ${outcome.kills} kills (RILL_KILL_SEED=${seed})`);
      assert.equal(outcome.kills, KILLS);
      process.stdout.write(`# mosquitto: ${MESSAGES} messages, ${outcome.kills} SIGKILLs, none lost, ${duplicates} committed twice or more\n`);
    } finally {
      await broker.stop();
    }
  });
});
