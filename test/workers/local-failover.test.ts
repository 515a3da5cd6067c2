// Failover with local workers (rill.workers = 2): a lost worker costs exactly one rollback, placed at once on the worker
// that survived; the session's replacement process then takes actors back by a handover at an epoch boundary (no
// rollback). And a worker slow to build its plan (its event loop blocked for longer than the heartbeat timeout) is
// judged by its placement request's timeout, not its heartbeats: no rollback at all (src/workers/liveness.ts).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runJob, Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { SessionLog as Log } from "../helpers/session-log.ts";
import { committedWindowRows, expectedWindowFiles, writeWindowFiles } from "../helpers/windowed-job.ts";

const server = useNatsServer();
const JOB = join(import.meta.dirname, "job.ts");
const SLOW_JOB = join(import.meta.dirname, "job-slow-plan.ts");

/** The workers named in a "query ... placed: a hosts x, y; b hosts z" line. */
function placedOn(line: string): string[] {
  return [...line.matchAll(/(?:placed: |; )(\S+) hosts /g)].map((match) => match[1] as string).sort();
}

describe("failover with local workers", () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-local-failover-"));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  async function paths(name: string): Promise<{ input: string; output: string }> {
    const input = join(folder, name, "input");
    const output = join(folder, name, "output");
    await mkdir(input, { recursive: true });
    await mkdir(output, { recursive: true });
    // The local workers inherit the environment: they load the same job on the same paths.
    Object.assign(process.env, { RILL_JOB_INPUT: input, RILL_JOB_OUTPUT: output, RILL_JOB_CHECKPOINT: join(folder, name, "checkpoint") });
    return { input, output };
  }

  it("SIGKILL of one of two workers: the survivor hosts every actor at once, the replacement takes some back by a handover; one rollback, plain code's windows", { timeout: 300_000 }, async () => {
    const { input, output } = await paths("kill");
    await writeWindowFiles(input, 0, 24);
    const log = new Log();
    const session = new Session("local-failover", new Map([
      ["rill.workers", "2"], ["rill.workers.job", JOB], ["rill.workers.heartbeatTimeout", "3 seconds"], ["rill.shuffle.partitions", "2"],
      ["rill.recovery.maxRetries", "5"], ["rill.workers.rebalanceDelay", "300 milliseconds"],
    ]), server().options, log.add);
    try {
      const [query] = await runJob(session, JOB);
      assert.ok(query);
      const deployment = await session.workers();
      const original = deployment.local?.names.sort() ?? [];
      assert.equal(original.length, 2);
      let epochsWithInput = 0;
      const killed = new Promise<{ victim: string; survivor: string; placedLines: number }>((resolve) => {
        session.streams.addListener({
          onQueryProgress: ({ progress }) => {
            if (progress.numInputRows === 0 || ++epochsWithInput !== 3) return;
            const hosting = new Set([...query.placements().values()]);
            const victim = original.find((worker) => hosting.has(worker)) as string;
            const survivor = original.find((worker) => worker !== victim) as string;
            const placedLines = log.lines.filter((line) => / placed: /.test(line)).length;
            process.kill(deployment.local?.pids()[victim] as number, "SIGKILL");
            resolve({ victim, survivor, placedLines });
          },
        });
      });
      const { victim, survivor, placedLines } = await killed;
      // The rollback's attempt: on the survivor alone, without waiting for the replacement.
      const recovery = await log.waitFor(/ placed: /, placedLines + 1);
      assert.deepEqual(placedOn(recovery), [survivor], `the rollback placed every actor on the survivor at once: ${recovery}`);
      // Then the replacement joins and takes actors by a handover at an epoch boundary.
      const handedOver = await log.waitFor(/handed over in \d+ ms without a rollback/);
      assert.match(handedOver, /joined and would take actors off/);
      const replacement = deployment.local?.names.find((worker) => !original.includes(worker));
      assert.ok(replacement, `a replacement process runs: ${deployment.local?.names.join(", ") ?? ""}`);
      const afterHandover = log.lines.filter((line) => / placed: /.test(line)).at(-1) ?? "";
      assert.deepEqual(placedOn(afterHandover), [replacement, survivor].sort(), `after the handover both workers host actors: ${afterHandover}`);
      // More input after the handover: the replacement's actors process it.
      await writeWindowFiles(input, 24, 32);
      await query.processAllAvailable();
      assert.equal(query.numRecoveries, 1, `the kill cost exactly one rollback:\n${log.lines.filter((line) => line.includes("rolling back")).join("\n")}`);
      assert.ok(query.numReplacements >= 1, "the replacement took actors by a handover");
      assert.ok(![...query.placements().values()].includes(victim), "nothing is placed on the killed worker");
      const rows = await committedWindowRows(output);
      assert.equal(new Set(rows).size, rows.length, "no window committed twice");
      assert.deepEqual(rows, expectedWindowFiles(32));
      process.stdout.write(`# ${victim} SIGKILLed after 3 epochs with input; ${recovery.replace(/^.*placed: /, "rollback placed: ")}; ${handedOver.replace(/^.*(handed over in \d+ ms).*$/, "$1")}\n`);
    } finally {
      await session.stop();
    }
  });

  it("a worker whose plan build blocks 3.5 s, with a 1.5 s heartbeat timeout: judged by its placement request, no rollback at all", { timeout: 300_000 }, async () => {
    const { input, output } = await paths("slow");
    await writeWindowFiles(input, 0, 8);
    process.env.RILL_JOB_SLOW_PLAN_MS = "3500";
    const log = new Log();
    const session = new Session("local-slow-plan", new Map([
      ["rill.workers", "2"], ["rill.workers.job", SLOW_JOB], ["rill.workers.heartbeatTimeout", "1500 milliseconds"], ["rill.shuffle.partitions", "2"],
      ["rill.recovery.maxRetries", "5"],
    ]), server().options, log.add);
    try {
      const deployment = await session.workers();
      const original = deployment.local?.names.sort() ?? [];
      const began = Date.now();
      const [query] = await runJob(session, SLOW_JOB);
      assert.ok(query);
      const placedAfter = Date.now() - began;
      assert.ok(placedAfter >= 3500, `the placement waited for the blocked plan builds: ${placedAfter} ms`);
      await query.processAllAvailable();
      assert.equal(query.numRecoveries, 0, `no rollback:\n${log.lines.filter((line) => /rolling back|no heartbeat|exited/.test(line)).join("\n")}`);
      assert.deepEqual(deployment.local?.names.sort(), original, "no worker was given up and killed");
      assert.ok(!log.lines.some((line) => line.includes("sent no heartbeat")), "no worker was given up for its silence");
      const rows = await committedWindowRows(output);
      assert.equal(new Set(rows).size, rows.length, "no window committed twice");
      assert.deepEqual(rows, expectedWindowFiles(8));
      process.stdout.write(`# placed in ${placedAfter} ms with every plan build blocking 3.5 s (heartbeat timeout 1.5 s), ${query.numRecoveries} rollbacks\n`);
    } finally {
      delete process.env.RILL_JOB_SLOW_PLAN_MS;
      await session.stop();
    }
  });
});
