// Per-worker figures in progress reports: hosted actors from the placement, heartbeat age, CPU share between reports.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Heartbeat } from "../../src/workers/protocol.ts";
import { workerProgress } from "../../src/workers/progress.ts";

function state(name: string, at: number, cpuMicros: number, lastSeen: number, pid = 10): { name: string; heartbeat: Heartbeat; lastSeen: number } {
  return { name, lastSeen, heartbeat: { name, pid, host: "box", slots: 4, intervalMs: 100, hosted: {}, cpuUserMicros: cpuMicros, cpuSystemMicros: 0, rssBytes: 50 * 2 ** 20, at } };
}

describe("worker progress figures", () => {
  const placements = new Map([["s0-source.p0", "driver"], ["s1-aggregate.p1", "w1"], ["s1-aggregate.p0", "w1"], ["s2-sink.p0", "w2"]]);

  it("lists the workers hosting the query's actors, with heartbeat age and no CPU share before a second report", () => {
    const figures = workerProgress([state("w1", 1000, 2_000_000, 900), state("w2", 1000, 1_000_000, 950), state("w3", 1000, 5, 990)], placements, 1000);
    assert.deepEqual(figures.map((worker) => [worker.name, worker.actors, worker.heartbeatAgeMs, worker.cpuSeconds, worker.cpuPercent]), [
      ["w1", ["s1-aggregate.p0", "s1-aggregate.p1"], 100, 2, null],
      ["w2", ["s2-sink.p0"], 50, 1, null],
    ]);
  });

  it("gives the CPU share between the heartbeats of two reports, and none across a restarted process (a new pid)", () => {
    const first = workerProgress([state("w1", 1000, 2_000_000, 1000), state("w2", 1000, 1_000_000, 1000)], placements, 1000);
    const second = workerProgress([state("w1", 3000, 3_000_000, 3000), state("w2", 3000, 1_500_000, 3000, 11)], placements, 3000, first);
    assert.deepEqual(second.map((worker) => [worker.name, worker.cpuPercent]), [["w1", 50], ["w2", null]]);
    // A report on the same heartbeat (epochs shorter than the heartbeat interval) keeps the share.
    const third = workerProgress([state("w1", 3000, 3_000_000, 3000), state("w2", 3000, 1_500_000, 3000, 11)], placements, 3100, second);
    assert.deepEqual(third.map((worker) => [worker.name, worker.cpuPercent, worker.heartbeatAgeMs]), [["w1", 50, 100], ["w2", null, 100]]);
  });
});
