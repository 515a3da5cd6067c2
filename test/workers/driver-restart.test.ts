// A driver SIGKILLed and started again on its checkpoint with rill.workers = cluster finds the running workers: they
// drop the dead driver's actors when the new run's placement supersedes them (the heartbeat timeout is set long, so it
// is the placement, not the driver's silence, that frees them), and the windows are exact.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startWorker, type Worker } from "../../src/index.ts";
import { childEnvironment, useNatsServer } from "../helpers/nats.ts";
import { committedWindowRows, expectedWindowFiles, writeWindowFiles } from "../helpers/windowed-job.ts";

const server = useNatsServer();
const DRIVER = join(import.meta.dirname, "driver-child.ts");
const JOB = join(import.meta.dirname, "job.ts");
const FILES = 16;

describe("a restarted driver", () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-driver-restart-"));
    await mkdir(join(folder, "input"));
    await writeWindowFiles(join(folder, "input"), 0, FILES);
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("SIGKILLed mid-run and started again on the checkpoint, re-places the query on the running workers, which drop the old run", { timeout: 180_000 }, async () => {
    const output = join(folder, "output");
    await mkdir(output);
    Object.assign(process.env, { RILL_JOB_INPUT: join(folder, "input"), RILL_JOB_OUTPUT: output, RILL_JOB_CHECKPOINT: join(folder, "checkpoint") });
    const logs: string[] = [];
    const workers: Worker[] = [];
    for (const name of ["restart-a", "restart-b"]) workers.push(await startWorker({ nats: server().options, name, job: JOB, heartbeatIntervalMs: 300, log: (message) => logs.push(message) }));
    const env = { ...childEnvironment(server()), RILL_TEST_HEARTBEAT_TIMEOUT: "30 seconds" };
    try {
      const first = spawn(process.execPath, ["--import", "tsx", DRIVER, "cluster"], { stdio: ["ignore", "pipe", "pipe"], env });
      let stdout = "";
      first.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/^epoch \d+$/m.test(stdout) && first.exitCode === null) first.kill("SIGKILL");
      });
      const firstExit = await new Promise<NodeJS.Signals | null>((resolve) => first.once("exit", (_code, signal) => resolve(signal)));
      assert.equal(firstExit, "SIGKILL", `the first driver was killed mid-run:\n${stdout}`);
      assert.doesNotMatch(stdout, /^done/m);
      const hostedBefore = workers.reduce((sum, worker) => sum + Object.values(worker.hosted()).flat().length, 0);
      assert.ok(hostedBefore > 0, "the dead driver's actors are still on the workers when the new driver starts");

      const second = spawn(process.execPath, ["--import", "tsx", DRIVER, "cluster"], { stdio: ["ignore", "pipe", "pipe"], env });
      let secondOut = "";
      let secondErr = "";
      second.stdout.on("data", (chunk: Buffer) => (secondOut += chunk.toString()));
      second.stderr.on("data", (chunk: Buffer) => (secondErr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => second.once("exit", resolve));
      assert.equal(code, 0, `the second driver failed:\n${secondErr.slice(-3000)}`);
      assert.match(secondOut, /^done \d+$/m);
      assert.match(secondOut, /^hosting restart-a restart-b$/m, "the new driver placed the query over both running workers");
      assert.ok(logs.some((line) => /supersedes run \w+ attempt 0; releasing/.test(line)), `a worker dropped the dead driver's actors for the new run's:\n${logs.join("\n")}`);
      assert.ok(!logs.some((line) => line.includes("sent no heartbeat")), "it was the placement, not the driver's silence, that freed them");
      assert.deepEqual(await committedWindowRows(output), expectedWindowFiles(FILES));
    } finally {
      for (const worker of workers) await worker.close();
    }
  });
});
