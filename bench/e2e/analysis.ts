// Ratios measured in one run, and the issue's targets checked against them (PASS, MISS, or n/a yet).
import { CHECKPOINTS, CONTINUOUS, IN_PROCESS, MICRO_BATCH_100MS, MICRO_BATCH_1S, RAW_NATS, RAW_NATS_INPUT, UNCHAINED } from "./modes.ts";
import type { PointResult } from "./point.ts";
import type { GcFigures } from "./gc-monitor.ts";
import type { GcRunResult } from "./gc-run.ts";
import { HOT_PATH_TASKS, hotPathTask, type HotPathResult } from "./hot-path.ts";
import type { RestartResult } from "./restart.ts";
import { ARRIVAL_ROUNDING_MS } from "./scenarios.ts";
import type { StepUpResult } from "./step-up.ts";

export interface Ratio {
  readonly name: string;
  /** Scenario the figures come from. */
  readonly scenario: string;
  readonly value: number | undefined;
  /** How the ratio was computed, with the figures. */
  readonly detail: string;
}

export interface TargetCheck {
  readonly target: string;
  readonly status: "PASS" | "MISS" | "n/a yet";
  readonly figure: string;
  readonly note: string;
}

export function latencyPoint(points: readonly PointResult[], scenario: string, mode: string): PointResult | undefined {
  return points.find((point) => point.scenario === scenario && point.mode === mode);
}

export function sustained(results: readonly StepUpResult[], scenario: string, mode: string): number | undefined {
  return results.find((result) => result.scenario === scenario && result.mode === mode)?.sustainedRate;
}

export function latencyRatios(points: readonly PointResult[], scenarios: readonly string[]): Ratio[] {
  const ratios: Ratio[] = [];
  for (const scenario of scenarios) {
    const continuous = latencyPoint(points, scenario, CONTINUOUS);
    const microBatch = latencyPoint(points, scenario, MICRO_BATCH_100MS);
    const inProcess = latencyPoint(points, scenario, IN_PROCESS);
    if (continuous && microBatch) {
      ratios.push(divide("micro-batch 100 ms p50 / continuous p50 (query figure)", scenario, microBatch.latency.p50, continuous.latency.p50, "ms"));
      if (continuous.rowLatency && microBatch.rowLatency) ratios.push(divide("micro-batch 100 ms p50 / continuous p50 (per row)", scenario, microBatch.rowLatency.p50, continuous.rowLatency.p50, "ms"));
    }
    if (continuous && inProcess) ratios.push(divide("NATS p50 / in-process p50 (query figure)", scenario, continuous.latency.p50, inProcess.latency.p50, "ms"));
    const checkpoints = latencyPoint(points, scenario, CHECKPOINTS);
    if (continuous && checkpoints) {
      ratios.push(divide("checkpoints on / off, p50 (query figure)", scenario, checkpoints.latency.p50, continuous.latency.p50, "ms"));
      ratios.push(divide("checkpoints on / off, p99 (query figure)", scenario, checkpoints.latency.p99, continuous.latency.p99, "ms"));
    }
  }
  return ratios;
}

export function throughputRatios(results: readonly StepUpResult[], scenarios: readonly string[]): Ratio[] {
  const ratios: Ratio[] = [];
  for (const scenario of scenarios) {
    const rate = (mode: string) => sustained(results, scenario, mode);
    const continuous = rate(CONTINUOUS);
    const pairs: Array<[string, number | undefined, number | undefined]> = [
      ["continuous NATS / raw NATS (same records)", continuous, rate(RAW_NATS)],
      ["continuous NATS / raw NATS (every input row)", continuous, rate(RAW_NATS_INPUT)],
      ["continuous NATS / micro-batch 100 ms", continuous, rate(MICRO_BATCH_100MS)],
      ["continuous NATS / micro-batch 1 s", continuous, rate(MICRO_BATCH_1S)],
      ["in-process / NATS (continuous)", rate(IN_PROCESS), continuous],
      ["every operator its own actor / chained", rate(UNCHAINED), continuous],
      ["checkpoints every 1 s / no checkpoints (continuous NATS)", rate(CHECKPOINTS), continuous],
    ];
    for (const [name, numerator, denominator] of pairs) {
      if (numerator !== undefined && denominator !== undefined) ratios.push(divide(name, scenario, numerator, denominator, "rows/s"));
    }
  }
  return ratios;
}

function divide(name: string, scenario: string, numerator: number | undefined, denominator: number | undefined, unit: string): Ratio {
  const value = numerator !== undefined && denominator !== undefined && denominator > 0 ? numerator / denominator : undefined;
  return { name, scenario, value, detail: `${format(numerator)} / ${format(denominator)} ${unit}` };
}

export function checkTargets(points: readonly PointResult[], results: readonly StepUpResult[], restart: RestartResult | undefined, gcRun?: GcRunResult, hotPath?: HotPathResult): TargetCheck[] {
  const checks: TargetCheck[] = [...latencyTargets(points, gcRun)];
  const continuous = sustained(results, "a", CONTINUOUS);
  const raw = sustained(results, "a", RAW_NATS);
  if (results.some((result) => result.scenario === "a")) {
    checks.push(throughputCheck("throughput of (a) over NATS at least 60% of raw NATS", continuous, raw, 0.6));
    checks.push(throughputCheck("throughput of (a) over NATS at least 90% of raw NATS (issue 13)", continuous, raw, 0.9));
    for (const [mode, label] of [[MICRO_BATCH_100MS, "100 ms"], [MICRO_BATCH_1S, "1 s"]] as const) {
      checks.push(throughputCheck(`throughput of (a) over NATS at least 90% of micro-batch ${label}`, continuous, sustained(results, "a", mode), 0.9));
    }
  }
  for (const scenario of ["a", "b"]) {
    const on = results.find((result) => result.scenario === scenario && result.mode === CHECKPOINTS);
    const off = results.find((result) => result.scenario === scenario && result.mode === CONTINUOUS);
    if (on && off) checks.push(checkpointCostCheck(scenario, on, off));
  }
  if (results.some((result) => result.scenario === "b" && result.mode === CONTINUOUS)) checks.push(issue13ThroughputCheck(sustained(results, "b", CONTINUOUS), raw));
  if (restart) checks.push(...restartChecks(restart));
  if (hotPath) checks.push(...hotPathTargets(hotPath));
  return checks;
}

/**
 * Issue 13's "at least 2x today's highest sustained rate on one core" for (b): the highest rate continuous NATS kept up
 * in the two runs of the day it was filed (bench/results/2026-11-30T08-11-29-140Z.md and T08-20-15-075Z.md: 200,000
 * and 220,000 rows/s, raw NATS 1,300,000 in the first), the larger taken.
 */
export const B_RATE_WHEN_FILED = 220_000;

function issue13ThroughputCheck(rate: number | undefined, raw: number | undefined): TargetCheck {
  const target = `throughput of (b) over NATS at least 2x its ${format(B_RATE_WHEN_FILED)} rows/s of 2026-11-30 (issue 13)`;
  const machine = raw === undefined ? "" : ` Raw NATS sustained ${format(raw)} rows/s in this run (1,300,000 then): the machine's speed moves both.`;
  if (rate === undefined) return { target, status: "MISS", figure: "- rows/s", note: `a mode kept up with no step.${machine}` };
  const ratio = rate / B_RATE_WHEN_FILED;
  return { target, status: ratio >= 2 ? "PASS" : "MISS", figure: `${format(rate)} / ${format(B_RATE_WHEN_FILED)} rows/s = ${ratio.toFixed(2)}x`, note: `the highest rate kept up in this run's step-up ladder (a floor within its last gap) against the higher of the two runs of the day the issue was filed.${machine}` };
}

/** Issue 13's micro targets: encode + decode at most 150 ns a row (activity rows, named and by position); Project and Filter + Project within 3x of plain code. */
export const CODEC_TARGET_NS = 150;
export const PLAIN_RATIO_TARGET = 3;

export function hotPathTargets(hotPath: HotPathResult): TargetCheck[] {
  const how = `bench/micro/cpu.ts --suite hotpath in ${hotPath.processes} fresh processes (\`node ${hotPath.nodeFlags.join(" ")}\`), CPU time, the median of the processes`;
  const failed = hotPath.error === undefined ? "" : ` **The step failed: ${hotPath.error}.**`;
  const checks: TargetCheck[] = [];
  for (const [form, encodeName, decodeName] of [["named rows", HOT_PATH_TASKS.encodeNamed, HOT_PATH_TASKS.decodeNamed], ["rows by position", HOT_PATH_TASKS.encodeArrays, HOT_PATH_TASKS.decodeArrays]] as const) {
    const target = `codec: encode + decode of a 256-row activity frame at most ${CODEC_TARGET_NS} ns a row [${form}]`;
    const encode = hotPathTask(hotPath, encodeName);
    const decode = hotPathTask(hotPath, decodeName);
    if (encode === undefined || decode === undefined) {
      checks.push({ target, status: "n/a yet", figure: "-", note: `not measured.${failed}` });
      continue;
    }
    const total = Math.round((encode.nsPerRow + decode.nsPerRow) * 10) / 10;
    checks.push({ target, status: total <= CODEC_TARGET_NS ? "PASS" : "MISS", figure: `${encode.nsPerRow} + ${decode.nsPerRow} = ${total} ns (encode ${encode.minNsPerRow}-${encode.maxNsPerRow}, decode ${decode.minNsPerRow}-${decode.maxNsPerRow})`, note: `${how}; CPU time grows with a busy machine's cache and core sharing.${failed}` });
  }
  for (const [label, name] of [["ProjectOperator", HOT_PATH_TASKS.project], ["Filter + Project", HOT_PATH_TASKS.filterProject]] as const) {
    const target = `${label} within ${PLAIN_RATIO_TARGET}x of plain code`;
    const task = hotPathTask(hotPath, name);
    if (task === undefined || task.plainNsPerRow === undefined) {
      checks.push({ target, status: "n/a yet", figure: "-", note: `not measured.${failed}` });
      continue;
    }
    const ratio = task.nsPerRow / task.plainNsPerRow;
    checks.push({ target, status: ratio <= PLAIN_RATIO_TARGET ? "PASS" : "MISS", figure: `${task.nsPerRow} / ${task.plainNsPerRow} ns a row = ${ratio.toFixed(2)}x`, note: `${how}; plain code keeps its output rows as the operator does (bench/micro/harness.ts, OutputRing).${failed}` });
  }
  return checks;
}

/** Issue 13's targets for scenario (b), checkpoints on, at 10k rows/s. */
const P50_RATIO_TARGET = 100;
const P99_TARGET_MS = 5;
const GC_PAUSE_P99_TARGET_MS = 1;

/**
 * The latency targets are the issue's for scenario (b), checkpoints on, at 10k rows/s. They are judged on the per-row
 * figure (reconstructed from the counts for (b)), and the query's own figure is shown next to it. GC pauses: see gcTarget.
 */
function latencyTargets(points: readonly PointResult[], gcRun: GcRunResult | undefined): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const candidate = latencyPoint(points, "b", CHECKPOINTS);
  const microBatch = latencyPoint(points, "b", MICRO_BATCH_100MS);
  const reference = perRowReference(points);
  if (candidate && microBatch) {
    const perRow = candidate.rowLatency && microBatch.rowLatency ? microBatch.rowLatency.p50 / candidate.rowLatency.p50 : undefined;
    const query = microBatch.latency.p50 / candidate.latency.p50;
    const judged = perRow ?? query;
    const agree = (perRow === undefined || perRow >= P50_RATIO_TARGET) === (query >= P50_RATIO_TARGET);
    checks.push({
      target: `(b) p50 at 10k rows/s, checkpoints on, at least ${P50_RATIO_TARGET}x lower than micro-batch 100 ms`,
      status: judged >= P50_RATIO_TARGET ? "PASS" : "MISS",
      figure: `${perRow === undefined ? "" : `per row: ${candidate.rowLatency?.p50} ms vs ${microBatch.rowLatency?.p50} ms = ${perRow.toFixed(1)}x; `}query figure: ${candidate.latency.p50} vs ${microBatch.latency.p50} ms = ${query.toFixed(1)}x`,
      note: `Judged on the ${perRow === undefined ? "query figure (no per-row figure)" : "per-row figure, reconstructed from the counts"}${agree ? "; the query figure gives the same verdict" : "; **the query figure gives the other verdict**"}.${reference}`,
    });
  }
  if (candidate) {
    const perRow = candidate.rowLatency?.p99;
    const judged = perRow ?? candidate.latency.p99;
    const agree = (perRow === undefined || perRow < P99_TARGET_MS) === (candidate.latency.p99 < P99_TARGET_MS);
    checks.push({
      target: `(b) p99 at 10k rows/s, checkpoints on, under ${P99_TARGET_MS} ms`,
      status: judged < P99_TARGET_MS ? "PASS" : "MISS",
      figure: `${perRow === undefined ? "" : `per row: p99 ${perRow} ms (over ${format(candidate.rowLatency?.count)} input rows); `}query figure: p99 ${candidate.latency.p99} ms, max ${candidate.latency.max} ms`,
      note: `Judged on the ${perRow === undefined ? "query figure" : "per-row figure"}${agree ? "; the query figure gives the same verdict" : "; **the query figure gives the other verdict**"}.`,
    });
  }
  const gcCheck = gcTarget(candidate?.gc, gcRun);
  if (gcCheck) checks.push(gcCheck);
  return checks;
}

/**
 * GC pauses under 1 ms at p99, judged on the GC run (bench/e2e/gc-run.ts: (b) with checkpoints in a process of its own
 * with Rill's query flags, 20 s after a 5 s warm-up whose pauses are shown but not judged); the latency run's own figure
 * (2 s in the bench's process, so its p99 is its longest pause) is shown beside it. Without a GC run (--no-gc-run, or
 * results from before it) the latency run's figure is judged.
 */
function gcTarget(latencyRun: GcFigures | undefined, gcRun: GcRunResult | undefined): TargetCheck | undefined {
  const target = `(b) GC pauses at 10k rows/s, checkpoints on, under ${GC_PAUSE_P99_TARGET_MS} ms at p99`;
  const describe = (gc: GcFigures): string => `p99 ${gc.p99PauseMs} ms, p50 ${gc.p50PauseMs} ms, longest ${gc.maxPauseMs} ms over ${gc.collections} collections (${gc.minor} scavenges, ${gc.major} mark-compacts), ${gc.pauseMsPerSecond} ms of pause a second`;
  const status = (gc: GcFigures): TargetCheck["status"] => (gc.collections === 0 ? "n/a yet" : gc.p99PauseMs < GC_PAUSE_P99_TARGET_MS ? "PASS" : "MISS");
  const wall = "pauses are wall-clock time, so a loaded machine lengthens them";
  if (gcRun === undefined) {
    if (latencyRun === undefined) return undefined;
    return { target, status: status(latencyRun), figure: describe(latencyRun), note: `The latency run's (the bench process's main thread, every actor in it, from the query's start to its last row; no GC run); ${wall}.` };
  }
  const beside = latencyRun === undefined ? "" : ` The latency run in the bench's process: ${describe(latencyRun)}.`;
  const warmup = gcRun.warmupSeconds ?? 0;
  const judged = gcRun.gc?.steady;
  const own = judged === undefined
    ? `${gcRun.seconds} s at ${gcRun.rate} rows/s in a process of its own (\`node ${gcRun.nodeFlags.join(" ")}\`, bench/point.ts), its main thread from the query's start to its last row; ${wall}.`
    : `${gcRun.seconds} s at ${gcRun.rate} rows/s in a process of its own (\`node ${gcRun.nodeFlags.join(" ")}\`, bench/point.ts), its main thread from ${warmup} s after the query's start to its last row; ${wall}. The whole run, the warm-up's pauses in: ${gcRun.gc === undefined ? "-" : describe(gcRun.gc)}.`;
  const figures = judged ?? gcRun.gc;
  if (figures === undefined || !gcRun.complete || gcRun.error !== undefined) {
    return { target, status: "n/a yet", figure: figures === undefined ? "-" : describe(figures), note: `The GC run did not complete${gcRun.error === undefined ? "" : `: ${gcRun.error}`}. ${own}${beside}` };
  }
  return { target, status: status(figures), figure: describe(figures), note: `Judged on the GC run${judged === undefined ? "" : " after its warm-up"}: ${own}${beside}` };
}

/** Scenario (a)'s per-row ratio of the same run: measured from Arrival_Time rather than reconstructed, a cross-check of the method. */
function perRowReference(points: readonly PointResult[]): string {
  const continuous = latencyPoint(points, "a", CHECKPOINTS) ?? latencyPoint(points, "a", CONTINUOUS);
  const microBatch = latencyPoint(points, "a", MICRO_BATCH_100MS);
  if (!continuous?.rowLatency || !microBatch?.rowLatency) return "";
  const p50 = continuous.rowLatency.p50;
  const low = microBatch.rowLatency.p50 / (p50 + ARRIVAL_ROUNDING_MS);
  const high = p50 > ARRIVAL_ROUNDING_MS ? microBatch.rowLatency.p50 / (p50 - ARRIVAL_ROUNDING_MS) : Number.POSITIVE_INFINITY;
  return ` For comparison, (a) ${continuous.mode === CHECKPOINTS ? "with checkpoints" : "without checkpoints"}, per row from Arrival_Time: ${p50} vs ${microBatch.rowLatency.p50} ms = ${(microBatch.rowLatency.p50 / p50).toFixed(1)}x (${low.toFixed(0)}-${Number.isFinite(high) ? high.toFixed(0) : "∞"}x within its 0.5 ms rounding).`;
}

/**
 * Checkpoints on against off, same scenario, same run: the ladders' highest rates kept up. Each is a floor within its
 * ladder's last gap (5-15%, as coarse as the 10% judged), so the note adds the cost measured directly: the time the
 * actors awaited their checkpoint writes, per second of the step at the rate kept up (checkpoint-timer.ts). An actor
 * processes nothing while it awaits, so that share of its time bounds what the writes can take from its throughput.
 */
function checkpointCostCheck(scenario: string, on: StepUpResult, off: StepUpResult): TargetCheck {
  const target = `checkpointing every second costs under 10% of throughput [(${scenario})]`;
  const gaps = `up to ${(Math.max(gapOf(on), gapOf(off)) * 100).toFixed(0)}% here`;
  const step = on.atSustained ?? [...on.steps].sort((a, b) => b.offeredRate - a.offeredRate)[0];
  const times = step?.checkpointTimes;
  const seconds = step ? step.wallMs / 1000 : 0;
  const direct = times && seconds > 0
    ? `; directly: at ${format(step?.offeredRate)} rows/s the actors awaited ${times.writes} state writes for ${format(times.writeMs)} ms in all (${((times.writeMs / seconds / 1000) * 100).toFixed(2)}% of the step's ${seconds.toFixed(1)} s, max ${format(times.maxWriteMs)} ms), and ${times.commits} epoch commits took ${format(times.commitMs)} ms (max ${format(times.maxCommitMs)} ms)`
    : "";
  if (on.sustainedRate === undefined || off.sustainedRate === undefined) return { target, status: "MISS", figure: `${format(on.sustainedRate)} vs ${format(off.sustainedRate)} rows/s${direct}`, note: "a mode kept up with no step" };
  const ratio = on.sustainedRate / off.sustainedRate;
  return {
    target,
    status: ratio >= 0.9 ? "PASS" : "MISS",
    figure: `highest rate kept up ${format(on.sustainedRate)} with / ${format(off.sustainedRate)} without = ${(ratio * 100).toFixed(0)}%${direct}`,
    note: `Same run, continuous NATS with and without a checkpoint location (1 s epochs), the ladders' steps in turn. Each figure is a floor within its ladder's last gap (${gaps}), too coarse to see a few %; the share of time the actors awaited their writes (summed over all actors, so an upper bound for any one of them) measures the writes' own cost finely.`,
  };
}

/** The gap between a ladder's highest rate kept up and the lowest above it that was not, relative to the former. */
function gapOf(result: StepUpResult): number {
  const kept = result.sustainedRate;
  if (kept === undefined) return 1;
  const above = result.steps.filter((step) => !step.sustained && step.offeredRate > kept).map((step) => step.offeredRate);
  return above.length === 0 ? 0 : Math.min(...above) / kept - 1;
}

function restartChecks(restart: RestartResult): TargetCheck[] {
  const target = "restart on a checkpoint to the first new output under 1 s";
  const checks: TargetCheck[] = [];
  const worst = Math.max(...restart.inProcess.map((run) => run.startToFirstRowMs));
  if (restart.inProcess.length > 0) {
    checks.push({
      target: `${target} [in this process]`,
      status: worst < 1000 ? "PASS" : "MISS",
      figure: `start() to first row: ${restart.inProcess.map((run) => `${run.startToFirstRowMs} ms`).join(", ")} (start() itself ${restart.inProcess.map((run) => `${run.startCallMs}`).join(", ")} ms)`,
      note: `query.stop(), then the same query started again on its checkpoint location; the grouped count at ${format(restart.rowsPerSecond)} rows/s, the final counts checked against plain code${restart.error ? ` (**${restart.error}**)` : ""}.`,
    });
  }
  const child = restart.newProcess;
  if (child) {
    checks.push({
      target: `${target} [new process, as after a crash]`,
      status: child.spawnToFirstRowMs < 1000 ? "PASS" : "MISS",
      figure: `spawn to first row: ${child.spawnToFirstRowMs} ms = Node and tsx ${child.nodeStartMs} + Rill's imports ${child.importMs} + start() ${child.startCallMs} (NATS connection, checkpoint, restore) + first row ${child.firstRowMs}`,
      note: "`node --import tsx` running a script that restarts the query on the checkpoint the first runs left; counted from spawn() in this process, so everything a crash restart pays is in.",
    });
    checks.push({
      target: "restart in a new process: the engine's share, from start() to the first committed epoch, under 300 ms",
      status: child.engineToFirstCommitMs < 300 ? "PASS" : "MISS",
      figure: `start() to first committed epoch: ${child.engineToFirstCommitMs} ms (spawn to first committed epoch: ${child.spawnToFirstCommitMs} ms, of which Node, tsx and imports ${Math.round((child.nodeStartMs + child.importMs) * 10) / 10} ms)`,
      note: "a resumed query commits its first epoch at once; the commit makes recovery durable and complete.",
    });
  }
  return checks;
}

function throughputCheck(target: string, value: number | undefined, reference: number | undefined, share: number): TargetCheck {
  if (value === undefined || reference === undefined) return { target, status: "MISS", figure: `${format(value)} vs ${format(reference)} rows/s`, note: "a mode kept up with no step" };
  const ratio = value / reference;
  return { target, status: ratio >= share ? "PASS" : "MISS", figure: `${format(value)} / ${format(reference)} rows/s = ${(ratio * 100).toFixed(0)}%`, note: "highest rates kept up in the step-up run; each is within the ladder's last step of the true limit" };
}

export function format(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return "-";
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  return String(Math.round(value * 1000) / 1000);
}
