// The chaos harness in CI: eight checkpointed queries in one child process, SIGKILLed at least 20 times (at random and
// at the protocol's dangerous points), nats-server SIGKILLed and restarted once, input arriving throughout; then
// every output is checked against plain code. RILL_CHAOS_SEED=n reruns a schedule; RILL_CHAOS_KILLS raises the count.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { QUERIES } from "./chaos/queries.ts";
import { runChaos, type ChaosReport } from "./chaos/runner.ts";
import type { Check } from "./chaos/verifier.ts";

const seed = Number(process.env.RILL_CHAOS_SEED ?? Date.now() % 1_000_000);
const kills = Math.max(20, Number(process.env.RILL_CHAOS_KILLS ?? 20));

function assertChecks(checks: readonly Check[]): void {
  const failed = checks.filter((check) => !check.ok);
  assert.deepEqual(failed.map((check) => `${check.query}: ${check.check}: ${check.detail}`), [], `RILL_CHAOS_SEED=${seed} reruns this schedule`);
}

describe(`chaos: ${kills} SIGKILLs across ${QUERIES.length} queries (RILL_CHAOS_SEED=${seed})`, { timeout: 600_000 }, () => {
  let report: ChaosReport;
  before(async () => {
    report = await runChaos({ seed, kills, natsRestarts: 1, rowsPerKill: 600, rowsPerSecond: 200, finalTimeoutMs: 180_000, log: (line) => console.log(line) });
  }, { timeout: 600_000 });

  it("killed the child the scheduled number of times and nats-server once, over input that stayed whole", () => {
    assert.ok(report.kills.total >= 20, `SIGKILLs: ${report.kills.total}`);
    assert.equal(report.kills.total, kills, "every kill of the schedule landed on a child that was still running");
    assertChecks(report.checks.filter((check) => check.query === "input" || check.query === "harness"));
  });

  for (const query of QUERIES) {
    it(`${query.name}: ${query.kind} into ${query.sink.format === "files" ? "the file sink" : `the JetStream sink (${query.sink.mode})`} is exact after the kills`, () => {
      assertChecks(report.checks.filter((check) => check.query === query.name));
    });
  }
});
