// A partitioned JetStream source against a real nats-server: one source actor and one offset per filter subject, every
// message once and in order within its partition, an exact restart, and a changed partition list refused at start().
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import type { JetStreamAccess } from "../../src/actors/jetstream.ts";
import { JetStreamSourceProvider } from "../../src/connectors/sources/jetstream.ts";
import { CheckpointError, ConfigError, z, type Session } from "../../src/index.ts";
import { CheckpointStorage } from "../../src/state/lmdb-storage.ts";
import { schemaFromZod } from "../../src/core/zod-schema.ts";
import { committedLines } from "../helpers/kill-runs.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";
import { sourceRequest } from "./helpers.ts";

const server = useNatsServer();
const encoder = new TextEncoder();
const event = z.object({ id: z.number().int(), device: z.string(), n: z.number().int() });
const DEVICES = 6;
const PARTITIONS = "jp.0.>,jp.1.>,jp.2.>";

/** Device d goes to partition d % 3, as the stream's subject mapping `jp.*.>` -> `jp.{{partition(3,...)}}.>` would put it. */
function partitionOf(device: number): number {
  return device % 3;
}

interface Published {
  readonly id: number;
  readonly device: number;
  readonly n: number;
  readonly sequence: number;
}

describe("jetstream source with partitions", () => {
  let session: Session;
  let transport: NatsTransport;
  let access: JetStreamAccess;
  let folder: string;
  const published: Published[] = [];
  const counters = new Array<number>(DEVICES).fill(0);

  before(async () => {
    session = natsSession(server().options);
    transport = await NatsTransport.connect(server().options);
    access = transport.jetstream();
    folder = await mkdtemp(join(tmpdir(), "rill-jspart-"));
    await access.addStream({ name: "JP", subjects: ["jp.>"], storage: "memory" });
  });
  after(async () => {
    await session.stop();
    await transport.close();
    await rm(folder, { recursive: true, force: true });
  });

  /** Publishes `count` events round-robin over the devices, one at a time, so the stream sequence is known. */
  const publish = async (count: number): Promise<void> => {
    for (let index = 0; index < count; index++) {
      const id = published.length;
      const device = (id * 7) % DEVICES;
      const n = counters[device] as number;
      counters[device] = n + 1;
      const ack = await access.publish(`jp.${partitionOf(device)}.d${device}`, encoder.encode(JSON.stringify({ id, device: `d${device}`, n })));
      published.push({ id, device, n, sequence: ack.sequence });
    }
  };

  const start = (output: string, checkpoint: string, partitions = PARTITIONS) =>
    session.readStream.format("jetstream").schema(event).option("stream", "JP").option("partitions", partitions).load()
      .writeStream.queryName("jspart").format("json").option("path", output).option("checkpointLocation", checkpoint)
      .trigger({ continuous: "100 milliseconds" }).start();

  const outputRows = async (output: string) => (await committedLines(output)).map((line) => event.parse(JSON.parse(line)));

  it("refuses a wrong partition list when the query starts, naming the option (a filter outside the stream when the partition opens)", async () => {
    const provider = (options: Record<string, string>) => new JetStreamSourceProvider(sourceRequest("jetstream", { stream: "JP", ...options }, { schema: schemaFromZod(event), transport }));
    assert.throws(() => provider({ partitions: "jp.0.>,jp.*.x" }), (error: unknown) => error instanceof ConfigError && /Option 'partitions'.*'jp\.0\.>' and 'jp\.\*\.x' can match the same subject/s.test(error.message));
    assert.throws(() => provider({ partitions: "jp.0.>,,jp.2.>" }), (error: unknown) => error instanceof ConfigError && /Option 'partitions'.*empty subject/s.test(error.message));
    assert.throws(() => provider({ partitions: "jp.0.>,jp.1.>", subject: "jp.>" }), (error: unknown) => error instanceof ConfigError && /Option 'partitions'.*without option 'subject'/s.test(error.message));
    assert.equal(provider({ partitions: PARTITIONS }).numPartitions, 3);
    await assert.rejects(start(join(folder, "bad-out"), join(folder, "bad-cp"), "jp.>,jp.1.>"), (error: unknown) => error instanceof ConfigError && /Option 'partitions'/.test(error.message));
    await assert.rejects(start(join(folder, "bad-out"), join(folder, "bad-cp"), "jp.0.>,other.1.>"), (error: unknown) => error instanceof Error && /Option 'partitions' of the jetstream source has 'other\.1\.>', which matches none of the subjects/.test(error.message));
  });

  it("reads each partition in its own actor with its own offset, every message once and in order within its partition, and resumes exactly", { timeout: 120_000 }, async () => {
    const output = join(folder, "output");
    const checkpoint = join(folder, "checkpoint");
    await publish(600);
    let query = await start(output, checkpoint);
    assert.match(query.explain(), /partitions jp\.0\.>,jp\.1\.>,jp\.2\.>/);
    await query.processAllAvailable();
    await publish(300);
    await query.processAllAvailable();
    await query.stop();

    // Each partition's offset is the stream sequence of the last message of its own subjects.
    const storage = CheckpointStorage.open(checkpoint);
    const offsets = storage.lastCommit()?.offsets;
    await storage.close();
    const lastOf = (partition: number) => Math.max(...published.filter((row) => partitionOf(row.device) === partition).map((row) => row.sequence));
    assert.deepEqual(offsets, { "s0-source-jetstream.p0": lastOf(0), "s0-source-jetstream.p1": lastOf(1), "s0-source-jetstream.p2": lastOf(2) });

    // Published while the query is down, read after the restart from each partition's own offset.
    await publish(450);
    query = await start(output, checkpoint);
    await query.processAllAvailable();
    await query.stop();

    const rows = await outputRows(output);
    assert.deepEqual(rows.map((row) => row.id).sort((a, b) => a - b), published.map((row) => row.id), "every message once");
    for (let device = 0; device < DEVICES; device++) {
      const ns = rows.filter((row) => row.device === `d${device}`).map((row) => row.n);
      assert.deepEqual(ns, Array.from({ length: counters[device] as number }, (_, index) => index), `device d${device} in stream order`);
    }

    // The same checkpoint with another partition list: the stored offsets are per filter, so start() refuses.
    await assert.rejects(start(output, checkpoint, "jp.0.>,jp.2.>,jp.1.>"), (error: unknown) => error instanceof CheckpointError && /s0-source-jetstream\.p1 read stream 'JP' subject 'jp\.1\.>' \(option 'partitions'\) and now reads stream 'JP' subject 'jp\.2\.>'/.test(error.message));
    await assert.rejects(start(output, checkpoint, "jp.0.>,jp.1.>"), (error: unknown) => error instanceof CheckpointError && /option 'partitions'/.test(error.message));
  });
});
