// Issue 13's targets in the bench (bench/e2e/analysis.ts): the codec's 150 ns a row, Project and Filter + Project
// within 3x of plain code (from the hot-path step's figures, bench/e2e/hot-path.ts), (a) at 90% of raw NATS and (b) at
// twice its rate of the day the issue was filed. Judged on figures given here, so each verdict's edge is tested; one
// real hot-path run checks that the step finds every task the targets read.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { B_RATE_WHEN_FILED, checkTargets, hotPathTargets } from "../../bench/e2e/analysis.ts";
import { HOT_PATH_TASKS, measureHotPath, summarize, type HotPathResult } from "../../bench/e2e/hot-path.ts";
import type { StepUpResult } from "../../bench/e2e/step-up.ts";
import { CONTINUOUS, RAW_NATS } from "../../bench/e2e/modes.ts";

function hotPath(figures: { encode: number; decode: number; project: number; projectPlain: number; filterProject?: number }): HotPathResult {
  const round = [
    { task: HOT_PATH_TASKS.encodeNamed, nsPerRow: figures.encode, plainNsPerRow: undefined, droppedNsPerRow: undefined },
    { task: `${HOT_PATH_TASKS.decodeNamed} 12650 bytes)`, nsPerRow: figures.decode, plainNsPerRow: undefined, droppedNsPerRow: undefined },
    { task: HOT_PATH_TASKS.encodeArrays, nsPerRow: figures.encode - 10, plainNsPerRow: undefined, droppedNsPerRow: undefined },
    { task: HOT_PATH_TASKS.decodeArrays, nsPerRow: figures.decode, plainNsPerRow: undefined, droppedNsPerRow: undefined },
    { task: HOT_PATH_TASKS.project, nsPerRow: figures.project, plainNsPerRow: figures.projectPlain, droppedNsPerRow: 1 },
    ...(figures.filterProject === undefined ? [] : [{ task: HOT_PATH_TASKS.filterProject, nsPerRow: figures.filterProject, plainNsPerRow: 10, droppedNsPerRow: 1 }]),
  ];
  return { processes: 1, nodeFlags: ["--import", "tsx"], tasks: summarize([round]), wallMs: 1 };
}

function statusOf(checks: ReturnType<typeof hotPathTargets>, prefix: string): string[] {
  return checks.filter((check) => check.target.startsWith(prefix)).map((check) => check.status);
}

function ladder(scenario: string, mode: string, sustainedRate: number): StepUpResult {
  return { scenario, mode, steps: [], sustainedRate, atSustained: undefined, reachedMax: false };
}

describe("issue 13's targets in the bench", () => {
  it("passes the codec at 150 ns a row and misses it just above, for named rows and rows by position", () => {
    assert.deepEqual(statusOf(hotPathTargets(hotPath({ encode: 90, decode: 60, project: 30, projectPlain: 10 })), "codec"), ["PASS", "PASS"]);
    assert.deepEqual(statusOf(hotPathTargets(hotPath({ encode: 90.1, decode: 60, project: 30, projectPlain: 10 })), "codec"), ["MISS", "PASS"]);
    const figure = hotPathTargets(hotPath({ encode: 137.6, decode: 74.6, project: 30, projectPlain: 10 }))[0]?.figure;
    assert.match(figure ?? "", /^137\.6 \+ 74\.6 = 212\.2 ns/);
  });

  it("judges Project against plain code at 3x, and says n/a for a task the step did not measure", () => {
    const checks = hotPathTargets(hotPath({ encode: 90, decode: 60, project: 30, projectPlain: 10 }));
    assert.deepEqual(statusOf(checks, "ProjectOperator"), ["PASS"]);
    assert.deepEqual(statusOf(checks, "Filter + Project"), ["n/a yet"]);
    assert.deepEqual(statusOf(hotPathTargets(hotPath({ encode: 90, decode: 60, project: 30.1, projectPlain: 10, filterProject: 31 })), "ProjectOperator"), ["MISS"]);
    assert.deepEqual(statusOf(hotPathTargets(hotPath({ encode: 90, decode: 60, project: 30, projectPlain: 10, filterProject: 31 })), "Filter + Project"), ["MISS"]);
  });

  it("judges (a) against 90% of raw NATS and (b) against twice its rate of the day the issue was filed", () => {
    const run = (a: number, raw: number, b: number) => checkTargets([], [ladder("a", CONTINUOUS, a), ladder("a", RAW_NATS, raw), ladder("b", CONTINUOUS, b)], undefined);
    const verdicts = (a: number, raw: number, b: number) => run(a, raw, b).filter((check) => check.target.includes("issue 13")).map((check) => check.status);
    assert.deepEqual(verdicts(900_000, 1_000_000, 2 * B_RATE_WHEN_FILED), ["PASS", "PASS"]);
    assert.deepEqual(verdicts(890_000, 1_000_000, 2 * B_RATE_WHEN_FILED - 10_000), ["MISS", "MISS"]);
  });

  it("finds every task the targets read in a real run of the step", { timeout: 300_000 }, async () => {
    const result = await measureHotPath(1);
    assert.equal(result.error, undefined);
    const checks = hotPathTargets(result);
    assert.equal(checks.length, 4);
    for (const check of checks) assert.notEqual(check.status, "n/a yet", `${check.target}: ${check.note}`);
  });
});
