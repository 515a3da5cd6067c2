// The bench's GC monitor (bench/e2e/gc-monitor.ts): with a warm-up, `steady` holds only the pauses that began after it,
// so the GC target can be judged without the query's start-up pauses, and the whole run's figures stay beside it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GcMonitor } from "../../bench/e2e/gc-monitor.ts";

/** Allocates short-lived garbage (young-generation scavenges) until `until` (performance.now()). */
function churn(until: number): number {
  let kept = 0;
  while (performance.now() < until) {
    const garbage = Array.from({ length: 1000 }, (_, index) => ({ index, text: `row ${index}` }));
    kept += garbage.length;
  }
  return kept;
}

/** Lets the observer's entries of the last collections arrive (they are delivered on a later turn). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("the bench's GC monitor", () => {
  it("gives the pauses after the warm-up as `steady`, fewer than the whole run's, and none without a warm-up", async () => {
    const started = performance.now();
    const monitor = new GcMonitor(300);
    const plain = new GcMonitor();
    churn(started + 250);
    await nextTurn();
    churn(started + 600);
    await nextTurn();
    const figures = monitor.stop();
    const without = plain.stop();
    assert.ok(figures.collections > 2, `scavenges in the run: ${figures.collections}`);
    assert.equal(without.steady, undefined);
    const steady = figures.steady;
    assert.ok(steady !== undefined);
    assert.equal(steady.warmupMs, 300);
    assert.ok(steady.collections > 0, `scavenges after the warm-up: ${steady.collections}`);
    assert.ok(steady.collections < figures.collections, `${steady.collections} after the warm-up of ${figures.collections}`);
    assert.ok(steady.maxPauseMs <= figures.maxPauseMs);
    assert.equal(steady.minor + steady.major <= steady.collections, true);
  });
});
