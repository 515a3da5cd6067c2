// Ratios measured in one run, and the targets checked against them (PASS, MISS, or n/a yet).
import { CONTINUOUS, IN_PROCESS, MICRO_BATCH_100MS, MICRO_BATCH_1S, RAW_NATS, RAW_NATS_INPUT, UNCHAINED } from "./modes.ts";
import type { PointResult } from "./point.ts";
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

export function checkTargets(points: readonly PointResult[], results: readonly StepUpResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const scenario of ["a", "d"]) {
    const continuous = latencyPoint(points, scenario, CONTINUOUS);
    const microBatch = latencyPoint(points, scenario, MICRO_BATCH_100MS);
    const standIn = `(b) is not available yet (issue 5); stand-in (${scenario}), checkpoints off (issue 3)`;
    if (continuous?.rowLatency && microBatch?.rowLatency) {
      const continuousP50 = continuous.rowLatency.p50;
      const perRow = microBatch.rowLatency.p50 / continuousP50;
      const query = microBatch.latency.p50 / continuous.latency.p50;
      const low = microBatch.rowLatency.p50 / (continuousP50 + ARRIVAL_ROUNDING_MS);
      const high = continuousP50 > ARRIVAL_ROUNDING_MS ? microBatch.rowLatency.p50 / (continuousP50 - ARRIVAL_ROUNDING_MS) : Number.POSITIVE_INFINITY;
      checks.push({
        target: `p50 at 10k rows/s at least 50x lower than micro-batch 100 ms [stand-in (${scenario})]`,
        status: perRow >= 50 ? "PASS" : "MISS",
        figure: `per row: ${continuousP50} ms vs ${microBatch.rowLatency.p50} ms = ${perRow.toFixed(1)}x (${low.toFixed(0)}-${Number.isFinite(high) ? high.toFixed(0) : "∞"}x within the 0.5 ms rounding); query figure: ${continuous.latency.p50} vs ${microBatch.latency.p50} ms = ${query.toFixed(1)}x`,
        note: `${standIn}. Judged on the per-row figure: the query figure gives every row of a frame the latency of its oldest row, which doubles a micro-batch's p50.${low < 50 && high >= 50 ? " The verdict lies within the rounding of Arrival_Time: it needs sub-ms due times to settle." : ""}`,
      });
    }
    if (continuous?.rowLatency) {
      checks.push({
        target: `p99 at 10k rows/s under 5 ms [stand-in (${scenario})]`,
        status: continuous.rowLatency.p99 < 5 ? "PASS" : "MISS",
        figure: `per row: p99 ${continuous.rowLatency.p99} ms (over ${format(continuous.rowLatency.count)} rows); query figure: p99 ${continuous.latency.p99} ms`,
        note: `${standIn}. Judged on the per-row figure.`,
      });
    }
  }
  const continuous = sustained(results, "a", CONTINUOUS);
  const raw = sustained(results, "a", RAW_NATS);
  if (results.some((result) => result.scenario === "a")) {
    checks.push(throughputCheck("throughput of (a) over NATS at least 60% of raw NATS", continuous, raw, 0.6));
    for (const [mode, label] of [[MICRO_BATCH_100MS, "100 ms"], [MICRO_BATCH_1S, "1 s"]] as const) {
      checks.push(throughputCheck(`throughput of (a) over NATS at least 90% of micro-batch ${label}`, continuous, sustained(results, "a", mode), 0.9));
    }
  }
  checks.push({ target: "checkpointing every second costs under 10% of throughput", status: "n/a yet", figure: "-", note: "no checkpoints yet (issue 3)" });
  checks.push({ target: "restart on a checkpoint to first new output under 1 s", status: "n/a yet", figure: "-", note: "no checkpoints yet (issue 3)" });
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
