// Replicated worker state on a three-node NATS cluster with a bucket of 3 replicas: one NATS node SIGKILLed under the
// running query, then a worker machine lost with its disk; the restore reads the bucket from the two nodes left, and
// the output is exactly the plain-code oracle's.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { useNatsCluster } from "../../helpers/nats-cluster.ts";
import { DRIVER, committedRows, oracle, prepareRun } from "./machines.ts";

const FILES = 45;
const ROWS_PER_FILE = 80;

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
    const { rows, output, env, machines } = await prepareRun(base, nats, FILES, ROWS_PER_FILE, 53, { ...process.env, RILL_TEST_NATS: nats, RILL_TEST_HEARTBEAT_TIMEOUT: "4 seconds" });
    try {
      for (const name of ["m1", "m2", "m3"]) await machines.start(name);
      const driver = spawn(process.execPath, ["--import", "tsx", DRIVER, "3", "5"], { stdio: ["ignore", "pipe", "pipe"], env });
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
      driver.stderr.on("data", (chunk: Buffer) => (stderr += process.env.RILL_REPLICATION_LOG ? chunk.toString().replace(/^(?=.)/gm, `${new Date().toISOString().slice(11, 23)} `) : chunk.toString()));
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
            const victim = lostMachine;
            faults = faults.then(() => machines.destroy(victim)).then(() => machines.start("m4"));
          }
        }
      });
      const code = await new Promise<number | null>((resolve) => driver.once("exit", resolve));
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
