// The dashboard's state API with workers: each query's view names the workers hosting its actors, with their figures.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StreamingQueryListener } from "../../src/api/listener.ts";
import type { StreamingQueryProgress } from "../../src/api/progress.ts";
import { DashboardState } from "../../src/monitoring/dashboard-state.ts";
import type { WorkerProgress } from "../../src/workers/progress.ts";

function progress(batchId: number, workers: readonly WorkerProgress[] | undefined): StreamingQueryProgress {
  return {
    id: "q1", runId: "r1", name: "windows", timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, batchId)).toISOString(), batchId, numInputRows: 10, inputRowsPerSecond: 10, processedRowsPerSecond: 10,
    durationMs: { epoch: 5, sincePreviousEpoch: 100 }, latencyMs: { count: 0, p50: 0, p99: 0, p999: 0, max: 0 }, numDeadLetters: 0, numRecoveries: 0, numRowsDroppedByWatermark: 0,
    eventTime: {}, stateOperators: [], sources: [], sink: { description: "json", numOutputRows: 1 }, stages: [], ...(workers ? { workers } : {}),
  };
}

const w1: WorkerProgress = { name: "w1", host: "box", pid: 11, actors: ["s1-aggregate.p0", "s2-sink.p0"], heartbeatAgeMs: 120, cpuSeconds: 3.5, cpuPercent: 42, rssBytes: 90 * 2 ** 20, heartbeatAt: 5 };

describe("dashboard state: workers", () => {
  it("shows the workers of the last progress report, and none for a query without workers", () => {
    let listener: StreamingQueryListener | undefined;
    const state = new DashboardState({ addListener: (added) => (listener = added), removeListener: () => undefined, get: () => undefined, active: [] });
    listener?.onQueryProgress?.({ progress: progress(0, undefined) });
    assert.deepEqual(state.views()[0]?.workers, []);
    listener?.onQueryProgress?.({ progress: progress(1, [w1]) });
    const [view] = state.views();
    assert.deepEqual(view?.workers, [w1]);
    // The JSON the state API serves carries them as they are.
    assert.deepEqual((JSON.parse(JSON.stringify(state.views())) as Array<{ workers: unknown }>)[0]?.workers, [w1]);
    state.close();
  });
});
