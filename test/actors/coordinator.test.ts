// The coordinator commits epochs in epoch order, whatever order the acks arrive in, and a stop waits for a commit under way.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { decodeControl, emptyStats, encodeControl, type ControlMessage } from "../../src/actors/control.ts";
import { Coordinator } from "../../src/actors/coordinator.ts";
import { InProcessTransport } from "../../src/actors/inprocess-transport.ts";
import { querySubjects } from "../../src/actors/subjects.ts";
import { CheckpointStorage } from "../../src/state/lmdb-storage.ts";

async function withCoordinator(test: (context: { coordinator: Coordinator; storage: CheckpointStorage; ack: (actor: string, epoch: number) => void; commits: number[] }) => Promise<void>): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), "rill-coordinator-"));
  const storage = CheckpointStorage.open(folder);
  const transport = new InProcessTransport();
  const subjects = querySubjects("rill", "order", "r1");
  const commits: number[] = [];
  transport.subscribe(subjects.control, (payload) => {
    const message = decodeControl(payload);
    if (message.type === "commit") commits.push(message.epoch);
  });
  const coordinator = new Coordinator(transport, subjects, ["source.p0", "stateless.p0"], [], { onEpoch: () => undefined, onFailure: (actor, error) => assert.fail(`${actor} failed: ${error}`) }, storage, 60_000);
  coordinator.listen();
  const ack = (actor: string, epoch: number): void => {
    const message: ControlMessage = { type: "ack", actor, epoch, stats: emptyStats(), ...(actor.startsWith("source") ? { sourceOffset: epoch * 100 + 100 } : {}) };
    transport.publish(subjects.coordinator, encodeControl(message));
  };
  try {
    await test({ coordinator, storage, ack, commits });
  } finally {
    await coordinator.stop();
    await storage.close();
    await rm(folder, { recursive: true, force: true });
  }
}

/** Lets the in-process transport deliver what was published (it delivers on a microtask), then waits for the commits it started. */
async function delivered(coordinator: Coordinator): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await coordinator.commitsUnderWay();
}

describe("Coordinator commit order", () => {
  it("holds back epoch N+1, fully acked, until epoch N is committed", async () => {
    await withCoordinator(async ({ coordinator, storage, ack, commits }) => {
      coordinator.requestEpoch(false);
      coordinator.requestEpoch(false);
      // An actor with nothing to write acks epoch 1 at once while its write for epoch 0 is still running.
      ack("source.p0", 1);
      ack("stateless.p0", 1);
      ack("source.p0", 0);
      await delivered(coordinator);
      assert.equal(storage.lastCommit(), undefined, "epoch 1 must not commit while epoch 0 waits for an ack");
      assert.deepEqual(commits, []);
      ack("stateless.p0", 0);
      await delivered(coordinator);
      assert.deepEqual(storage.commits().map((commit) => commit.epoch), [0, 1]);
      assert.deepEqual(commits, [0, 1]);
      assert.deepEqual(storage.lastCommit()?.offsets, { "source.p0": 200 });
    });
  });

  it("commits nothing after a stop, and the stop waits for the commit already under way", async () => {
    await withCoordinator(async ({ coordinator, storage, ack }) => {
      coordinator.requestEpoch(false);
      ack("source.p0", 0);
      ack("stateless.p0", 0);
      await new Promise((resolve) => setImmediate(resolve));
      await coordinator.stop();
      assert.deepEqual(storage.commits().map((commit) => commit.epoch), [0], "the commit under way has landed when stop() returns");
      coordinator.requestEpoch(false);
      ack("source.p0", 1);
      ack("stateless.p0", 1);
      await delivered(coordinator);
      assert.deepEqual(storage.commits().map((commit) => commit.epoch), [0]);
    });
  });
});
