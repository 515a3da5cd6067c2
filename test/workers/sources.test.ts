// Sources on workers: two JetStream source actors (one stream split by subject) run on two worker processes; the worker
// hosting one is SIGKILLed mid-stream, and the committed windows still equal plain code's, each once.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { runJob, Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { committedWindowRows, type WindowEvent, windowOracle } from "../helpers/windowed-job.ts";

const server = useNatsServer();
const JOB = join(import.meta.dirname, "job-jetstream.ts");
const START = Date.UTC(2026, 0, 1);
const ROWS = 2400;
const STREAM = "JSW";

type Event = WindowEvent;

const rows: Event[] = Array.from({ length: ROWS }, (_, id) => ({ id, user: `u${id % 4}`, time: START + id * 700 + ((id * 7919) % 9000), x: (id * 31) % 11 }));

describe("sources on workers", () => {
  let folder: string;
  let publisher: NatsTransport;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-worker-sources-"));
    publisher = await NatsTransport.connect(server().options);
    await publisher.jetstream().addStream({ name: STREAM, subjects: [`${STREAM.toLowerCase()}.>`], storage: "file" });
  });
  after(async () => {
    await publisher.close();
    await rm(folder, { recursive: true, force: true });
  });

  const publish = async (events: readonly Event[]): Promise<void> => {
    for (const row of events) {
      const subject = `${STREAM.toLowerCase()}.${row.id % 2 === 0 ? "a" : "b"}.e`;
      await publisher.jetstream().publish(subject, new TextEncoder().encode(JSON.stringify({ ...row, time: new Date(row.time).toISOString() })));
    }
  };

  it("runs each JetStream source actor on a worker and replays exactly after the worker hosting one is SIGKILLed", { timeout: 240_000 }, async () => {
    const output = join(folder, "output");
    await mkdir(output);
    process.env.RILL_JOB_STREAM = STREAM;
    process.env.RILL_JOB_OUTPUT = output;
    process.env.RILL_JOB_CHECKPOINT = join(folder, "checkpoint");
    const session = new Session("sources", new Map([["rill.workers", "2"], ["rill.workers.job", JOB], ["rill.workers.heartbeatTimeout", "2 seconds"], ["rill.shuffle.partitions", "2"], ["rill.recovery.maxRetries", "10"]]), server().options, () => undefined);
    try {
      await publish(rows.slice(0, ROWS / 2));
      const [query] = await runJob(session, JOB);
      assert.ok(query);
      await query.processAllAvailable();
      const placements = query.placements();
      const sources = [...placements].filter(([actor]) => /^s\d+-source-jetstream\.p0$/.test(actor));
      assert.equal(sources.length, 2, `two JetStream source actors: ${JSON.stringify([...placements])}`);
      assert.ok(sources.every(([, worker]) => worker !== "driver"), `no source on the driver: ${JSON.stringify(sources)}`);
      assert.notEqual(sources[0]?.[1], sources[1]?.[1], `the two sources on two workers: ${JSON.stringify(sources)}`);
      const deployment = await session.workers();
      const victim = sources[0]?.[1] as string;
      process.kill(deployment.local?.pids()[victim] as number, "SIGKILL");
      await publish(rows.slice(ROWS / 2));
      await query.processAllAvailable();
      assert.ok(query.numRecoveries >= 1, "the kill rolled the query back");
      assert.ok(![...query.placements().values()].includes(victim), "nothing is placed on the killed worker");
      const committed = await committedWindowRows(output);
      assert.equal(new Set(committed).size, committed.length, "no window committed twice");
      const expected = windowOracle(rows);
      assert.ok(expected.length > 60, `windows to compare: ${expected.length}`);
      assert.deepEqual(committed, expected);
    } finally {
      await session.stop();
    }
  });
});
