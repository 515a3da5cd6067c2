// Workers on separate "machines" (a state folder each) keep a windowed aggregation's state in a JetStream bucket: a
// worker SIGKILLed with its folder deleted, again and again, and the query still ends with exactly the plain-code
// oracle's rows; the restores read the replica, and compaction keeps it to snapshots and recent changes.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { mulberry32 } from "../../../src/connectors/sources/activity.ts";
import { NatsTransport } from "../../../src/actors/nats-transport.ts";
import { StateStore } from "../../../src/state/replication/kv-store.ts";
import { childEnvironment, useNatsServer } from "../../helpers/nats.ts";
import { DRIVER, committedRows, oracle, prepareRun } from "./machines.ts";

const server = useNatsServer();
const FILES = 70;
const ROWS_PER_FILE = 80;
const KILLS = 3;
const SNAPSHOT_EVERY = 5;

describe("replicated worker state: a machine lost with its disk", () => {
  let base = "";
  before(async () => {
    base = await mkdtemp(join(tmpdir(), "rill-machine-loss-"));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("restores the lost worker's partitions on other machines from the replica and gives the oracle's rows exactly", { timeout: 300_000 }, async () => {
    const { rows, output, env, machines } = await prepareRun(base, JSON.stringify(server().options), FILES, ROWS_PER_FILE, 31, childEnvironment(server()));
    let started = 0;
    const startMachine = async (): Promise<void> => await machines.start(`m${++started}`);
    try {
      for (let index = 0; index < 3; index++) await startMachine();
      const random = mulberry32(7);
      const driver = spawn(process.execPath, ["--import", "tsx", DRIVER, "1", String(SNAPSHOT_EVERY)], { stdio: ["ignore", "pipe", "pipe"], env });
      let stdout = "";
      let stderr = "";
      let hosting: string[] = [];
      let epochsSinceKill = 0;
      let kills = 0;
      let killing = false;
      let replacing: Promise<void> = Promise.resolve();
      const killed: string[] = [];
      driver.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      driver.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        for (const line of chunk.toString().split("\n")) {
          if (line.startsWith("hosting ")) hosting = line.slice(8).split(" ").filter(Boolean);
          if (!line.startsWith("epoch ")) continue;
          // A kill once the query has run two epochs since the last one recovered: a machine that hosts actors.
          if (++epochsSinceKill < 2 || kills >= KILLS || killing || hosting.length === 0) continue;
          const victim = hosting[Math.floor(random() * hosting.length)] as string;
          kills++;
          killing = true;
          epochsSinceKill = -100;
          killed.push(victim);
          const destroyed = machines.destroy(victim).then(() => {
            killing = false;
            epochsSinceKill = 0;
          });
          // A new machine (empty disk) joins in place of the lost one.
          replacing = Promise.all([replacing, destroyed.then(startMachine)]).then(() => undefined);
        }
      });
      const code = await new Promise<number | null>((resolve) => driver.once("exit", resolve));
      await replacing;
      assert.equal(code, 0, `driver failed:\n${stderr.slice(-3000)}`);
      assert.equal(kills, KILLS, `only ${kills} kills landed; driver said:\n${stdout}`);
      assert.deepEqual(await committedRows(output), oracle(rows));
      checkWorkerFigures(stdout, killed);
      // The restores read the replica: state entries of committed epochs landed in fresh local stores.
      const restores = [...machines.logs.values()].join("").match(/restored \d+ state entries of epoch \d+ from \d+ objects/g) ?? [];
      assert.ok(restores.some((line) => !line.startsWith("restored 0 ")), `no restore installed state:\n${restores.join("\n")}`);
      const queryId = /query (\S+)/.exec(stdout)?.[1] as string;
      const transport = await NatsTransport.connect(server().options);
      try {
        const listing = await (await StateStore.open(transport, queryId)).listing();
        const snapshots = listing.snapshots.filter((snapshot) => snapshot.complete);
        assert.ok(snapshots.length > 0, "compaction wrote no snapshot");
        const newest = Math.max(...snapshots.map((snapshot) => snapshot.name.epoch));
        const stale = listing.deltas.filter((delta) => delta.complete && delta.name.epoch <= newest - 2 * SNAPSHOT_EVERY);
        assert.deepEqual(stale.map((delta) => delta.name.key), [], "deltas a snapshot covers were left behind");
        process.stdout.write(`# killed ${killed.join(", ")}; ${restores.length} restores: ${restores.join("; ")}; store: ${snapshots.length} snapshots (newest at epoch ${newest}), ${listing.deltas.length} deltas, ${listing.markers.length} markers\n`);
      } finally {
        await transport.close();
      }
    } finally {
      await machines.stopAll();
    }
  });
});

interface Figures {
  readonly name: string;
  readonly pid: number;
  readonly actors: readonly string[];
  readonly heartbeatAgeMs: number;
  readonly cpuSeconds: number;
  readonly cpuPercent: number | null;
  readonly rssBytes: number;
}

/** The last progress report and the dashboard's state API name the workers that host the actors, with live figures. */
function checkWorkerFigures(stdout: string, killed: readonly string[]): void {
  const line = (prefix: string): unknown => JSON.parse(stdout.split("\n").find((candidate) => candidate.startsWith(`${prefix} `))?.slice(prefix.length + 1) ?? "null");
  const progress = line("progress-workers") as Figures[] | null;
  const dashboard = line("dashboard-workers") as Figures[] | null;
  const placements = new Map(line("placements") as Array<[string, string]>);
  assert.ok(progress && progress.length > 0, `no worker figures in the last progress report:\n${stdout}`);
  const expected = new Map<string, string[]>();
  for (const [actor, worker] of placements) if (worker !== "driver") expected.set(worker, [...(expected.get(worker) ?? []), actor].sort());
  assert.deepEqual(new Map(progress.map((worker) => [worker.name, [...worker.actors]])), expected);
  for (const worker of progress) {
    assert.ok(!killed.includes(worker.name), `${worker.name} was killed but still reported`);
    assert.ok(worker.pid > 0 && worker.rssBytes > 0 && worker.cpuSeconds > 0 && worker.heartbeatAgeMs >= 0, JSON.stringify(worker));
  }
  assert.ok(progress.some((worker) => worker.cpuPercent !== null && worker.cpuPercent >= 0), `no CPU share between two reports: ${JSON.stringify(progress)}`);
  assert.deepEqual(dashboard?.map((worker) => [worker.name, worker.actors]), progress.map((worker) => [worker.name, worker.actors]));
}
