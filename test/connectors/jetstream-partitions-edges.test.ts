// Edge cases of the partitioned JetStream source against a real nats-server: a partition whose filter has matched no
// message yet (the query starts, epochs commit, its silence stops holding the watermark back after the idle timeout,
// its first message later is read), availableNow and once triggers on partitions (they end, with every row and every
// window), and startingOffsets latest and earliest on partitions, fresh and on a restart.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { col, count, window, z, type Session, type Trigger } from "../../src/index.ts";
import { CheckpointStorage } from "../../src/state/lmdb-storage.ts";
import { committedLines } from "../helpers/kill-runs.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const START = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const schema = z.object({ id: z.number().int(), device: z.string(), time: z.date() });

interface Event { readonly id: number; readonly device: string; readonly partition: number; readonly time: number }

/** Per-device counts in 1-minute windows of the given rows, as plain code computes them. */
function windowsOf(events: readonly Event[]): string[] {
  const windows = new Map<string, { device: string; start: number; end: number; n: number }>();
  for (const event of events) {
    const start = event.time - (event.time % MINUTE);
    const window = windows.get(`${event.device}/${start}`) ?? { device: event.device, start, end: start + MINUTE, n: 0 };
    window.n++;
    windows.set(`${event.device}/${start}`, window);
  }
  return [...windows.values()].map((window) => JSON.stringify(window)).sort();
}

async function committedWindows(output: string): Promise<string[]> {
  return (await committedLines(output)).map((line) => {
    const row = JSON.parse(line) as { device: string; start: number; end: number; n: number };
    return JSON.stringify({ device: row.device, start: row.start, end: row.end, n: row.n });
  }).sort();
}

async function lastOffsets(checkpoint: string): Promise<unknown> {
  const storage = CheckpointStorage.open(checkpoint);
  try {
    return storage.lastCommit()?.offsets;
  } finally {
    await storage.close();
  }
}

describe("jetstream source with partitions: idle and empty partitions, triggers that end, starting offsets", () => {
  let session: Session;
  let transport: NatsTransport;
  let folder: string;
  before(async () => {
    session = natsSession(server().options, { "rill.watermark.idleTimeout": "3 seconds", "rill.shuffle.partitions": 2 });
    transport = await NatsTransport.connect(server().options);
    folder = await mkdtemp(join(tmpdir(), "rill-jspart-edges-"));
  });
  after(async () => {
    await session.stop();
    await transport.close();
    await rm(folder, { recursive: true, force: true });
  });

  /** A stream `<name>` on `<name lower case>.>` and a publisher of events to `<prefix>.<partition>.<device>`, keeping each one's sequence. */
  const makeStream = async (name: string) => {
    await transport.jetstream().addStream({ name, subjects: [`${name.toLowerCase()}.>`], storage: "memory" });
    const published: Array<Event & { sequence: number }> = [];
    const publish = async (events: readonly Event[]) => {
      for (const event of events) {
        const ack = await transport.jetstream().publish(`${name.toLowerCase()}.${event.partition}.${event.device}`, new TextEncoder().encode(JSON.stringify({ id: event.id, device: event.device, time: new Date(event.time).toISOString() })));
        published.push({ ...event, sequence: ack.sequence });
      }
    };
    const lastOf = (partition: number) => Math.max(...published.filter((event) => event.partition === partition).map((event) => event.sequence));
    return { published, publish, lastOf };
  };

  /** `count` events from `from` on, 1 s of event time apart, on the devices given (device d in partition d % 3). */
  const events = (from: number, count: number, devices: readonly number[], at = START): Event[] =>
    Array.from({ length: count }, (_, index) => {
      const device = devices[index % devices.length] as number;
      return { id: from + index, device: `d${device}`, partition: device % 3, time: at + (from + index) * 1000 };
    });

  const windowedQuery = (stream: string, name: string, output: string, checkpoint: string, trigger: Trigger, options: Record<string, string> = {}) => {
    const prefix = stream.toLowerCase();
    let reader = session.readStream.format("jetstream").schema(schema).option("stream", stream).option("partitions", `${prefix}.0.*,${prefix}.1.*,${prefix}.2.*`);
    for (const [key, value] of Object.entries(options)) reader = reader.option(key, value);
    return reader.load().withWatermark("time", "10 seconds").groupBy(window(col("time"), "1 minute"), col("device")).agg(count("*").alias("n"))
      .selectExpr("device", "window.start as start", "window.end as end", "n")
      .writeStream.queryName(name).outputMode("append").format("json").option("path", output).option("checkpointLocation", checkpoint).trigger(trigger).start();
  };

  it("a partition whose filter matches no message yet: epochs commit, the watermark moves on after the idle timeout, its first message is read", { timeout: 180_000 }, async () => {
    const { published, publish, lastOf } = await makeStream("JE");
    const output = join(folder, "je-out");
    const checkpoint = join(folder, "je-cp");
    // Partitions 0 and 1 only: 5 minutes of event time.
    const first = events(0, 300, [0, 1, 3, 4]);
    await publish(first);
    const query = await windowedQuery("JE", "je", output, checkpoint, { continuous: "100 milliseconds" });
    await query.processAllAvailable();
    // Partition 2 has never sent a row: once it is idle (3 s), the watermark is the other two's, and the windows it
    // closes (every one ending 10 s before the latest row) are emitted and committed. Each processAllAvailable() runs an epoch.
    const closed = windowsOf(first.filter((event) => event.time - (event.time % MINUTE) + MINUTE <= START + 299 * 1000 - 10_000));
    assert.ok(closed.length >= 16, `windows to close: ${closed.length}`);
    const deadline = Date.now() + 60_000;
    let committed = await committedWindows(output);
    while (committed.length < closed.length && Date.now() < deadline) {
      await query.processAllAvailable();
      committed = await committedWindows(output);
    }
    assert.deepEqual(committed, closed, "the silent partition no longer holds the watermark back");
    // The empty partition's offset is where it started (nothing read: the sequence before the stream's first message).
    assert.deepEqual(await lastOffsets(checkpoint), { "s0-source-jetstream.p0": lastOf(0), "s0-source-jetstream.p1": lastOf(1), "s0-source-jetstream.p2": 0 });

    // Its first messages, at the front of event time (not late), then a far row on each partition closes every window.
    const second = events(300, 60, [0, 1, 2, 5]);
    await publish(second);
    await query.processAllAvailable();
    await publish([0, 1, 2].map((partition, index) => ({ id: 1000 + index, device: `f${partition}`, partition, time: START + 100 * MINUTE })));
    await query.processAllAvailable();
    await query.stop();
    assert.deepEqual(await committedWindows(output), windowsOf([...first, ...second]), "every window once, the late-starting partition's rows counted");
    assert.deepEqual(await lastOffsets(checkpoint), { "s0-source-jetstream.p0": lastOf(0), "s0-source-jetstream.p1": lastOf(1), "s0-source-jetstream.p2": lastOf(2) });
    assert.equal(published.length, 363);
  });

  for (const trigger of [{ availableNow: true }, { once: true }] as const) {
    const kind = "once" in trigger ? "once" : "availableNow";
    it(`trigger ${kind} on 3 partitions (one empty, maxOffsetsPerTrigger 40) ends with every row read and every window closed, and again on the checkpoint with the new rows`, { timeout: 180_000 }, async () => {
      const name = `JT${kind.toUpperCase()}`;
      const { publish, lastOf } = await makeStream(name);
      const output = join(folder, `${kind}-out`);
      const checkpoint = join(folder, `${kind}-cp`);
      const first = events(0, 200, [0, 1, 3]);
      await publish(first);
      let query = await windowedQuery(name, kind, output, checkpoint, trigger, { maxOffsetsPerTrigger: "40" });
      assert.equal(await query.awaitTermination(120_000), true, `the ${kind} run ended`);
      assert.equal(query.exception(), undefined);
      // Read limits apply per partition for availableNow (several epochs), not for once (one epoch).
      const epochs = query.recentProgress.filter((progress) => progress.numInputRows > 0).length;
      if (kind === "once") assert.equal(epochs, 1);
      else assert.ok(epochs >= 3, `availableNow ran ${epochs} epochs with rows`);
      // At the end of the run the empty partition holds nothing back: every window is closed but those within 10 s of the end.
      const closedBy = (rows: readonly Event[]) => {
        const watermark = Math.max(...rows.map((event) => event.time)) - 10_000;
        return windowsOf(rows.filter((event) => event.time - (event.time % MINUTE) + MINUTE <= watermark));
      };
      assert.deepEqual(await committedWindows(output), closedBy(first));
      assert.deepEqual(await lastOffsets(checkpoint), { [`s0-source-jetstream.p0`]: lastOf(0), [`s0-source-jetstream.p1`]: lastOf(1), [`s0-source-jetstream.p2`]: 0 });

      // Again on the checkpoint, now with rows in every partition.
      const second = events(200, 120, [0, 1, 2]);
      await publish(second);
      query = await windowedQuery(name, kind, output, checkpoint, trigger, { maxOffsetsPerTrigger: "40" });
      assert.equal(await query.awaitTermination(120_000), true, `the second ${kind} run ended`);
      assert.equal(query.exception(), undefined);
      assert.deepEqual(await committedWindows(output), closedBy([...first, ...second]));
      assert.deepEqual(await lastOffsets(checkpoint), { [`s0-source-jetstream.p0`]: lastOf(0), [`s0-source-jetstream.p1`]: lastOf(1), [`s0-source-jetstream.p2`]: lastOf(2) });
    });
  }

  it("startingOffsets latest and earliest on partitions: a fresh start reads from the stream's end or start for each partition, a restart from its checkpoint", { timeout: 180_000 }, async () => {
    const { publish } = await makeStream("JL");
    const ids = async (output: string) => (await committedLines(output)).map((line) => (JSON.parse(line) as { id: number }).id).sort((a, b) => a - b);
    const start = (output: string, checkpoint: string, startingOffsets: string) =>
      session.readStream.format("jetstream").schema(schema).option("stream", "JL").option("partitions", "jl.0.*,jl.1.*,jl.2.*").option("startingOffsets", startingOffsets).load()
        .select("id").writeStream.queryName(`jl_${startingOffsets}`).format("json").option("path", output).option("checkpointLocation", checkpoint).trigger({ continuous: "100 milliseconds" }).start();
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => from + index);
    await publish(events(0, 30, [0, 1, 2]));
    const latest = { output: join(folder, "latest-out"), checkpoint: join(folder, "latest-cp") };
    const earliest = { output: join(folder, "earliest-out"), checkpoint: join(folder, "earliest-cp") };
    let latestQuery = await start(latest.output, latest.checkpoint, "latest");
    let earliestQuery = await start(earliest.output, earliest.checkpoint, "earliest");
    // Partition 2 gets nothing after the start: its 'latest' offset stays the stream's end at the start.
    await publish(events(30, 40, [0, 1, 3, 4]));
    await latestQuery.processAllAvailable();
    await earliestQuery.processAllAvailable();
    await latestQuery.stop();
    await earliestQuery.stop();
    assert.deepEqual(await ids(latest.output), range(30, 70), "latest: only what came after the start");
    assert.deepEqual(await ids(earliest.output), range(0, 70), "earliest: everything");
    // Published while both are down; a restart resumes each partition from its checkpoint, whatever startingOffsets says.
    await publish(events(70, 30, [0, 1, 2]));
    latestQuery = await start(latest.output, latest.checkpoint, "latest");
    earliestQuery = await start(earliest.output, earliest.checkpoint, "earliest");
    await publish(events(100, 30, [2, 5]));
    await latestQuery.processAllAvailable();
    await earliestQuery.processAllAvailable();
    await latestQuery.stop();
    await earliestQuery.stop();
    assert.deepEqual(await ids(latest.output), range(30, 130), "latest, restarted: nothing lost while down, nothing twice");
    assert.deepEqual(await ids(earliest.output), range(0, 130), "earliest, restarted: nothing twice");
  });
});
