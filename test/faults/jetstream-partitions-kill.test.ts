// Exactly-once for the partitioned JetStream source (`partitions`) with the query's own process SIGKILLed: a windowed
// count over 3 partitions into the JSON file sink and into the transactional JetStream sink, killed at random moments and frozen-then-killed at named fault points
// while a publisher keeps writing (also while the query is down), with one partition silent for a stretch; the
// committed windows equal plain code's, each once.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { CheckpointStorage } from "../../src/state/lmdb-storage.ts";
import { committedLines, killSeed, runWithKills } from "../helpers/kill-runs.ts";
import { readStream } from "./chaos/outputs.ts";
import { childEnvironment, useNatsServer } from "../helpers/nats.ts";

const server = useNatsServer();
const CHILD = join(import.meta.dirname, "jetstream-partitions-child.ts");
const START = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
/** Devices d0..d8; device d goes to partition d % 3, as a `{{partition(3,...)}}` subject mapping would put it. */
const DEVICES = 9;
/** Event time advances 200 ms a row, plus up to 3 s of disorder: less than the 10-second watermark delay, so no row is late. */
const STEP_MS = 200;
/**
 * Rows [idleFrom, idleTo) go to partitions 0 and 1 only: partition 2 is silent, its barriers alone going on; it holds the
 * watermark back (the child's idle timeout is 60 s). With RILL_JSPART_IDLE_TIMEOUT=2s the child takes a silent partition
 * for idle after 2 s, and so a lagging one too: on a loaded machine (load 13-16) windows then come out short, their
 * lagging partition's rows dropped as late (RILL_KILL_SEED=777). The idle timeout itself is tested in
 * test/connectors/jetstream-partitions-edges.test.ts.
 */
interface Silence { readonly idleFrom: number; readonly idleTo: number }
/** Rows written at least (more when the kills take longer), past the silence of the first test. */
const MIN_ROWS = 2000;
/** Far ahead of every row: one such row a partition at the end moves the final watermark past every other window. */
const FAR = START + 1000 * MINUTE;

interface Event { readonly id: number; readonly device: string; readonly time: number; readonly partition: number; sequence: number }

/** Plain code: per-device counts in 1-minute windows, every window of the rows before the far ones (whose windows stay open). */
function oracle(events: readonly Event[]): string[] {
  const windows = new Map<string, { device: string; start: number; end: number; n: number }>();
  for (const event of events) {
    if (event.time >= FAR) continue;
    const start = event.time - (event.time % MINUTE);
    const key = `${event.device}/${start}`;
    const window = windows.get(key) ?? { device: event.device, start, end: start + MINUTE, n: 0 };
    window.n++;
    windows.set(key, window);
  }
  return [...windows.values()].map((window) => JSON.stringify(window)).sort();
}

async function committedWindows(output: string): Promise<string[]> {
  return (await committedLines(output)).map((line) => {
    const row = JSON.parse(line) as { device: string; start: number; end: number; n: number };
    return JSON.stringify({ device: row.device, start: row.start, end: row.end, n: row.n });
  }).sort();
}

/** Publishes events to `<prefix>.<partition>.<device>`, one at a time so each one's sequence is known. */
class Publisher {
  readonly events: Event[] = [];
  private readonly random = mulberry32(4711);
  private stopping = false;
  private minRows = 0;
  private running: Promise<void> | undefined;
  constructor(private readonly transport: NatsTransport, private readonly prefix: string, private readonly silence: Silence) {}

  async publish(event: Omit<Event, "sequence">): Promise<void> {
    const ack = await this.transport.jetstream().publish(`${this.prefix}.${event.partition}.${event.device}`, new TextEncoder().encode(JSON.stringify({ id: event.id, device: event.device, time: new Date(event.time).toISOString() })));
    this.events.push({ ...event, sequence: ack.sequence });
  }

  /** The next row: a device of partition 0 or 1 while partition 2 is silent. */
  next(): Omit<Event, "sequence"> {
    const id = this.events.length;
    let device = Math.floor(this.random() * DEVICES);
    if (id >= this.silence.idleFrom && id < this.silence.idleTo && device % 3 === 2) device = (device + 1) % DEVICES;
    return { id, device: `d${device}`, partition: device % 3, time: START + id * STEP_MS + Math.floor(this.random() * 3000) };
  }

  /** Publishes `count` rows now. */
  async burst(count: number): Promise<void> {
    for (let index = 0; index < count; index++) await this.publish(this.next());
  }

  /** Publishes about 100 rows a second (a paced writer, not an awaited event) until stop(). */
  start(): void {
    this.running = (async () => {
      while (!this.stopping || this.events.length < this.minRows) {
        await this.burst(5);
        // Paced while the kills go on; once stop() is asked for, the rest without pauses.
        if (!this.stopping) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
  }

  /** Stops the writer once it has written at least `rows`, then publishes one far row to each partition. */
  async stop(rows: number): Promise<void> {
    this.minRows = rows;
    this.stopping = true;
    await this.running;
    for (let partition = 0; partition < 3; partition++) await this.publish({ id: this.events.length, device: `d${partition}`, partition, time: FAR });
  }

  lastSequence(partition: number): number {
    return Math.max(...this.events.filter((event) => event.partition === partition).map((event) => event.sequence));
  }
}

describe("a partitioned JetStream source: exactly-once with the query's process SIGKILLed", () => {
  let folder: string;
  let transport: NatsTransport;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-jspart-kill-"));
    transport = await NatsTransport.connect(server().options);
  });
  after(async () => {
    await transport.close();
    if (process.env.RILL_KEEP_FOLDER) console.log(`kept ${folder}`);
    else await rm(folder, { recursive: true, force: true });
  });

  const offsetsOf = async (checkpoint: string): Promise<unknown> => {
    const storage = CheckpointStorage.open(checkpoint);
    try {
      return storage.lastCommit()?.offsets;
    } finally {
      await storage.close();
    }
  };

  /** Runs the child to the end through the kills while the publisher writes; the committed windows must equal plain code's. */
  const killRun = async (stream: string, silence: Silence, kills: ReadonlyArray<number | { readonly faultPoint: string }>, seed: number): Promise<void> => {
    await transport.jetstream().addStream({ name: stream, subjects: [`${stream.toLowerCase()}.>`], storage: "file" });
    // The JetStream sink's stream, with a duplicate window longer than the test: a replayed publish is dropped.
    await transport.jetstream().addStream({ name: `${stream}OUT`, subjects: [`${stream.toLowerCase()}out.>`], storage: "file", duplicateWindowMs: 3_600_000 });
    const publisher = new Publisher(transport, stream.toLowerCase(), silence);
    const output = join(folder, `${stream}-output`);
    const checkpoint = join(folder, `${stream}-checkpoint`);
    await mkdir(output);
    await publisher.burst(100);
    publisher.start();
    const runs = await runWithKills({
      script: CHILD,
      args: (run) => [run === kills.length ? "final" : "run", stream, output, checkpoint],
      env: childEnvironment(server()),
      killAfterEpochs: kills,
      random: mulberry32(seed + 1),
      beforeLastRun: () => publisher.stop(MIN_ROWS),
    });
    const described = `kills ${JSON.stringify(kills)} (RILL_KILL_SEED=${seed}), ${publisher.events.length} rows`;
    assert.equal(runs.kills, kills.length, described);
    const expected = oracle(publisher.events);
    assert.ok(expected.length > 30, `windows to compare: ${expected.length}`);
    const committed = await committedWindows(output);
    assert.equal(new Set(committed).size, committed.length, `no window committed twice: ${described}`);
    assert.deepEqual(committed, expected, described);
    const published = (await readStream(transport.jetstream(), `${stream}OUT`)).map((row) => JSON.stringify({ device: row.device, start: row.start, end: row.end, n: row.n })).sort();
    assert.equal(new Set(published).size, published.length, `no window published twice by the JetStream sink: ${described}`);
    assert.deepEqual(published, expected, `the JetStream sink: ${described}`);
    assert.deepEqual(await offsetsOf(checkpoint), { "s0-source-jetstream.p0": publisher.lastSequence(0), "s0-source-jetstream.p1": publisher.lastSequence(1), "s0-source-jetstream.p2": publisher.lastSequence(2) });
  };

  it("a windowed count over 3 partitions, one silent for a stretch, killed 9 times (random moments and fault points) while rows keep arriving, commits each window once", { timeout: 600_000 }, async () => {
    const seed = killSeed();
    const random = mulberry32(seed);
    // Aimed kills: frozen in the coordinator before and after the commit record, in LMDB's fold, in the sink's and the
    // file sink's commit, in the recovery of a restart; random kills between them.
    const kills = [
      1 + Math.floor(random() * 3), { faultPoint: "before-commit:3" }, { faultPoint: "after-commit:4" }, 1 + Math.floor(random() * 3),
      { faultPoint: "file-sink-commit:2" }, { faultPoint: "fold:3" }, { faultPoint: "sink-commit:5" }, { faultPoint: "recovery:1" }, 1 + Math.floor(random() * 3),
    ];
    await killRun("JK", { idleFrom: 300, idleTo: 1300 }, kills, seed);
  });

  it("a partition whose filter matches no message until the end: killed 8 times while the others' rows arrive, each window once", { timeout: 600_000 }, async () => {
    const seed = killSeed();
    const random = mulberry32(seed + 2);
    // Frozen inside the JetStream sink's commit (published, not yet flushed), then in the next run's recovery of that
    // committed epoch, which it publishes again with the same message ids; then with an epoch published and recorded,
    // its prepared file not yet removed (the restart removes it unpublished).
    const kills = [
      1 + Math.floor(random() * 3), { faultPoint: "after-commit:3" }, { faultPoint: "recovery:1" }, 1 + Math.floor(random() * 3),
      { faultPoint: "jetstream-sink-commit:3" }, { faultPoint: "sink-recover:1" }, { faultPoint: "jetstream-sink-published:2" }, { faultPoint: "before-commit:2" },
    ];
    // The silence starts with the first row: partition 2's first message is its far row, after the last kill.
    await killRun("JN", { idleFrom: 0, idleTo: Number.POSITIVE_INFINITY }, kills, seed);
  });
});
