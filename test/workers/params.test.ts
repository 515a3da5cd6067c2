// param() on workers: a JetStream source and its filter `value > param('threshold')` on two local worker processes.
// The values start with the placement and change at an epoch boundary; the worker hosting the filter is SIGKILLed
// across a change and again with rows in flight, and each row is committed once, with the value in force for its epoch.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { runJob, Session, type StreamingQuery } from "../../src/index.ts";
import { committedLines } from "../helpers/kill-runs.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { reading } from "./job-params.ts";

const server = useNatsServer();
const JOB = join(import.meta.dirname, "job-params.ts");
const STREAM = "JPRM";
const BATCH = 240;

describe("param() on workers", () => {
  let folder: string;
  let publisher: NatsTransport;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-worker-params-"));
    publisher = await NatsTransport.connect(server().options);
    await publisher.jetstream().addStream({ name: STREAM, subjects: [`${STREAM.toLowerCase()}.>`], storage: "file" });
  });
  after(async () => {
    await publisher.close();
    await rm(folder, { recursive: true, force: true });
  });

  const publish = async (from: number, count: number): Promise<void> => {
    for (let id = from; id < from + count; id++) await publisher.jetstream().publish(`${STREAM.toLowerCase()}.r`, new TextEncoder().encode(JSON.stringify({ id, value: id % 12 })));
  };

  /** SIGKILLs the worker hosting the source and the filter chained to it; the pool starts a replacement. */
  const killFilterWorker = async (session: Session, query: StreamingQuery): Promise<string> => {
    const victim = query.placements().get("s0-source-jetstream.p0");
    assert.ok(victim && victim !== "driver", `the source and its filter on a worker: ${JSON.stringify([...query.placements()])}`);
    process.kill((await session.workers()).local?.pids()[victim] as number, "SIGKILL");
    return victim;
  };

  it("filters with the placed values, switches at an epoch boundary, and replays exactly across SIGKILLs of the worker", { timeout: 300_000 }, async () => {
    const output = join(folder, "output");
    await mkdir(output);
    process.env.RILL_JOB_STREAM = STREAM;
    process.env.RILL_JOB_OUTPUT = output;
    process.env.RILL_JOB_CHECKPOINT = join(folder, "checkpoint");
    const session = new Session("params-workers", new Map([["rill.workers", "2"], ["rill.workers.job", JOB], ["rill.workers.heartbeatTimeout", "2 seconds"], ["rill.recovery.maxRetries", "10"], ["rill.params.bucket", "params_workers"]]), server().options, () => undefined);
    try {
      await publish(0, BATCH);
      const [query] = await runJob(session, JOB);
      assert.ok(query);
      // The filter runs in the source's stage, so on the worker that hosts the source.
      assert.match(query.explain(), /s0-source-jetstream .*\n.*source JetStream.*\n\s*filter: \(value > param\(threshold\)\)/);
      await query.processAllAvailable();
      assert.deepEqual(query.lastProgress?.parameters?.values, { threshold: 5 });

      // A change, and the worker killed before the epoch boundary that applies it: the rollback's first epoch runs with
      // the values the checkpoint recorded for it, the next ones with the new value.
      await session.params.set("threshold", 8);
      const first = await killFilterWorker(session, query);
      await query.processAllAvailable();
      await query.processAllAvailable();
      assert.deepEqual(query.lastProgress?.parameters?.values, { threshold: 8 });

      // Rows in flight when the worker dies: replayed on its replacement, which starts with the recorded value 8.
      await publish(BATCH, BATCH);
      const second = await killFilterWorker(session, query);
      await query.processAllAvailable();
      assert.ok(query.numRecoveries >= 2, `both kills rolled the query back (${query.numRecoveries} recoveries)`);
      assert.ok(![...query.placements().values()].some((worker) => worker === first || worker === second), "nothing is placed on a killed worker");
      await query.stop();

      const rows = (await committedLines(output)).map((line) => JSON.parse(line) as { id: number; value: number; limit: number });
      rows.sort((a, b) => a.id - b.id);
      const expected = Array.from({ length: 2 * BATCH }, (_, id) => ({ id, value: id % 12, limit: id < BATCH ? 5 : 8 })).filter((row) => row.value > row.limit);
      assert.deepEqual(rows.map((row) => ({ id: row.id, value: reading.parse(row).value, limit: row.limit })), expected);
    } finally {
      await session.stop();
    }
  });
});
