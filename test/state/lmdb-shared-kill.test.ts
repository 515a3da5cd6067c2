// Processes sharing one checkpoint environment (the driver and its workers) survive one of them being SIGKILLed while
// it writes: the survivor keeps writing, committing and reading, and never sees MDB_PANIC. With lmdb-js's default
// overlappingSync, a kill during the victim's sync made the survivor's environment fatal (ARCHITECTURE "Workers").
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { CheckpointStorage } from "../../src/state/lmdb-storage.ts";

const CHILD = join(import.meta.dirname, "lmdb-writer-child.ts");
const KILLS = 20;

/** Starts a writer on `path`, waits until it has written once, lets it write a little longer, then SIGKILLs it. */
async function killWhileWriting(path: string, name: string): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, path, name], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const writing = await new Promise<boolean>((resolve) => {
    child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("writing") && resolve(true));
    child.once("exit", () => resolve(false));
  });
  assert.ok(writing, `the writer ended before it wrote: ${stderr}`);
  // Random, so the kill lands at different points of its commits and syncs. A bound on how long it writes, not an
  // assertion on timing.
  await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 250));
  child.kill("SIGKILL");
  await exited;
}

it(`a process sharing the checkpoint environment writes on while another one is SIGKILLed ${KILLS} times mid-write`, { timeout: 180_000 }, async () => {
  const path = await mkdtemp(join(tmpdir(), "rill-lmdb-shared-"));
  const storage = CheckpointStorage.open(path);
  const value = "s".repeat(2_000);
  let epoch = 0;
  let stop = false;
  const survivor = (async () => {
    while (!stop) {
      epoch++;
      const changes = Array.from({ length: 40 }, (_, index) => ({ stateId: "survivor", keyGroup: index % 8, key: `k${index}`, value: `${value}${epoch}` }));
      await storage.writeChanges(epoch, changes);
      await storage.commit({ epoch, offsets: {}, committedAt: new Date().toISOString() });
      storage.refresh();
      // Plain-code oracle: after the commit of epoch N every key holds the value written in N.
      const state = new Map(storage.readState("survivor", () => true));
      assert.equal(state.size, 40);
      for (const [key, read] of state) assert.equal(read, `${value}${epoch}`, `key ${key} after epoch ${epoch}`);
      assert.equal(storage.lastCommit()?.epoch, epoch);
    }
  })();
  try {
    for (let kill = 0; kill < KILLS; kill++) {
      await Promise.race([killWhileWriting(path, String(kill)), survivor.then(() => assert.fail("the survivor stopped"))]);
    }
    const epochsDuringKills = epoch;
    stop = true;
    await survivor;
    assert.ok(epochsDuringKills > KILLS, `the survivor committed ${epochsDuringKills} epochs`);
    // A fresh open (as a restarted driver would) reads the same.
    await storage.close();
    const reopened = CheckpointStorage.open(path);
    assert.equal(reopened.lastCommit()?.epoch, epoch);
    await reopened.close();
  } finally {
    stop = true;
    await rm(path, { recursive: true, force: true });
  }
});
