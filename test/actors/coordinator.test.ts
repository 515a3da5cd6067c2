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

  it("starts no triggered epoch after the final one (a graceful stop's last epoch is the last committed)", async () => {
    await withCoordinator(async ({ coordinator, storage, ack }) => {
      coordinator.requestTriggeredEpoch();
      const final = coordinator.requestEpoch(true);
      coordinator.requestTriggeredEpoch();
      for (const epoch of [0, 1]) for (const actor of ["source.p0", "stateless.p0"]) ack(actor, epoch);
      await delivered(coordinator);
      assert.equal(final.epoch, 1);
      assert.deepEqual(storage.commits().map((commit) => commit.epoch), [0, 1]);
      coordinator.requestTriggeredEpoch();
      ack("source.p0", 2);
      ack("stateless.p0", 2);
      await delivered(coordinator);
      assert.deepEqual(storage.commits().map((commit) => commit.epoch), [0, 1], "no epoch 2 was started, so none commits");
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

describe("Coordinator checks control messages against the protocol's state", () => {
  async function withWatchedCoordinator(test: (context: { coordinator: Coordinator; storage: CheckpointStorage; send: (message: ControlMessage) => void; failures: string[]; rejected: string[] }) => Promise<void>): Promise<void> {
    const folder = await mkdtemp(join(tmpdir(), "rill-coordinator-"));
    const storage = CheckpointStorage.open(folder);
    const transport = new InProcessTransport();
    const subjects = querySubjects("rill", "forged", "r1");
    const failures: string[] = [];
    const rejected: string[] = [];
    transport.onRejected((_subject, error) => rejected.push(error instanceof Error ? error.message : String(error)));
    const coordinator = new Coordinator(transport, subjects, ["source.p0", "sink.p0"], ["sink.p0"], { onEpoch: () => undefined, onFailure: (actor, error) => failures.push(`${actor}: ${error}`) }, storage, 60_000);
    coordinator.listen();
    try {
      await test({ coordinator, storage, send: (message) => transport.publish(subjects.coordinator, encodeControl(message)), failures, rejected });
    } finally {
      await coordinator.stop();
      await storage.close();
      await rm(folder, { recursive: true, force: true });
    }
  }
  const ack = (actor: string, epoch: number, sourceOffset?: number): ControlMessage => ({ type: "ack", actor, epoch, stats: emptyStats(), ...(sourceOffset === undefined ? {} : { sourceOffset }) });

  it("rejects a 'failed' message from a name that is none of the query's actors", async () => {
    await withWatchedCoordinator(async ({ coordinator, send, failures, rejected }) => {
      send({ type: "failed", actor: "intruder", error: "forged", code: "FORGED" });
      send({ type: "failed", actor: "coordinator", error: "forged", code: "FORGED" });
      await delivered(coordinator);
      assert.deepEqual(failures, []);
      assert.equal(rejected.length, 2);
      assert.match(rejected[0] ?? "", /'failed' message from 'intruder'/);
      send({ type: "failed", actor: "sink.p0", error: "disk full", code: "SINK" });
      await delivered(coordinator);
      assert.deepEqual(failures, ["sink.p0: disk full"]);
    });
  });

  it("ignores acks from unknown actors, for epochs not open and duplicates: the commit holds the real offsets", async () => {
    await withWatchedCoordinator(async ({ coordinator, storage, send, rejected }) => {
      const { done } = coordinator.requestEpoch(false);
      send(ack("source.p0", 0, 100));
      send(ack("intruder.p0", 0, 999_999));
      send(ack("source.p0", 0, 999_999));
      send(ack("sink.p0", 5));
      send({ type: "committed", actor: "intruder.p0", epoch: 0 });
      await delivered(coordinator);
      assert.equal(storage.lastCommit(), undefined, "no forged ack may stand in for the sink's");
      assert.equal(rejected.length, 4);
      send(ack("sink.p0", 0));
      await delivered(coordinator);
      assert.deepEqual(storage.lastCommit()?.offsets, { "source.p0": 100 });
      send({ type: "committed", actor: "sink.p0", epoch: 0 });
      await done;
      assert.equal(coordinator.lastCompletedEpoch, 0);
      send(ack("sink.p0", 0));
      await delivered(coordinator);
      assert.equal(rejected.length, 5, "an ack for a completed epoch is rejected");
    });
  });
});
