// The store-and-forward queue (real LMDB files) and the mqtt sink's refusals of options that do not fit it.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MqttSinkProvider } from "../../src/connectors/sinks/mqtt.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { Outbox, messageBytes } from "../../src/state/lmdb-outbox.ts";
import { sinkRequest } from "./helpers.ts";

const message = (epoch: number, index: number) => ({ id: `q:${epoch}:${index}`, topic: "t", payload: new TextEncoder().encode(`{"v":${epoch * 10 + index}}`) });

describe("the store-and-forward outbox", () => {
  it("queues a committed epoch once, in order, drops epochs never committed, and counts its bytes", async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-outbox-"));
    try {
      let outbox = Outbox.open(folder);
      await outbox.prepare(0, [message(0, 0), message(0, 1)]);
      await outbox.commit(0);
      await outbox.commit(0); // a commit repeated after a crash
      await outbox.prepare(1, [message(1, 0)]);
      await outbox.prepare(2, [message(2, 0)]);
      await outbox.close();
      // Restart: the checkpoint committed epoch 1, not 2.
      outbox = Outbox.open(folder);
      assert.deepEqual(outbox.preparedEpochs(), [1, 2]);
      await outbox.commit(1);
      await outbox.discardAfter(1);
      assert.deepEqual(outbox.preparedEpochs(), []);
      const queued = outbox.peek(10);
      assert.deepEqual(queued.map((entry) => entry.id), ["q:0:0", "q:0:1", "q:1:0"]);
      assert.deepEqual(outbox.level(), { messages: 3, bytes: [message(0, 0), message(0, 1), message(1, 0)].reduce((sum, entry) => sum + messageBytes(entry), 0) });
      await outbox.remove(queued.slice(0, 2));
      await outbox.remove(queued.slice(0, 2)); // removed twice: counted once
      assert.deepEqual(outbox.peek(10).map((entry) => entry.id), ["q:1:0"]);
      assert.deepEqual(outbox.level(), { messages: 1, bytes: messageBytes(message(1, 0)) });
      // A new checkpoint location (last commit -1) starts the epochs again: they queue, not dropped as old.
      await outbox.discardAfter(-1);
      await outbox.prepare(0, [message(0, 5)]);
      await outbox.commit(0);
      assert.deepEqual(outbox.peek(10).map((entry) => entry.id), ["q:1:0", "q:0:5"]);
      await outbox.close();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("refuses QoS 0 and the queue's options without storeAndForward, naming the option", () => {
    const base = { url: "mqtt://127.0.0.1:1", topic: "up" };
    assert.throws(() => new MqttSinkProvider(sinkRequest("mqtt", { ...base, storeAndForward: "/tmp/q", qos: "0" })), (error: Error) => error instanceof ConfigError && /'qos'/.test(error.message));
    assert.throws(() => new MqttSinkProvider(sinkRequest("mqtt", { ...base, maxQueueBytes: "4096" })), (error: Error) => error instanceof ConfigError && /maxQueueBytes.*storeAndForward/.test(error.message));
    assert.throws(() => new MqttSinkProvider(sinkRequest("mqtt", { ...base, storeAndForward: "/tmp/q", maxQueueBytes: "10" })), (error: Error) => error instanceof ConfigError && /maxQueueBytes/.test(error.message));
    assert.match(new MqttSinkProvider(sinkRequest("mqtt", { ...base, storeAndForward: "/tmp/q" })).description, /store-and-forward via \/tmp\/q/);
  });
});
