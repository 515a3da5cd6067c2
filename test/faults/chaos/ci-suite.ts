// The chaos harness as CI runs it: one schedule of SIGKILLs (and one nats-server SIGKILL) across every chaos query,
// one test per query. CI runs it from two files of KILLS_PER_FILE kills each, so that each file fits the test
// runner's per-file timeout on a loaded 2-core machine; `npm run chaos` runs one long schedule instead.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { QUERIES } from "./queries.ts";
import { runChaos, type ChaosReport } from "./runner.ts";
import type { Check } from "./verifier.ts";

export const KILLS_PER_FILE = 10;

export function chaosSuite(part: number): void {
  const seed = Number(process.env.RILL_CHAOS_SEED ?? (Date.now() + part) % 1_000_000);
  const kills = Math.max(KILLS_PER_FILE, Number(process.env.RILL_CHAOS_KILLS ?? KILLS_PER_FILE));
  const assertChecks = (checks: readonly Check[]): void => {
    const failed = checks.filter((check) => !check.ok);
    assert.deepEqual(failed.map((check) => `${check.query}: ${check.check}: ${check.detail}`), [], `RILL_CHAOS_SEED=${seed} reruns this schedule`);
  };

  describe(`chaos part ${part}: ${kills} SIGKILLs across ${QUERIES.length} queries (RILL_CHAOS_SEED=${seed})`, () => {
    let report: ChaosReport;
    before(async () => {
      report = await runChaos({ seed, kills, natsRestarts: 1, rowsPerKill: 600, rowsPerSecond: 200, finalTimeoutMs: 60_000, log: (line) => console.log(line) });
    });

    it("killed the child as scheduled and nats-server once, over input that stayed whole", () => {
      assert.equal(report.kills.total, kills, "every kill of the schedule landed on a running child");
      assertChecks(report.checks.filter((check) => check.query === "input" || check.query === "harness"));
    });

    for (const query of QUERIES) {
      it(`${query.name}: ${query.kind} into ${query.sink.format === "files" ? "the file sink" : `the JetStream sink (${query.sink.mode})`} is exact after the kills`, () => {
        assertChecks(report.checks.filter((check) => check.query === query.name));
      });
    }
  });
}
