// The store-and-forward queue (real LMDB files), its fill level in progress and Prometheus, and the mqtt sink's refusals of options that do not fit it.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MqttSinkProvider } from "../../src/connectors/sinks/mqtt.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { Outbox, messageBytes } from "../../src/state/lmdb-outbox.ts";
import { sinkRequest } from "./helpers.ts";
import { formatProgress, type StreamingQueryProgress } from "../../src/api/progress.ts";
import { MemoryStream, z } from "../../src/index.ts";
import { findMosquitto, MOSQUITTO_MISSING, startMosquitto } from "../helpers/mosquitto.ts";
import { inProcessSession } from "../helpers/session.ts";

/** One attempt of a query (run "run-a"), as a sink stamps its preparations. */
const ATTEMPT = { runId: "run-a", number: 0, resumedAfter: -1, openedAt: 1 };

const message = (epoch: number, index: number) => ({ id: `q:${epoch}:${index}`, topic: "t", payload: new TextEncoder().encode(`{"v":${epoch * 10 + index}}`) });

describe("the store-and-forward outbox", () => {
  it("queues a committed epoch once, in order, drops epochs never committed, and counts its bytes", async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-outbox-"));
    try {
      let outbox = Outbox.open(folder);
      await outbox.prepare(0, "a", ATTEMPT, [message(0, 0), message(0, 1)]);
      await outbox.commit(0, "a");
      await outbox.commit(0, "a"); // a commit repeated after a crash
      await outbox.prepare(1, "a", ATTEMPT, [message(1, 0)]);
      await outbox.prepare(2, "a", ATTEMPT, [message(2, 0)]);
      await outbox.close();
      // Restart: the checkpoint committed epoch 1, not 2.
      outbox = Outbox.open(folder);
      assert.deepEqual(outbox.preparedEpochs(), [1, 2]);
      await outbox.commit(1, "a");
      await outbox.discardAfter(1);
      assert.deepEqual(outbox.preparedEpochs(), []);
      const queued = outbox.peek(10);
      assert.deepEqual(queued.map((entry) => entry.id), ["q:0:0", "q:0:1", "q:1:0"]);
      assert.deepEqual(outbox.level(), { messages: 3, bytes: [message(0, 0), message(0, 1), message(1, 0)].reduce((sum, entry) => sum + messageBytes(entry), 0), oldestQueuedAt: queued[0]?.queuedAt });
      assert.ok(queued.every((entry) => entry.queuedAt !== undefined && entry.queuedAt <= Date.now()));
      await outbox.remove(queued.slice(0, 2));
      await outbox.remove(queued.slice(0, 2)); // removed twice: counted once
      assert.deepEqual(outbox.peek(10).map((entry) => entry.id), ["q:1:0"]);
      assert.deepEqual(outbox.level(), { messages: 1, bytes: messageBytes(message(1, 0)), oldestQueuedAt: queued[2]?.queuedAt });
      // A new checkpoint location (last commit -1) starts the epochs again: they queue, not dropped as old.
      await outbox.discardAfter(-1);
      await outbox.prepare(0, "a", ATTEMPT, [message(0, 5)]);
      await outbox.commit(0, "a");
      assert.deepEqual(outbox.peek(10).map((entry) => entry.id), ["q:1:0", "q:0:5"]);
      await outbox.close();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("keeps each attempt's preparation of an epoch apart: a stalled attempt's late one never replaces the committing attempt's", async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-outbox-"));
    try {
      const outbox = Outbox.open(folder);
      await outbox.prepare(4, "b", { ...ATTEMPT, number: 1, resumedAfter: 3 }, [message(4, 0), message(4, 1)]);
      await outbox.prepare(4, "a", { ...ATTEMPT, resumedAfter: 2 }, [message(4, 7), message(4, 8), message(4, 9)]);
      assert.deepEqual(outbox.preparations(4).map((entry) => entry.token).sort(), ["a", "b"]);
      await outbox.commit(4, "b");
      assert.deepEqual(outbox.peek(10).map((entry) => entry.id), ["q:4:0", "q:4:1"]);
      assert.deepEqual(outbox.preparedEpochs(), [], "every attempt's preparation of the epoch is removed by its commit");
      // The stalled attempt prepares epoch 4 again after the commit: a later commit of it queues nothing.
      await outbox.prepare(4, "a", { ...ATTEMPT, resumedAfter: 2 }, [message(4, 7)]);
      await outbox.commit(4, "a");
      assert.deepEqual(outbox.peek(10).map((entry) => entry.id), ["q:4:0", "q:4:1"]);
      await outbox.close();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("reads an epoch prepared by a Rill before attempts (['prepared', epoch, index]) as the oldest preparation, and queues it", async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-outbox-"));
    try {
      const { open } = await import("lmdb");
      const old = open<unknown, Array<string | number>>({ path: folder, compression: false, noSubdir: false });
      await old.transaction(() => {
        old.put(["prepared", 5, 0], message(5, 0));
        old.put(["prepared", 5, 1], message(5, 1));
      });
      await old.close();
      const outbox = Outbox.open(folder);
      assert.deepEqual(outbox.preparedEpochs(), [5]);
      assert.deepEqual(outbox.preparations(5), [{ token: "", attempt: undefined }]);
      assert.deepEqual(outbox.prepared().map((entry) => entry.id), ["q:5:0", "q:5:1"]);
      await outbox.commit(5, "");
      assert.deepEqual(outbox.peek(10).map((entry) => entry.id), ["q:5:0", "q:5:1"]);
      assert.deepEqual(outbox.preparedEpochs(), []);
      await outbox.close();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("the sink: a restart queues the committing attempt's preparation of a committed epoch, not a stalled attempt's written after it", async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-outbox-"));
    // No broker at this address: the queue keeps every committed message, which is what is checked.
    const options = { url: "mqtt://127.0.0.1:1", topic: "alerts/t", storeAndForward: folder, connectTimeout: "1000" };
    const context = { queryName: "alerts", queryId: "q", outputMode: "append" as const, orderReproducible: true, checkpointed: true, checkpointLocation: folder };
    const rows = (from: number, count: number) => Array.from({ length: count }, (_, index) => ({ v: from + index }));
    try {
      const stalled = new MqttSinkProvider(sinkRequest("mqtt", options)).createWriter();
      await stalled.open({ ...context, lastCommittedEpoch: 3, attempt: { runId: "run-a", number: 0 } });
      const next = new MqttSinkProvider(sinkRequest("mqtt", options)).createWriter();
      await next.open({ ...context, lastCommittedEpoch: 3, attempt: { runId: "run-a", number: 1 } });
      await next.endEpoch?.(4, rows(10, 2));
      await stalled.endEpoch?.(4, rows(20, 5));
      await Promise.all([stalled.close(), next.close()]);
      // The checkpoint committed epoch 4 (the next attempt's) and the process died before the sink's commit.
      const restarted = new MqttSinkProvider(sinkRequest("mqtt", options)).createWriter();
      await restarted.open({ ...context, lastCommittedEpoch: 4, attempt: { runId: "run-b", number: 0 } });
      await restarted.close();
      const outbox = Outbox.open(folder);
      try {
        const queued = outbox.peek(100).map((entry) => (JSON.parse(Buffer.from(entry.payload).toString()) as { v: number }).v);
        assert.deepEqual(queued, [10, 11]);
        assert.deepEqual(outbox.preparedEpochs(), []);
      } finally {
        await outbox.close();
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("the sink: a stalled attempt's writer opening after its replacement prepared an epoch leaves that preparation, which a restart queues", async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-outbox-"));
    // No broker at this address: the queue keeps every committed message, which is what is checked.
    const options = { url: "mqtt://127.0.0.1:1", topic: "alerts/t", storeAndForward: folder, connectTimeout: "1000" };
    const context = { queryName: "alerts", queryId: "q", outputMode: "append" as const, orderReproducible: true, checkpointed: true, checkpointLocation: folder };
    const rows = (from: number, count: number) => Array.from({ length: count }, (_, index) => ({ v: from + index }));
    try {
      // Driver A began (sequence 1) and stalled before opening its sink; driver B took the checkpoint over (sequence 2)
      // and prepared epoch 4; then A's sink opened, resuming after 3 as B did. The checkpoint committed epoch 4 and B
      // died before the sink's commit: the restart queues B's preparation.
      const replacing = new MqttSinkProvider(sinkRequest("mqtt", options)).createWriter();
      await replacing.open({ ...context, lastCommittedEpoch: 3, attempt: { runId: "run-b", number: 0, sequence: 2 } });
      await replacing.endEpoch?.(4, rows(10, 2));
      const stalled = new MqttSinkProvider(sinkRequest("mqtt", options)).createWriter();
      await stalled.open({ ...context, lastCommittedEpoch: 3, attempt: { runId: "run-a", number: 0, sequence: 1 } });
      await Promise.all([stalled.close(), replacing.close()]);
      const restarted = new MqttSinkProvider(sinkRequest("mqtt", options)).createWriter();
      await restarted.open({ ...context, lastCommittedEpoch: 4, attempt: { runId: "run-c", number: 0, sequence: 3 } });
      await restarted.close();
      const outbox = Outbox.open(folder);
      try {
        assert.deepEqual(outbox.peek(100).map((entry) => (JSON.parse(Buffer.from(entry.payload).toString()) as { v: number }).v), [10, 11]);
        assert.deepEqual(outbox.preparedEpochs(), []);
      } finally {
        await outbox.close();
      }
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

describe("the store-and-forward queue's fill level", { skip: findMosquitto() === undefined ? MOSQUITTO_MISSING : false }, () => {
  it("is in lastProgress's sink metrics and in Prometheus while the broker is away, and empties when it returns", async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-outbox-level-"));
    const broker = await startMosquitto();
    const session = inProcessSession();
    const progress: StreamingQueryProgress[] = [];
    const waiters: Array<() => void> = [];
    session.streams.addListener({
      onQueryProgress: ({ progress: report }) => {
        progress.push(report);
        for (const wake of waiters.splice(0)) wake();
      },
    });
    /** The first progress report from now on that satisfies `done`. */
    const progressWhere = async (done: (metrics: Readonly<Record<string, number>>) => boolean): Promise<Readonly<Record<string, number>>> => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const metrics = progress[progress.length - 1]?.sink.metrics;
        if (metrics && done(metrics)) return metrics;
        if (Date.now() > deadline) throw new Error(`no progress report with the expected sink metrics; the last: ${JSON.stringify(metrics)}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    };
    try {
      await broker.halt(); // the uplink is down from the start
      const input = new MemoryStream(session, z.object({ device: z.string(), value: z.number() }));
      const query = await input.toDF().writeStream.format("mqtt").option("url", broker.url).option("topic", "up/readings").option("qos", "1")
        .option("storeAndForward", join(folder, "queue")).option("maxQueueBytes", String(1 << 20)).option("checkpointLocation", join(folder, "checkpoint"))
        .trigger({ continuous: "200 milliseconds" }).start();
      const addedAt = Date.now();
      input.addData(Array.from({ length: 50 }, (_, index) => ({ device: `d${index % 5}`, value: index })));
      await query.processAllAvailable();
      const full = await progressWhere((metrics) => metrics.queuedMessages === 50 && (metrics.oldestQueuedAgeMs ?? 0) >= 400);
      assert.equal(full.capacityBytes, 1 << 20);
      assert.equal(full.deliveredMessages, 0);
      assert.ok((full.oldestQueuedAgeMs ?? 0) <= Date.now() - addedAt, `oldest age ${full.oldestQueuedAgeMs} ms, but the rows were added ${Date.now() - addedAt} ms ago`);
      await session.metrics.waitForEpoch(query.id, progress[progress.length - 1]?.batchId ?? 0);
      const text = await session.metrics.text();
      const labels = `{query="${query.id}",id="${query.id}"}`;
      assert.match(text, new RegExp(`rill_sink_queue_messages${escape(labels)} 50\\n`));
      assert.match(text, new RegExp(`rill_sink_queue_bytes${escape(labels)} ${full.queuedBytes}\\n`));
      assert.match(text, new RegExp(`rill_sink_queue_capacity_bytes${escape(labels)} ${1 << 20}\\n`));
      assert.match(text, /rill_sink_queue_oldest_age_seconds\{[^}]*\} 0\.[4-9]|rill_sink_queue_oldest_age_seconds\{[^}]*\} [1-9]/);
      assert.match(query.lastProgress ? formatProgress(query.lastProgress) : "", /sink queuedMessages \d+, queuedBytes/);
      // The dashboard's data: its card reads lastProgress.sink.metrics from /api/queries (and the same view from /events).
      const ui = await session.ui({ port: 0 });
      const views = (await (await fetch(`${ui.url}/api/queries`)).json()) as { queries: Array<{ id: string; lastProgress: StreamingQueryProgress | null }> };
      assert.equal(views.queries.find((view) => view.id === query.id)?.lastProgress?.sink.metrics?.queuedMessages, 50);

      await broker.resume();
      const empty = await progressWhere((metrics) => metrics.queuedMessages === 0);
      assert.deepEqual({ ...empty, capacityBytes: undefined }, { queuedMessages: 0, queuedBytes: 0, capacityBytes: undefined, oldestQueuedAgeMs: 0, deliveredMessages: 50 });
      await query.stop();
      // The oracle for the bytes: the queue's own messages, counted by the function that bounds it.
      const outbox = Outbox.open(join(folder, "queue"));
      try {
        assert.deepEqual(outbox.level(), { messages: 0, bytes: 0, oldestQueuedAt: undefined });
      } finally {
        await outbox.close();
      }
      const bytesOfFifty = progress.map((report) => report.sink.metrics).find((metrics) => metrics?.queuedMessages === 50)?.queuedBytes;
      const expectedBytes = Array.from({ length: 50 }, (_, index) => JSON.stringify({ device: `d${index % 5}`, value: index }).length + "up/readings".length).reduce((sum, size) => sum + size, 0);
      // Every id is `<queryId>:<epoch>:<index>`: the rest of the bytes are the ids'.
      assert.ok(bytesOfFifty !== undefined && bytesOfFifty > expectedBytes + 50 * (query.id.length + 4) && bytesOfFifty < expectedBytes + 50 * (query.id.length + 12), `queued bytes ${bytesOfFifty}`);
    } finally {
      await session.stop();
      await broker.stop();
      await rm(folder, { recursive: true, force: true });
    }
  });
});

function escape(text: string): string {
  return text.replace(/[{}"]/g, (character) => `\\${character}`);
}
