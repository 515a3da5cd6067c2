// The JetStream sink against a real nats-server with JetStream: de-duplicated replays, commits that publish once, errors.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { unpack } from "msgpackr";
import { InProcessTransport } from "../../src/actors/inprocess-transport.ts";
import type { JetStreamAccess, JetStreamMessage, JetStreamPublishAck } from "../../src/actors/jetstream.ts";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { JetStreamSinkProvider, MAX_UNACKED_PUBLISHES } from "../../src/connectors/sinks/jetstream.ts";
import { createSinkProvider } from "../../src/connectors/sinks/registry.ts";
import type { SinkContext, SinkWriter } from "../../src/connectors/sinks/sink.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { sinkRequest } from "./helpers.ts";

const context: SinkContext = { queryName: "counts", queryId: "q1", outputMode: "append", orderReproducible: true, checkpointed: true, lastCommittedEpoch: -1 };
const decoder = new TextDecoder();

let server: NatsServerHandle;
let transport: NatsTransport;
let access: JetStreamAccess;

before(async () => {
  server = await startNatsServer();
  transport = await NatsTransport.connect(server.options);
  access = transport.jetstream();
});
after(async () => {
  await transport.close();
  await server.stop();
});

async function writer(options: Record<string, string>): Promise<SinkWriter> {
  const created = new JetStreamSinkProvider(sinkRequest("jetstream", options, transport)).createWriter();
  await created.open(context);
  return created;
}

async function stored(stream: string): Promise<number> {
  return (await access.streamInfo(stream))?.messages ?? -1;
}

/** Every message of the stream, in order. */
async function readAll(stream: string): Promise<JetStreamMessage[]> {
  const cursor = await access.openCursor(stream, { startSequence: 1 });
  const messages: JetStreamMessage[] = [];
  try {
    for (let end = await cursor.end(); cursor.handedOut() < end; end = await cursor.end()) await cursor.fetch(end - cursor.handedOut(), 1000, (message) => messages.push(message));
  } finally {
    await cursor.close();
  }
  return messages;
}

const rows = (from: number, count: number) => Array.from({ length: count }, (_, index) => ({ key: `k${from + index}`, count: from + index }));
const ids = (epoch: number, count: number) => Array.from({ length: count }, (_, index) => `${epoch}.s0.${index}`);

describe("jetstream sink, transactional mode across a crash", () => {
  it("keeps prepared epochs in the checkpoint folder: a restart publishes the committed one and drops the other", async () => {
    const { mkdtemp, readdir, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const folder = await mkdtemp(join(tmpdir(), "rill-jetstream-sink-"));
    try {
      await access.addStream({ name: "TXCRASH", subjects: ["txcrash.out"], storage: "memory" });
      const crashed = new JetStreamSinkProvider(sinkRequest("jetstream", { subject: "txcrash.out", mode: "transactional" }, transport)).createWriter();
      await crashed.open({ ...context, checkpointLocation: folder });
      await crashed.endEpoch?.(0, rows(0, 5));
      await crashed.endEpoch?.(1, rows(5, 3));
      assert.equal(await stored("TXCRASH"), 0, "nothing is visible before a commit");
      // The process dies here: the checkpoint committed epoch 0, not epoch 1, and no commitEpoch ran.
      const restarted = new JetStreamSinkProvider(sinkRequest("jetstream", { subject: "txcrash.out", mode: "transactional" }, transport)).createWriter();
      await restarted.open({ ...context, checkpointLocation: folder, lastCommittedEpoch: 0 });
      const published = (await readAll("TXCRASH")).map((message) => JSON.parse(decoder.decode(message.payload)) as { key: string });
      assert.deepEqual(published.map((row) => row.key), rows(0, 5).map((row) => row.key));
      assert.deepEqual((await readdir(join(folder, "sinks", "jetstream-txcrash_out"))).filter((name) => name.endsWith(".msgpack")), [], "both prepared files are gone: one published, one discarded");
      await restarted.close();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  /** Writers of one checkpoint folder as attempts of a query: `number` is the attempt's rollback number in run "run-a". */
  async function attemptWriter(subject: string, folder: string, number: number, lastCommittedEpoch: number, runId = "run-a", sequence?: number): Promise<SinkWriter> {
    const created = new JetStreamSinkProvider(sinkRequest("jetstream", { subject, mode: "transactional" }, transport)).createWriter();
    await created.open({ ...context, checkpointLocation: folder, lastCommittedEpoch, attempt: sequence === undefined ? { runId, number } : { runId, number, sequence } });
    return created;
  }

  async function keysOf(stream: string): Promise<string[]> {
    return (await readAll(stream)).map((message) => (JSON.parse(decoder.decode(message.payload)) as { key: string }).key);
  }

  it("a stalled attempt that prepares a committed epoch again, after its commit, never has it published (a restart removes it)", async () => {
    const { mkdtemp, readdir, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const folder = await mkdtemp(join(tmpdir(), "rill-jetstream-sink-"));
    try {
      await access.addStream({ name: "TXSTALLED", subjects: ["txstalled.out"], storage: "memory" });
      const stalled = await attemptWriter("txstalled.out", folder, 0, -1);
      const next = await attemptWriter("txstalled.out", folder, 1, -1);
      await next.endEpoch?.(0, rows(100, 2));
      await next.commitEpoch?.(0);
      // The stalled attempt resumes and prepares epoch 0 again, with other (more) rows, after the next one published it.
      await stalled.endEpoch?.(0, rows(200, 5));
      const restarted = await attemptWriter("txstalled.out", folder, 0, 0, "run-b");
      assert.deepEqual(await keysOf("TXSTALLED"), rows(100, 2).map((row) => row.key), "epoch 0 as the committing attempt published it, once");
      assert.deepEqual((await readdir(join(folder, "sinks", "jetstream-txstalled_out"))).filter((name) => name.endsWith(".msgpack")), [], "the stalled preparation is removed");
      await Promise.all([stalled.close(), next.close(), restarted.close()]);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("a restart publishes a committed epoch prepared by a Rill before attempts (<epoch>.msgpack, the rows alone)", async () => {
    const { mkdir, mkdtemp, readdir, rm, writeFile } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { pack } = await import("msgpackr");
    const folder = await mkdtemp(join(tmpdir(), "rill-jetstream-sink-"));
    try {
      await access.addStream({ name: "TXLEGACY", subjects: ["txlegacy.out"], storage: "memory" });
      const sinkFolder = join(folder, "sinks", "jetstream-txlegacy_out");
      await mkdir(sinkFolder, { recursive: true });
      await writeFile(join(sinkFolder, "000000000002.msgpack"), pack(rows(30, 2)));
      await writeFile(join(sinkFolder, "000000000003.msgpack"), pack(rows(40, 2)));
      const restarted = await attemptWriter("txlegacy.out", folder, 0, 2, "run-b");
      assert.deepEqual(await keysOf("TXLEGACY"), rows(30, 2).map((row) => row.key), "the committed epoch published, the other discarded");
      assert.deepEqual((await readdir(sinkFolder)).filter((name) => name.endsWith(".msgpack")), []);
      await restarted.close();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("a crash between the checkpoint's commit and the publish: the restart publishes the committing attempt's preparation, not a stalled attempt's written after it", async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const folder = await mkdtemp(join(tmpdir(), "rill-jetstream-sink-"));
    try {
      await access.addStream({ name: "TXLATE", subjects: ["txlate.out"], storage: "memory" });
      const stalled = await attemptWriter("txlate.out", folder, 0, 3);
      const next = await attemptWriter("txlate.out", folder, 1, 3);
      await next.endEpoch?.(4, rows(10, 3));
      await stalled.endEpoch?.(4, rows(20, 6));
      // The checkpoint committed epoch 4 (the next attempt's), and the process died before the sink published it.
      const restarted = await attemptWriter("txlate.out", folder, 0, 4, "run-b");
      assert.deepEqual(await keysOf("TXLATE"), rows(10, 3).map((row) => row.key));
      // A second restart on the same checkpoint publishes nothing more.
      const again = await attemptWriter("txlate.out", folder, 0, 4, "run-c");
      assert.equal(await stored("TXLATE"), 3);
      await Promise.all([stalled.close(), next.close(), restarted.close(), again.close()]);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("across two drivers' runs, the restart publishes the preparation of the attempt that began later on the checkpoint, though the stalled driver's writer opened after it", async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const folder = await mkdtemp(join(tmpdir(), "rill-jetstream-sink-"));
    try {
      await access.addStream({ name: "TXRUNS", subjects: ["txruns.out"], storage: "memory" });
      // Driver A began its attempt (sequence 1 in the checkpoint's fence) and stalled before opening its sink; driver B
      // took the checkpoint over (sequence 2) and opened its sink; then A's sink opened (a later clock reading). B
      // prepared epoch 4 and committed it, A prepared 4 too, and B died before publishing.
      const committing = await attemptWriter("txruns.out", folder, 0, 3, "run-b", 2);
      const stalled = await attemptWriter("txruns.out", folder, 0, 3, "run-a", 1);
      await committing.endEpoch?.(4, rows(10, 3));
      await stalled.endEpoch?.(4, rows(20, 6));
      const restarted = await attemptWriter("txruns.out", folder, 0, 4, "run-c", 3);
      assert.deepEqual(await keysOf("TXRUNS"), rows(10, 3).map((row) => row.key), "epoch 4 as driver B prepared it");
      await Promise.all([stalled.close(), committing.close(), restarted.close()]);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("across two drivers' runs, the stalled driver's writer opening after its replacement prepared an epoch leaves that preparation, which a restart publishes", async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const folder = await mkdtemp(join(tmpdir(), "rill-jetstream-sink-"));
    try {
      await access.addStream({ name: "TXSTALE", subjects: ["txstale.out"], storage: "memory" });
      // Driver A began (sequence 1) and stalled before opening its sink; driver B took the checkpoint over (sequence 2),
      // opened its sink and prepared epoch 4; then A's sink opened, resuming after 3 as B did. The checkpoint committed
      // epoch 4 and B died before publishing it: the restart finishes it from B's preparation.
      const committing = await attemptWriter("txstale.out", folder, 0, 3, "run-b", 2);
      await committing.endEpoch?.(4, rows(10, 3));
      const stalled = await attemptWriter("txstale.out", folder, 0, 3, "run-a", 1);
      const restarted = await attemptWriter("txstale.out", folder, 0, 4, "run-c", 3);
      assert.deepEqual(await keysOf("TXSTALE"), rows(10, 3).map((row) => row.key), "epoch 4 as driver B prepared it");
      await Promise.all([stalled.close(), committing.close(), restarted.close()]);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe("jetstream sink", () => {
  it("publishes each row at once in idempotent mode, and a replay of the same row ids adds nothing", async () => {
    await access.addStream({ name: "IDEM", subjects: ["idem.out"], storage: "memory" });
    const provider = new JetStreamSinkProvider(sinkRequest("jetstream", { subject: "idem.out" }, transport));
    assert.equal(provider.guarantee, "idempotent");
    assert.match(provider.description, /duplicate_window/);
    const first = await writer({ subject: "idem.out" });
    assert.equal(first.needsRowIds, true);
    const count = MAX_UNACKED_PUBLISHES * 2 + 500;
    await first.write?.(rows(0, count), undefined, ids(0, count));
    await first.endEpoch?.(0, []);
    assert.equal(await stored("IDEM"), count, "every row is stored once its write and barrier return");
    await first.close();

    // A restart replays the epoch: same ids, so the stream drops them; the new rows after them are kept.
    const replay = await writer({ subject: "idem.out" });
    await replay.write?.(rows(0, count), undefined, ids(0, count));
    await replay.write?.(rows(count, 3), undefined, ids(1, 3));
    await replay.endEpoch?.(1, []);
    await replay.close();
    const messages = await readAll("IDEM");
    assert.equal(messages.length, count + 3);
    assert.deepEqual(messages.map((message) => JSON.parse(decoder.decode(message.payload)).count), Array.from({ length: count + 3 }, (_, index) => index));
  });

  it("publishes nothing in transactional mode before commitEpoch, all of the epoch after, and a repeated commit adds nothing", async () => {
    await access.addStream({ name: "TXN", subjects: ["txn.>"], storage: "memory" });
    const provider = new JetStreamSinkProvider(sinkRequest("jetstream", { subject: "txn.out", mode: "Transactional", encoding: "msgpack" }, transport));
    assert.equal(provider.guarantee, "transactional");
    const first = provider.createWriter();
    await first.open(context);
    await first.endEpoch?.(0, rows(0, 1500));
    assert.equal(await stored("TXN"), 0, "nothing is visible before the commit");
    await first.commitEpoch?.(0);
    assert.equal(await stored("TXN"), 1500);
    await first.commitEpoch?.(0);
    assert.equal(await stored("TXN"), 1500, "a second commit of the epoch publishes nothing");

    // A crash after the commit: the restarted query prepares and commits epoch 0 again, and the stream drops it.
    const restarted = provider.createWriter();
    await restarted.open(context);
    await restarted.endEpoch?.(0, rows(0, 1500));
    await restarted.commitEpoch?.(0);
    assert.equal(await stored("TXN"), 1500);
    await restarted.endEpoch?.(1, rows(1500, 2));
    await restarted.commitEpoch?.(1);
    await restarted.close();
    const messages = await readAll("TXN");
    assert.equal(messages.length, 1502);
    assert.deepEqual(unpack(messages[1501]?.payload as Uint8Array), { key: "k1501", count: 1501 });
  });

  it("keeps at most MAX_UNACKED_PUBLISHES publishes waiting for their ack, and a failed ack fails the write", async () => {
    const acks: Array<(ack: JetStreamPublishAck) => void> = [];
    let failNext = false;
    const fake: JetStreamAccess = {
      streamInfo: () => Promise.reject(new Error("unused")),
      addStream: () => Promise.reject(new Error("unused")),
      deleteStream: () => Promise.reject(new Error("unused")),
      resolveStart: () => Promise.reject(new Error("unused")),
      openCursor: () => Promise.reject(new Error("unused")),
      findStream: async () => "SLOW",
      publish: () => (failNext ? Promise.reject(new Error("stream is full")) : new Promise((resolve) => acks.push(resolve))),
    };
    const slow = Object.assign(new InProcessTransport(), { jetstream: () => fake });
    const created = new JetStreamSinkProvider(sinkRequest("jetstream", { subject: "slow.out" }, slow)).createWriter();
    await created.open(context);
    let written = false;
    const write = Promise.resolve(created.write?.(rows(0, MAX_UNACKED_PUBLISHES + 10), undefined, ids(0, MAX_UNACKED_PUBLISHES + 10))).then(() => (written = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(acks.length, MAX_UNACKED_PUBLISHES, "publishing stops at the window");
    assert.equal(written, false);
    for (const ack of acks.splice(0)) ack({ stream: "SLOW", sequence: 1, duplicate: false });
    await write;
    assert.equal(acks.length, 10);
    for (const ack of acks.splice(0)) ack({ stream: "SLOW", sequence: 1, duplicate: false });
    failNext = true;
    await created.write?.(rows(0, 1), undefined, ids(1, 1));
    await assert.rejects(Promise.resolve(created.endEpoch?.(1, [])), /Publishing to 'slow\.out' failed: .*stream is full/);
  });

  it("refuses a subject no stream captures, naming it, when opened", async () => {
    const orphan = new JetStreamSinkProvider(sinkRequest("jetstream", { subject: "nowhere.out" }, transport)).createWriter();
    await assert.rejects(orphan.open(context), (error: Error) => error instanceof ConfigError && /Option 'subject' of the jetstream sink is 'nowhere\.out', but no JetStream stream .* captures it/.test(error.message));
  });

  it("checks its options and its transport when constructed", () => {
    const rejects = (options: Record<string, string>, pattern: RegExp) => assert.throws(() => new JetStreamSinkProvider(sinkRequest("jetstream", options, transport)), (error: Error) => error instanceof ConfigError && pattern.test(error.message));
    rejects({}, /Option 'subject' of the jetstream sink is missing/);
    rejects({ subject: "out.>" }, /'subject' .* 'out\.>'.*no wildcards/);
    rejects({ subject: "out", mode: "exactly-once" }, /Option 'mode' .* is 'exactly-once'; it must be one of 'idempotent', 'transactional'/);
    rejects({ subject: "out", encoding: "xml" }, /'encoding' .* 'xml'/);
    rejects({ subject: "out", mod: "idempotent" }, /Unknown option 'mod' .* Did you mean 'mode'\?/);
    assert.ok(new JetStreamSinkProvider(sinkRequest("jetstream", { subject: "out", checkpointLocation: "/tmp/x" }, transport)));
    assert.throws(() => createSinkProvider(sinkRequest("jetstream", { subject: "out" }, new InProcessTransport())), (error: Error) => error instanceof ConfigError && /format\('jetstream'\) needs a NATS transport/.test(error.message));
  });
});
