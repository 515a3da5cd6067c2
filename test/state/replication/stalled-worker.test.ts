// A stalled worker (SIGSTOP) is given up for lost, its query rolls back and runs on; when it resumes (SIGCONT) it
// finishes epochs of the old attempt and uploads their changes. The attempt markers fence them: the query's output
// and a restore after them (another machine lost) give exactly the oracle's rows, and the store shows the stale
// uploads that were ignored.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NatsTransport } from "../../../src/actors/nats-transport.ts";
import { attemptOf } from "../../../src/state/replication/decisions.ts";
import { StateStore } from "../../../src/state/replication/kv-store.ts";
import { childEnvironment, useNatsServer } from "../../helpers/nats.ts";
import { DRIVER, committedRows, oracle, prepareRun } from "./machines.ts";

const server = useNatsServer();
const FILES = 45;
const ROWS_PER_FILE = 80;

describe("replicated worker state: a stalled worker resumes after its query rolled back", () => {
  let base = "";
  before(async () => {
    base = await mkdtemp(join(tmpdir(), "rill-stalled-"));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("writes no output and no state that counts for the old attempt", { timeout: 300_000 }, async () => {
    const { rows, output, env, machines } = await prepareRun(base, JSON.stringify(server().options), FILES, ROWS_PER_FILE, 47, childEnvironment(server()));
    try {
      for (const name of ["m1", "m2", "m3"]) await machines.start(name);
      // No compaction in this run: every upload, fenced or not, stays in the store to be looked at.
      const driver = spawn(process.execPath, ["--import", "tsx", DRIVER, "1", "100000"], { stdio: ["ignore", "pipe", "pipe"], env });
      let stdout = "";
      let stderr = "";
      let hosting: string[] = [];
      let epochs = 0;
      let stalled: string | undefined;
      let stalledAt = 0;
      let resumed = false;
      let resumedAt = 0;
      let killed: string | undefined;
      let replacing: Promise<void> = Promise.resolve();
      driver.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      driver.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        for (const line of chunk.toString().split("\n")) {
          if (line.startsWith("hosting ")) hosting = line.slice(8).split(" ").filter(Boolean);
          if (!line.startsWith("epoch ")) continue;
          epochs++;
          // Stall a machine hosting actors after 5 epochs; let it go on once the next attempt has run 5 epochs without it.
          if (!stalled && epochs >= 5 && hosting.length > 0) {
            stalled = hosting[0] as string;
            stalledAt = epochs;
            machines.signal(stalled, "SIGSTOP");
          } else if (stalled && !resumed && !hosting.includes(stalled) && epochs >= stalledAt + 5) {
            resumed = true;
            resumedAt = epochs;
            machines.signal(stalled, "SIGCONT");
          } else if (resumed && !killed && epochs >= resumedAt + 4) {
            // A restore after the stale uploads: it must read past them. The machine goes with its disk; a new one joins.
            killed = hosting.find((name) => name !== stalled);
            if (killed) replacing = machines.destroy(killed).then(() => machines.start("m4"));
          }
        }
      });
      const code = await new Promise<number | null>((resolve) => driver.once("exit", resolve));
      if (stalled && !resumed) machines.signal(stalled, "SIGCONT");
      await replacing;
      assert.equal(code, 0, `driver failed:\n${stderr.slice(-3000)}`);
      assert.ok(resumed, `the stalled worker ${stalled ?? "(none)"} was never resumed; driver said:\n${stdout}`);
      assert.match(stderr, new RegExp(`lost worker ${stalled} sent no heartbeat`));
      assert.ok(killed, `no machine was killed after the stalled one resumed; driver said:\n${stdout}`);
      const restores = [...machines.logs.values()].join("").match(/restored \d+ state entries of epoch \d+/g) ?? [];
      assert.ok(restores.some((line) => !line.startsWith("restored 0 ")), `no restore installed state:\n${restores.join("\n")}`);
      assert.deepEqual(await committedRows(output), oracle(rows));
      const queryId = /query (\S+)/.exec(stdout)?.[1] as string;
      const transport = await NatsTransport.connect(server().options);
      try {
        const store = await StateStore.open(transport, queryId);
        const listing = await store.listing();
        const fenced = listing.deltas.filter((delta) => {
          const owner = attemptOf(listing.markers, delta.name.epoch);
          return owner !== undefined && (owner.runId !== delta.name.runId || owner.attempt !== delta.name.attempt);
        });
        assert.ok(listing.markers.length >= 2, "the rollback wrote no second attempt marker");
        // The driver stops the other workers' actors of the first attempt before it writes the second attempt's marker:
        // a first-attempt upload stored after that marker is the stalled worker's, made after it resumed.
        const [first, second] = [...listing.markers].sort((a, b) => a.revision - b.revision);
        const late: string[] = [];
        for (const delta of fenced) {
          if (delta.name.runId !== first?.runId || delta.name.attempt !== first.attempt) continue;
          if (((await store.revisionOf(delta.name.key)) ?? 0) > (second?.revision ?? Number.POSITIVE_INFINITY)) late.push(delta.name.key);
        }
        process.stdout.write(`# stalled ${stalled}, then lost ${killed}; restores: ${restores.join("; ")}; ${listing.markers.length} attempt markers; ${fenced.length} uploads of superseded attempts ignored, ${late.length} of them by the stalled worker after it resumed\n`);
        assert.ok(late.length > 0, "the stalled worker uploaded nothing after it resumed, so the fence was not put to the test");
      } finally {
        await transport.close();
      }
    } finally {
      await machines.stopAll();
    }
  });
});
