// Replicated worker state on a three-node NATS cluster with a bucket of 3 replicas: one NATS node SIGKILLed under the
// running query, then a worker machine lost with its disk; the restore reads the bucket from the two nodes left, and
// the output is exactly the plain-code oracle's.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { useNatsCluster } from "../../helpers/nats-cluster.ts";
import { DRIVER, committedRows, oracle, prepareRun } from "./machines.ts";

const FILES = 45;
const ROWS_PER_FILE = 80;
/**
 * Files written only once both faults landed (the driver rolled back after the machine was lost), and the driver told
 * to finish only after that: else a query that ran ahead of the test's reading of its output could end before the
 * machine's loss was noticed, and no restore would happen.
 */
const HELD_BACK = 20;

describe("replicated worker state on a NATS cluster", { timeout: 400_000 }, () => {
  const cluster = useNatsCluster();
  let base = "";
  before(async () => {
    base = await mkdtemp(join(tmpdir(), "rill-state-cluster-"));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("survives a NATS node and then a worker machine lost: the restore reads the 3-replica bucket, rows equal the oracle", async () => {
    await cluster().waitReady();
    const nats = JSON.stringify(cluster().options);
    // A 4 s heartbeat timeout: at 2 s a worker busy restoring on a loaded 2-core machine was given up now and then,
    // a rollback that has nothing to do with the faults whose cost this test counts.
    const { rows, input, output, env, machines } = await prepareRun(base, nats, FILES, ROWS_PER_FILE, 53, { ...process.env, RILL_TEST_NATS: nats, RILL_TEST_HEARTBEAT_TIMEOUT: "4 seconds", RILL_TEST_DRIVER_GO: "stdin" });
    const held = join(base, "held");
    await mkdir(held);
    const heldFiles = Array.from({ length: HELD_BACK }, (_, index) => `part-${String(FILES - HELD_BACK + index).padStart(3, "0")}.json`);
    for (const file of heldFiles) await rename(join(input, file), join(held, file));
    try {
      for (const name of ["m1", "m2", "m3"]) await machines.start(name);
      const driver = spawn(process.execPath, ["--import", "tsx", DRIVER, "3", "5"], { stdio: ["pipe", "pipe", "pipe"], env });
      let stdout = "";
      let stderr = "";
      let hosting: string[] = [];
      let epochs = 0;
      let nodeKilledAt = 0;
      let lostMachine: string | undefined;
      /** Rollbacks the driver had counted when the machine was lost: the NATS node's share. */
      let recoveriesAtMachineLoss = -1;
      let recoveries = 0;
      let faults: Promise<void> = Promise.resolve();
      /** Resolves once the driver rolls back after the machine was lost (its stderr says so). */
      let rolledBackAfterLoss: () => void = () => undefined;
      const lossHandled = new Promise<void>((resolve) => (rolledBackAfterLoss = resolve));
      let stderrAtLoss = -1;
      driver.stderr.on("data", (chunk: Buffer) => {
        stderr += process.env.RILL_REPLICATION_LOG ? chunk.toString().replace(/^(?=.)/gm, `${new Date().toISOString().slice(11, 23)} `) : chunk.toString();
        if (stderrAtLoss >= 0 && stderr.slice(stderrAtLoss).includes("rolling back to the last committed epoch")) rolledBackAfterLoss();
      });
      driver.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (process.env.RILL_REPLICATION_LOG) stderr += chunk.toString().replace(/^(?=.)/gm, `${new Date().toISOString().slice(11, 23)} [out] `);
        for (const line of chunk.toString().split("\n")) {
          if (line.startsWith("hosting ")) hosting = line.slice(8).split(" ").filter(Boolean);
          if (!line.startsWith("epoch ")) continue;
          epochs++;
          recoveries = Number(/ recoveries (\d+)/.exec(line)?.[1] ?? recoveries);
          if (epochs === 5) {
            nodeKilledAt = epochs;
            faults = cluster().node("n2").kill();
            if (process.env.RILL_REPLICATION_LOG) stderr += `${new Date().toISOString().slice(11, 23)} [test] n2 SIGKILL\n`;
          } else if (nodeKilledAt > 0 && !lostMachine && epochs >= nodeKilledAt + 5 && hosting.length > 0) {
            lostMachine = hosting[hosting.length - 1] as string;
            recoveriesAtMachineLoss = recoveries;
            stderrAtLoss = stderr.length;
            const victim = lostMachine;
            faults = faults.then(() => machines.destroy(victim)).then(() => machines.start("m4"));
          }
        }
      });
      const exited = new Promise<number | null>((resolve) => driver.once("exit", resolve));
      // The rest of the input, and the driver's `go`, only once the machine's loss made the query roll back (a bound
      // so that a loss never noticed fails the assertions below instead of the test's timeout).
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([lossHandled, exited, new Promise((resolve) => (bound = setTimeout(resolve, 180_000)))]);
      clearTimeout(bound);
      for (const file of heldFiles) await rename(join(held, file), join(input, file));
      driver.stdin.on("error", () => undefined);
      driver.stdin.end("go\n");
      const code = await exited;
      await faults;
      if (process.env.RILL_REPLICATION_LOG) await writeFile(process.env.RILL_REPLICATION_LOG, `${stderr}\n${[...machines.logs].map(([name, log]) => log.split("\n").map((line) => `[${name}] ${line}`).join("\n")).join("\n")}\n${stdout}`);
      assert.equal(code, 0, `driver failed:\n${stderr.slice(-3000)}`);
      assert.ok(lostMachine, `no machine was lost after the NATS node; driver said:\n${stdout}`);
      assert.deepEqual(await committedRows(output), oracle(rows));
      // One lost node costs at most one rollback (its reconnects, and the restores and uploads while its streams elect
      // leaders, are covered by it or waited out), and so does the lost machine.
      const total = Number(/^recoveries (\d+)$/m.exec(stdout)?.[1] ?? -1);
      const restores = [...machines.logs.values()].join("").match(/restored \d+ state entries of epoch \d+ from \d+ objects/g) ?? [];
      assert.ok(restores.some((line) => !line.startsWith("restored 0 ")), `no restore installed state:\n${restores.join("\n")}\ndriver said:\n${stdout.slice(-3000)}\nworkers said:\n${[...machines.logs].map(([name, log]) => `[${name}] ${log.slice(-1500)}`).join("\n")}`);
      const compactionFailures = stderr.split("\n").filter((line) => line.includes("compacting the replicated state"));
      process.stdout.write(`# n2 killed after epoch line 5, ${lostMachine} lost after; ${total} recoveries (${recoveriesAtMachineLoss} before the machine was lost); restores: ${restores.join("; ")}; ${compactionFailures.length} compactions failed${compactionFailures.length ? `: ${compactionFailures[0] ?? ""}` : ""}\n`);
      assert.ok(recoveriesAtMachineLoss >= 0 && recoveriesAtMachineLoss <= 1, `the NATS node cost ${recoveriesAtMachineLoss} rollbacks`);
      assert.ok(total - recoveriesAtMachineLoss <= 1, `the lost machine cost ${total - recoveriesAtMachineLoss} rollbacks`);
    } finally {
      await machines.stopAll();
    }
  });
});
