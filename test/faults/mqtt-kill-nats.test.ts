// Devices publish QoS 1 to nats-server's MQTT listener; a query reading the JetStream stream behind it, SIGKILLed, commits each message exactly once.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { KILLS, MESSAGES, missing, runWithKills } from "./mqtt-kill-harness.ts";

describe("an MQTT query SIGKILLed while reading QoS 1 messages through nats-server", () => {
  let server: NatsServerHandle;
  before(async () => {
    server = await startNatsServer({ mqtt: { ackWait: "2s" } });
  });
  after(async () => {
    await server.stop();
  });

  it("loses none and repeats none through nats-server's MQTT listener and the JetStream stream behind it (exactly-once)", { timeout: 600_000 }, async () => {
    const transport = await NatsTransport.connect(server.options);
    try {
      await transport.jetstream().addStream({ name: "DEVICES", subjects: ["devices.>"] });
    } finally {
      await transport.close();
    }
    if (!server.mqttUrl) throw new Error("no MQTT listener");
    const seed = Number(process.env.RILL_KILL_SEED ?? Date.now() % 100_000);
    const outcome = await runWithKills("jetstream", server, {}, { url: server.mqttUrl, login: { username: server.options.user, password: server.options.pass }, topic: (id) => `devices/d${id % 5}` }, seed);
    assert.deepEqual(missing(outcome.counts), [], `lost messages (RILL_KILL_SEED=${seed})`);
    const repeated = [...outcome.counts].filter(([, count]) => count > 1).map(([id]) => id);
    assert.deepEqual(repeated, [], `messages committed twice (RILL_KILL_SEED=${seed})`);
    assert.equal(outcome.counts.size, MESSAGES);
    assert.equal(outcome.kills, KILLS);
  });
});
