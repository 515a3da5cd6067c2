// Store-and-forward to MQTT: the uplink (a Mosquitto the test starts) cut for 30 s under load, the query SIGKILLed
// while its queue holds undelivered records, and a full queue that stops the query instead of dropping.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt from "mqtt";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";
import { Outbox } from "../../src/state/lmdb-outbox.ts";
import { findMosquitto, MOSQUITTO_MISSING, startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.ts";
import { childEnvironment } from "../helpers/nats.ts";

const CHILD = join(import.meta.dirname, "uplink-child.ts");
const TOPIC = "gateway/readings";
const CUT_MS = 30_000;

/** The far end: a persistent MQTT 5 session that keeps every message with its `rill-id`, in arrival order. */
class FarEnd {
  readonly arrivals: { id: string; value: number; device: number }[] = [];
  private waiters: (() => void)[] = [];
  private constructor(private readonly client: mqtt.MqttClient) {
    client.on("message", (_topic, payload, packet) => {
      const property = packet.properties?.userProperties?.["rill-id"];
      const row = JSON.parse(payload.toString()) as { id: number; device: number };
      this.arrivals.push({ id: Array.isArray(property) ? String(property[0]) : String(property), value: row.id, device: row.device });
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  static async connect(url: string, clientId: string): Promise<FarEnd> {
    const client = await mqtt.connectAsync(url, { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 200 });
    await client.subscribeAsync(TOPIC, { qos: 1 });
    return new FarEnd(client);
  }

  /** Distinct values received, after de-duplicating on rill-id. */
  distinct(): Set<number> {
    return new Set(this.unique().map((arrival) => arrival.value));
  }

  /** The first arrival of each rill-id, in arrival order. */
  unique(): { id: string; value: number; device: number }[] {
    const seen = new Set<string>();
    return this.arrivals.filter((arrival) => !seen.has(arrival.id) && seen.add(arrival.id));
  }

  async waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${this.arrivals.length} arrivals, ${this.distinct().size} distinct)`);
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), new Promise((resolve) => setTimeout(resolve, 500))]);
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** A child query and the epochs it reported. */
class Query {
  readonly epochs: number[] = [];
  stderr = "";
  readonly exited: Promise<void>;
  private constructor(readonly child: ChildProcess) {
    child.stdout?.on("data", (chunk: Buffer) => {
      for (const match of chunk.toString().matchAll(/epoch (\d+) \d+/g)) this.epochs.push(Number(match[1]));
    });
    child.stderr?.on("data", (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  static start(server: NatsServerHandle, checkpoint: string, sink: Record<string, string>, rate: number): Query {
    const env = { ...childEnvironment(server), RILL_TEST_UPLINK: JSON.stringify(sink), RILL_TEST_RATE: String(rate) };
    return new Query(spawn(process.execPath, ["--import", "tsx", CHILD, checkpoint], { stdio: ["ignore", "pipe", "pipe"], env }));
  }

  async epochsAfter(count: number, timeoutMs: number): Promise<void> {
    const target = this.epochs.length + count;
    const deadline = Date.now() + timeoutMs;
    while (this.epochs.length < target) {
      if (this.child.exitCode !== null) throw new Error(`the query exited (code ${this.child.exitCode}): ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no ${count} epochs within ${timeoutMs} ms: ${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }
}

/**
 * Reads the queue's level from outside the query (LMDB allows readers in other processes). `values`: the queued rows'
 * ids, and those of epochs prepared but not moved in yet (a kill between the checkpoint's commit and the queue's).
 */
async function queueLevel(folder: string): Promise<{ messages: number; bytes: number; values: number[]; entries: { id: string; value: number }[] }> {
  const outbox = Outbox.open(folder);
  try {
    const level = outbox.level();
    const entries = [...outbox.peek(1_000_000), ...outbox.prepared()].map((message) => ({ id: message.id, value: (JSON.parse(Buffer.from(message.payload).toString()) as { id: number }).id }));
    return { ...level, entries, values: entries.map((entry) => entry.value) };
  } finally {
    await outbox.close();
  }
}

/** Values below the lowest still queued that have not arrived: in transit (acked by the broker, on the way to the far end) or lost. */
function gaps(far: FarEnd, queued: readonly number[]): number {
  const arrived = far.distinct();
  const waiting = queued.filter((value) => !arrived.has(value));
  const end = waiting.length > 0 ? Math.min(...waiting) : Math.max(-1, ...arrived) + 1;
  let missing = 0;
  for (let value = 0; value < end; value++) if (!arrived.has(value)) missing++;
  return missing;
}

/** Every value in 0..max exactly once across what arrived (de-duplicated by id) and what is still queued; per device in order. */
function assertExactlyOnce(far: FarEnd, queued: readonly { id: string; value: number }[]): number {
  const unique = far.unique();
  // A message the broker acked just before the kill is still queued (removed after the ack): the same id, once.
  const arrivedIds = new Set(unique.map((arrival) => arrival.id));
  const values = [...unique.map((arrival) => arrival.value), ...queued.filter((entry) => !arrivedIds.has(entry.id)).map((entry) => entry.value)];
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  const max = Math.max(...values);
  const missing = Array.from({ length: max + 1 }, (_, value) => value).filter((value) => !counts.has(value));
  const twice = [...counts].filter(([, count]) => count > 1).map(([value]) => value);
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} values lost`);
  assert.deepEqual(twice.slice(0, 20), [], `${twice.length} values queued twice under different ids`);
  // The same id always carries the same row.
  const byId = new Map(unique.map((arrival) => [arrival.id, arrival.value]));
  for (const arrival of far.arrivals) assert.equal(arrival.value, byId.get(arrival.id), `id ${arrival.id} carried two rows`);
  const last = new Map<number, number>();
  for (const arrival of unique) {
    assert.equal(arrival.device, arrival.value % 5);
    assert.ok((last.get(arrival.device) ?? -1) < arrival.value, `device ${arrival.device}: ${arrival.value} after ${last.get(arrival.device)}`);
    last.set(arrival.device, arrival.value);
  }
  return max + 1;
}

describe("the store-and-forward MQTT sink", { skip: findMosquitto() === undefined ? MOSQUITTO_MISSING : false }, () => {
  let server: NatsServerHandle;
  let folder: string;
  before(async () => {
    server = await startNatsServer();
    folder = await mkdtemp(join(tmpdir(), "rill-uplink-"));
  });
  after(async () => {
    await server.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("delivers every record once (by id) and in order per device after a 30 s uplink cut, with a SIGKILL while records wait in the queue", { timeout: 300_000 }, async () => {
    const broker: MosquittoHandle = await startMosquitto({ persistence: true });
    const far = await FarEnd.connect(broker.url, "uplink-far-end");
    const checkpoint = join(folder, "cut-checkpoint");
    const queue = join(folder, "cut-queue");
    const sink = { url: broker.url, topic: TOPIC, qos: "1", clientId: "uplink-gateway", storeAndForward: queue, connectTimeout: "2s" };
    let query = Query.start(server, checkpoint, sink, 400);
    try {
      await far.waitFor(() => far.distinct().size >= 400, 60_000, "the first 400 records before the cut");
      const cutAt = Date.now();
      await broker.halt();
      // Producing goes on: epochs keep committing into the queue while the broker is away.
      await query.epochsAfter(10, 30_000);
      const beforeKill = await queueLevel(queue);
      assert.ok(beforeKill.messages > 0, "the queue holds undelivered records when the query is killed");
      await query.kill();
      query = Query.start(server, checkpoint, sink, 400);
      await query.epochsAfter(5, 60_000);
      const waited = Date.now() - cutAt;
      if (waited < CUT_MS) await new Promise((resolve) => setTimeout(resolve, CUT_MS - waited));
      const duringCut = await queueLevel(queue);
      assert.ok(duringCut.messages > beforeKill.messages, `the queue grew during the cut (${beforeKill.messages} -> ${duringCut.messages})`);
      const arrivedBeforeResume = far.distinct().size;
      await broker.resume();
      const target = Math.max(...duringCut.values) + 1;
      await far.waitFor(() => far.distinct().size >= target, 120_000, `the ${target} records produced up to the end of the cut`);
      assert.ok(far.distinct().size > arrivedBeforeResume);
      await query.kill();
      const left = await queueLevel(queue);
      // What the broker acked before the kill may still be on its way to the far end.
      await far.waitFor(() => gaps(far, left.values) === 0, 30_000, "the records in transit").catch(() => undefined);
      const total = assertExactlyOnce(far, left.entries);
      process.stdout.write(`# uplink cut ${Math.round((Date.now() - cutAt) / 1000)} s: ${total} records, ${duringCut.messages} queued at the end of the cut, ${far.arrivals.length - far.unique().length} resent (same id), none lost\n`);
    } finally {
      await query.kill();
      await far.close();
      await broker.stop();
    }
  });

  it("stops the query when the queue is full and the broker away, and resumes when it returns, dropping nothing", { timeout: 300_000 }, async () => {
    const broker: MosquittoHandle = await startMosquitto({ persistence: true });
    const far = await FarEnd.connect(broker.url, "uplink-far-end-full");
    const checkpoint = join(folder, "full-checkpoint");
    const queue = join(folder, "full-queue");
    const maxQueueBytes = 20_000;
    const sink = { url: broker.url, topic: TOPIC, qos: "1", clientId: "uplink-gateway-full", storeAndForward: queue, maxQueueBytes: String(maxQueueBytes), connectTimeout: "2s" };
    await broker.halt();
    const query = Query.start(server, checkpoint, sink, 400);
    try {
      // ~70 bytes a record: the queue is full after some 300 records, under a second at 400 records/s.
      let level = await queueLevel(queue).catch(() => ({ messages: 0, bytes: 0, values: [] as number[], entries: [] as { id: string; value: number }[] }));
      const deadline = Date.now() + 60_000;
      let stalled = 0;
      let lastEpochs = -1;
      // Full: the epochs stop. Watch the progress until it has stood still for 3 s with the queue near its bound.
      while (stalled < 3) {
        if (Date.now() > deadline) throw new Error(`the query did not stop (${query.epochs.length} epochs, queue ${level.bytes} bytes): ${query.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        level = await queueLevel(queue);
        stalled = query.epochs.length === lastEpochs && level.bytes > maxQueueBytes / 2 ? stalled + 1 : 0;
        lastEpochs = query.epochs.length;
      }
      // Over the bound only when epochs went into an empty queue (the one committing and the next; the rate source
      // catches up after a slow start with a large epoch).
      const epochsQueued = new Set(level.entries.map((entry) => entry.id.split(":")[1]));
      assert.ok(level.bytes <= maxQueueBytes || epochsQueued.size <= 2, `the queue holds ${level.bytes} bytes in ${epochsQueued.size} epochs, over its bound ${maxQueueBytes}`);
      const stoppedAt = query.epochs.length;
      await broker.resume();
      await query.epochsAfter(10, 60_000);
      assert.ok(query.epochs.length > stoppedAt);
      const target = Math.max(...level.values) + 1 + 400;
      await far.waitFor(() => far.distinct().size >= target, 120_000, `${target} records after the broker returned`);
      await query.kill();
      const left = await queueLevel(queue);
      // What the broker acked before the kill may still be on its way to the far end.
      await far.waitFor(() => gaps(far, left.values) === 0, 30_000, "the records in transit").catch(() => undefined);
      const total = assertExactlyOnce(far, left.entries);
      process.stdout.write(`# full queue: stopped at ${level.messages} records / ${level.bytes} bytes (bound ${maxQueueBytes}), resumed, ${total} records, none lost\n`);
    } finally {
      await query.kill();
      await far.close();
      await broker.stop();
    }
  });
});
