// A partitioned JetStream source on workers: three partitions (one filter subject each) on three local worker
// processes, the worker hosting a partition SIGKILLed three times mid-stream; the committed windows equal plain code's,
// each once, and the partitions' offsets are each their own.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { runJob, Session } from "../../src/index.ts";
import { CheckpointStorage } from "../../src/state/lmdb-storage.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { committedWindowRows, type WindowEvent, windowOracle } from "../helpers/windowed-job.ts";

const server = useNatsServer();
const JOB = join(import.meta.dirname, "job-jetstream-partitions.ts");
const START = Date.UTC(2026, 0, 1);
const ROWS = 3200;
const CHUNKS = 4;
const STREAM = "JSP";

const rows: WindowEvent[] = Array.from({ length: ROWS }, (_, id) => ({ id, user: `u${id % 5}`, time: START + id * 700 + ((id * 7919) % 9000), x: (id * 31) % 11 }));

/** The partition of a row, as the stream's `{{partition(3,...)}}` subject mapping of its user would put it. */
const partitionOf = (row: WindowEvent): number => Number(row.user.slice(1)) % 3;

describe("a partitioned JetStream source on workers", () => {
  let folder: string;
  let publisher: NatsTransport;
  const sequences: Array<{ partition: number; sequence: number }> = [];
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-worker-jspart-"));
    publisher = await NatsTransport.connect(server().options);
    await publisher.jetstream().addStream({ name: STREAM, subjects: [`${STREAM.toLowerCase()}.>`], storage: "file" });
  });
  after(async () => {
    await publisher.close();
    await rm(folder, { recursive: true, force: true });
  });

  const publish = async (events: readonly WindowEvent[]): Promise<void> => {
    for (const row of events) {
      const partition = partitionOf(row);
      const ack = await publisher.jetstream().publish(`${STREAM.toLowerCase()}.${partition}.${row.user}`, new TextEncoder().encode(JSON.stringify({ ...row, time: new Date(row.time).toISOString() })));
      sequences.push({ partition, sequence: ack.sequence });
    }
  };

  it("places each partition as a source actor and replays exactly after the worker hosting one is SIGKILLed three times", { timeout: 300_000 }, async () => {
    const output = join(folder, "output");
    const checkpoint = join(folder, "checkpoint");
    await mkdir(output);
    process.env.RILL_JOB_STREAM = STREAM;
    process.env.RILL_JOB_OUTPUT = output;
    process.env.RILL_JOB_CHECKPOINT = checkpoint;
    const session = new Session("jspart", new Map([["rill.workers", "3"], ["rill.workers.job", JOB], ["rill.workers.heartbeatTimeout", "2 seconds"], ["rill.shuffle.partitions", "2"], ["rill.recovery.maxRetries", "20"]]), server().options, () => undefined);
    const chunk = ROWS / CHUNKS;
    try {
      await publish(rows.slice(0, chunk));
      const [query] = await runJob(session, JOB);
      assert.ok(query);
      await query.processAllAvailable();
      const deployment = await session.workers();
      for (let kill = 0; kill < CHUNKS - 1; kill++) {
        const placements: ReadonlyMap<string, string> = query.placements();
        const sources: Array<[string, string]> = [...placements].filter(([actor]) => /^s0-source-jetstream\.p\d$/.test(actor));
        assert.equal(sources.length, 3, `three partitions, three source actors: ${JSON.stringify([...placements])}`);
        assert.ok(sources.every(([, worker]) => worker !== "driver"), `no partition on the driver: ${JSON.stringify(sources)}`);
        const victim = placements.get(`s0-source-jetstream.p${kill}`) as string;
        const rest = rows.slice(chunk * (kill + 1), chunk * (kill + 2));
        // Half the chunk before the kill, half while the query rolls back.
        await publish(rest.slice(0, chunk / 2));
        process.kill(deployment.local?.pids()[victim] as number, "SIGKILL");
        await publish(rest.slice(chunk / 2));
        await query.processAllAvailable();
        assert.ok(![...query.placements().values()].includes(victim), `nothing is placed on the killed worker ${victim}`);
      }
      assert.ok(query.numRecoveries >= CHUNKS - 1, `each kill rolled the query back (${query.numRecoveries} recoveries)`);
      await query.stop();
      const committed = await committedWindowRows(output);
      assert.equal(new Set(committed).size, committed.length, "no window committed twice");
      const expected = windowOracle(rows);
      assert.ok(expected.length > 60, `windows to compare: ${expected.length}`);
      assert.deepEqual(committed, expected);
      const storage = CheckpointStorage.open(checkpoint);
      const offsets = storage.lastCommit()?.offsets;
      await storage.close();
      const lastOf = (partition: number) => Math.max(...sequences.filter((entry) => entry.partition === partition).map((entry) => entry.sequence));
      assert.deepEqual(offsets, { "s0-source-jetstream.p0": lastOf(0), "s0-source-jetstream.p1": lastOf(1), "s0-source-jetstream.p2": lastOf(2) });
    } finally {
      await session.stop();
    }
  });
});
