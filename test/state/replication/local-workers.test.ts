// Replicated state with local workers (rill.workers = 2, rill.state.replication = jetstream): a worker process hosting
// actors is SIGKILLed mid-run; the session replaces it, the query rolls back once, the next attempt's actors are filled
// from the bucket, and the committed windows are exactly the plain-code oracle's.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runJob, Session } from "../../../src/index.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { committedRows, events, oracle, writeInput } from "./machines.ts";

const server = useNatsServer();
const JOB = join(import.meta.dirname, "..", "..", "workers", "job.ts");
const FILES = 30;
const ROWS_PER_FILE = 80;

describe("replicated state on local workers", () => {
  let base = "";
  let workerFolders: string[] = [];
  before(async () => {
    base = await mkdtemp(join(tmpdir(), "rill-state-local-"));
    workerFolders = (await readdir(tmpdir())).filter((name) => name.startsWith("rill-worker-"));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
    // The killed worker's working store (its default --state-dir) is left behind by the kill: remove what this test made.
    for (const name of (await readdir(tmpdir())).filter((entry) => entry.startsWith("rill-worker-w") && !workerFolders.includes(entry))) await rm(join(tmpdir(), name), { recursive: true, force: true });
  });

  it("a local worker SIGKILLed mid-run costs one rollback; the restore reads the bucket and the windows equal the oracle", { timeout: 240_000 }, async () => {
    const rows = events(FILES, ROWS_PER_FILE, 71);
    await writeInput(join(base, "input"), rows, ROWS_PER_FILE);
    await mkdir(join(base, "output"), { recursive: true });
    // The local workers inherit the environment: they load the same job on the same paths.
    Object.assign(process.env, { RILL_JOB_INPUT: join(base, "input"), RILL_JOB_OUTPUT: join(base, "output"), RILL_JOB_CHECKPOINT: join(base, "checkpoint") });
    const messages: string[] = [];
    const session = new Session("local-replicated", new Map([
      ["rill.workers", "2"], ["rill.workers.job", JOB], ["rill.workers.heartbeatTimeout", "2 seconds"], ["rill.shuffle.partitions", "2"],
      ["rill.recovery.maxRetries", "10"], ["rill.state.replication", "jetstream"], ["rill.state.snapshotEvery", "4"],
    ]), server().options, (text) => messages.push(text));
    try {
      let epochsWithInput = 0;
      let killed: string | undefined;
      const [query] = await runJob(session, JOB);
      assert.ok(query);
      const deployment = await session.workers();
      const victimKilled = new Promise<void>((resolve) => {
        session.streams.addListener({
          onQueryProgress: ({ progress }) => {
            if (progress.numInputRows === 0 || killed || ++epochsWithInput < 4) return;
            const victim = [...query.placements().values()].find((worker) => worker !== "driver");
            const pid = victim ? deployment.local?.pids()[victim] : undefined;
            if (!victim || pid === undefined) return;
            killed = victim;
            process.kill(pid, "SIGKILL");
            resolve();
          },
        });
      });
      await victimKilled;
      await query.processAllAvailable();
      assert.ok(killed, "a worker hosting actors was killed");
      assert.deepEqual(await committedRows(join(base, "output")), oracle(rows));
      assert.equal(query.numRecoveries, 1, `the kill cost one rollback:\n${messages.filter((line) => line.includes("rolling back")).join("\n")}`);
      assert.ok(!query.placements().has(killed) && ![...query.placements().values()].includes(killed), "nothing is placed on the killed worker");
      const restores = messages.flatMap((line) => {
        const restored = /restored (\d+) state entries of epoch \d+/.exec(line);
        return restored ? [Number(restored[1])] : [];
      });
      assert.ok(restores.some((entries) => entries > 0), `the next attempt restored state from the bucket: ${messages.filter((line) => line.includes("restored")).join("\n")}`);
      process.stdout.write(`# local worker ${killed} SIGKILLed after ${epochsWithInput} epochs with input; ${query.numRecoveries} rollback; restores installed ${restores.join(", ")} entries\n`);
    } finally {
      await session.stop();
    }
  });
});
