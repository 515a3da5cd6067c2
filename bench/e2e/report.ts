// The results of one run as JSON and as the Markdown table people read (and the README shows).
import type { LatencyPercentiles } from "../../src/core/latency.ts";
import { format, latencyPoint, type Ratio, type TargetCheck } from "./analysis.ts";
import { machineLine, type CpuShare, type Machine } from "./machine.ts";
import { CONTINUOUS, type Mode, type UnavailableMode } from "./modes.ts";
import type { PointResult } from "./point.ts";
import type { Scenario, UnavailableScenario } from "./scenarios.ts";
import { MIN_RECEIVED_SHARE, type StepUpResult } from "./step-up.ts";

export interface BenchSettings {
  readonly full: boolean;
  readonly seed: number;
  readonly numPartitions: number;
  readonly latencyRate: number;
  readonly latencySeconds: number;
  readonly rounds: number;
  readonly stepSeconds: number;
  readonly startRate: number;
  readonly maxRate: number;
  readonly refinements: number;
  readonly latencyBoundMs: number;
  readonly stepUpScenarios: readonly string[];
}

export interface BenchResults {
  readonly createdAt: string;
  readonly wallSeconds: number;
  readonly machine: Machine;
  /** How busy the cores were during the run: what was not this process was nats-server and other work. */
  readonly cpu: CpuShare;
  readonly settings: BenchSettings;
  readonly scenarios: ReadonlyArray<Pick<Scenario, "id" | "title" | "query">>;
  readonly unavailableScenarios: readonly UnavailableScenario[];
  readonly modes: ReadonlyArray<Pick<Mode, "id" | "label" | "kind">>;
  readonly unavailableModes: readonly UnavailableMode[];
  /** The latency points at the fixed rate; with several rounds, the round with the median p50 (all rounds in latencyRounds). */
  readonly latency: readonly PointResult[];
  readonly latencyRounds: readonly PointResult[];
  readonly stepUp: readonly StepUpResult[];
  readonly ratios: readonly Ratio[];
  readonly targets: readonly TargetCheck[];
  readonly ysbGenerator: string;
  readonly notices: readonly string[];
  readonly errors: readonly string[];
}

export function renderMarkdown(results: BenchResults): string {
  const { settings } = results;
  const lines: string[] = [
    `# Rill benchmark, ${results.createdAt}`,
    "",
    `Machine: ${machineLine(results.machine)}.`,
    `CPU during the run (share of all ${results.machine.cores} cores): busy ${percent(results.cpu.machineBusy)}; this process ${percent(results.cpu.thisProcess)}, nats-server ${percent(results.cpu.natsServer)}, other work ${percent(results.cpu.others)}${(results.cpu.others ?? 0) > OTHER_WORK_WARNING ? " (**other work competed for the cores: figures are disturbed**)" : ""}.`,
    `Run: ${settings.full ? "--full" : "default"}, ${Math.round(results.wallSeconds)} s; open-loop activity source (seed ${settings.seed}, ${settings.numPartitions} partitions, ${settings.numPartitions} shuffle partitions); every run bounded by totalRows and its answer checked against plain code before its figures count.`,
    "",
    "Latency is measured from the time a row was due at the source (open loop: a slow system cannot hide latency by slowing the generator) to its arrival in the sink.",
    "*Query figure*: `query.latency()`, an HDR histogram the sink fills per frame with the latency of the frame's oldest row, so every row of a frame counts as its oldest (high by up to the frame's span: ~1 ms at 10k rows/s in continuous mode, the whole interval in micro-batch).",
    "*Per row*: `nowMs() - (row.Arrival_Time + 0.5)` in a `foreach` sink: Arrival_Time is the due time cut to whole ms, so the middle of that ms stands for it (right on average, within 0.5 ms for any one row). Targets are judged on this figure.",
    "",
    ...latencySection(results),
    "",
    ...throughputSection(results),
    "",
    "## Targets (issue 4)",
    "",
    "| Target | Status | Figure | Note |",
    "| --- | --- | --- | --- |",
    ...results.targets.map((check) => `| ${check.target} | **${check.status}** | ${check.figure} | ${check.note} |`),
    "",
    `YSB generator (bench/e2e/ysb.ts): ${results.ysbGenerator}.`,
  ];
  if (results.notices.length > 0) lines.push("", "Notices:", ...results.notices.map((notice) => `- ${notice}`));
  if (results.errors.length > 0) lines.push("", "**Errors (the run is invalid):**", ...results.errors.map((error) => `- ${error}`));
  return `${lines.join("\n")}\n`;
}

function latencySection(results: BenchResults): string[] {
  const { settings } = results;
  const lines = [
    `## Latency at ${format(settings.latencyRate)} rows/s, ${settings.latencySeconds} s per run${settings.rounds > 1 ? `, median of ${settings.rounds} rounds` : ""}`,
    "",
    "| Scenario | Mode | Rows in -> out | Answer | p50 ms | p99 ms | p99.9 ms | max ms | per row p50 / p99 ms | p50 vs continuous NATS |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const scenario of results.scenarios) {
    const continuous = latencyPoint(results.latency, scenario.id, CONTINUOUS);
    for (const mode of results.modes) {
      const point = latencyPoint(results.latency, scenario.id, mode.id);
      if (!point) continue;
      lines.push(`| ${scenario.title} | ${mode.label} | ${format(point.inputRows)} -> ${format(point.outputRows)} | ${answer(point)} | ${percentiles(point.latency)} | ${point.rowLatency ? `${point.rowLatency.p50} / ${point.rowLatency.p99}` : "-"} | ${versus(point, continuous)} |`);
    }
    for (const mode of results.unavailableModes) lines.push(`| ${scenario.title} | ${mode.label} | ${mode.reason} | | | | | | | |`);
  }
  for (const scenario of results.unavailableScenarios) lines.push(`| ${scenario.title} | all modes | ${scenario.reason} | | | | | | | |`);
  return lines;
}

function throughputSection(results: BenchResults): string[] {
  const { settings } = results;
  const lines = [
    `## Highest sustained rate (step-up, ${settings.stepSeconds} s per step)`,
    "",
    `Rates double from ${format(settings.startRate)} rows/s until a step does not keep up (answer incomplete or wrong, under ${MIN_RECEIVED_SHARE * 100}% of the offered rate received, or p99 above ${settings.latencyBoundMs} ms plus two trigger intervals in micro-batch), then ${settings.refinements} step(s) narrow the gap; a step whose backlog passes twice that bound ends early. ✓ kept up, ✗ did not. The highest rate kept up is a floor within the ladder's last gap; the peak received rate (in a step that did not keep up) is about what the mode can take.`,
    "",
    "| Scenario | Mode | Highest rate kept up | p50 / p99 ms there | rows/frame there | Peak received rate | continuous NATS / this | Steps |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const result of results.stepUp) {
    const mode = results.modes.find((candidate) => candidate.id === result.mode);
    const continuous = results.stepUp.find((other) => other.scenario === result.scenario && other.mode === CONTINUOUS)?.sustainedRate;
    const at = result.atSustained;
    const peak = Math.max(...result.steps.map((step) => step.receivedRate));
    const ratio = continuous !== undefined && result.sustainedRate ? `${((continuous / result.sustainedRate) * 100).toFixed(0)}%` : "-";
    const steps = result.steps.map((step) => `${compact(step.offeredRate)} ${step.sustained ? "✓" : `✗ (${shortVerdict(step.verdict)})`}`).join(", ");
    lines.push(`| ${result.scenario} | ${mode?.label ?? result.mode} | ${result.sustainedRate === undefined ? "below the first step" : `${format(result.sustainedRate)}${result.reachedMax ? " (ladder's top)" : ""}`} | ${at ? `${at.latency.p50} / ${at.latency.p99}` : "-"} | ${format(at?.rowsPerFrame)} | ${format(peak)} | ${ratio} | ${steps} |`);
  }
  for (const mode of results.unavailableModes) lines.push(`| a | ${mode.label} | ${mode.reason} | | | | | |`);
  lines.push("", "Ratios measured in this run:", "", "| Scenario | Ratio | Value | Figures |", "| --- | --- | --- | --- |");
  for (const ratio of results.ratios) lines.push(`| ${ratio.scenario} | ${ratio.name} | ${ratio.value === undefined ? "-" : ratio.value.toFixed(2)} | ${ratio.detail} |`);
  return lines;
}

/** Above this share of the machine, other processes were busy enough to move the figures. */
const OTHER_WORK_WARNING = 0.05;

function percent(share: number | undefined): string {
  return share === undefined ? "?" : `${Math.round(share * 100)}%`;
}

function answer(point: PointResult): string {
  if (point.error !== undefined) return `WRONG: ${point.error}`;
  return point.complete ? "right" : "incomplete";
}

function percentiles(latency: LatencyPercentiles): string {
  return `${latency.p50} | ${latency.p99} | ${latency.p999} | ${latency.max}`;
}

function versus(point: PointResult, continuous: PointResult | undefined): string {
  if (!continuous || point === continuous) return point === continuous ? "1x" : "-";
  const query = point.latency.p50 / continuous.latency.p50;
  const perRow = point.rowLatency && continuous.rowLatency ? point.rowLatency.p50 / continuous.rowLatency.p50 : undefined;
  return `${query.toFixed(2)}x${perRow === undefined ? "" : ` (per row ${perRow.toFixed(2)}x)`}`;
}

function compact(rate: number): string {
  return rate >= 1_000_000 ? `${rate / 1_000_000}M` : rate >= 1000 ? `${rate / 1000}k` : String(rate);
}

function shortVerdict(verdict: string): string {
  if (verdict.startsWith("wrong")) return "WRONG";
  const received = /received ([\d.]+%)/.exec(verdict);
  if (verdict.startsWith("incomplete")) return `incomplete, ${received?.[1] ?? "?"}`;
  if (verdict.startsWith("backlog")) return `backlog, ${received?.[1] ?? "?"}`;
  return received ? received[1] as string : verdict;
}
