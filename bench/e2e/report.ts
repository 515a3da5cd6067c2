// The results of one run as JSON and as the Markdown table people read (and the README shows).
import type { LatencyPercentiles } from "../../src/core/latency.ts";
import { format, latencyPoint, type Ratio, type TargetCheck } from "./analysis.ts";
import { machineLine, type CpuShare, type Machine } from "./machine.ts";
import { CONTINUOUS, type Mode } from "./modes.ts";
import type { PointResult } from "./point.ts";
import type { GcRunResult } from "./gc-run.ts";
import type { HotPathResult } from "./hot-path.ts";
import type { RestartResult } from "./restart.ts";
import type { Scenario, UnavailableScenario } from "./scenarios.ts";
import { MIN_RECEIVED_SHARE, type StepUpResult } from "./step-up.ts";
import { footprintSection, type Footprint } from "./footprint.ts";

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
  /** The restart measurement's load (grouped count, open loop). */
  readonly restartRate: number;
  readonly restartSeconds: number;
}

export interface BenchResults {
  readonly createdAt: string;
  readonly wallSeconds: number;
  readonly machine: Machine;
  /** How busy the cores were during the run: what was not this process was nats-server and other work. */
  readonly cpu: CpuShare;
  readonly settings: BenchSettings;
  readonly scenarios: ReadonlyArray<Pick<Scenario, "id" | "title" | "query" | "perRow">>;
  readonly unavailableScenarios: readonly UnavailableScenario[];
  readonly modes: ReadonlyArray<Pick<Mode, "id" | "label" | "kind">>;
  /** The latency points at the fixed rate; with several rounds, the round with the median p50 (all rounds in latencyRounds). */
  readonly latency: readonly PointResult[];
  readonly latencyRounds: readonly PointResult[];
  readonly stepUp: readonly StepUpResult[];
  /** Restart on a checkpoint to the first new output; undefined with --no-restart. */
  readonly restart: RestartResult | undefined;
  /** The main job's peak RSS and an idle session's CPU (bench/e2e/footprint.ts); absent in results from before it. */
  readonly footprint?: Footprint;
  /** Scenario (b) with checkpoints in a process of its own, 20 s, the GC target's run (bench/e2e/gc-run.ts); absent with --no-gc-run and in results from before it. */
  readonly gcRun?: GcRunResult;
  /** The codec's and the stateless operators' CPU time a row (bench/e2e/hot-path.ts); absent with --no-hot-path and in results from before it. */
  readonly hotPath?: HotPathResult;
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
    "*Query figure*: `query.latency()`, the HDR histogram the sink actor fills per frame (src/actors/sink-actor.ts): a frame's output rows get latencies spread evenly between the ingest times of the frame's oldest and newest input rows. In update mode an output row stands for every input row of its key that the aggregation's turn coalesced.",
    "*Per row*, in a `foreach` sink, two ways: ᵃ from the output row's Arrival_Time, `nowMs() - (Arrival_Time + 0.5)` (Arrival_Time is the due time cut to whole ms, so the middle of that ms stands for it: right on average, within 0.5 ms for any one row); ʳ reconstructed for aggregations, per *input* row: from its due time to the first sink row of its key whose count reaches the row's rank among its key's rows (due times exact, from the source's schedule; off by the skew between the two source partitions where their rows of one key interleave out of due order, under a ms at 10k rows/s). Targets are judged on the per-row figure.",
    "",
    ...scenarioSection(results),
    "",
    ...latencySection(results),
    "",
    ...throughputSection(results),
    "",
    ...restartSection(results.restart),
    "",
    ...footprintSection(results.footprint),
    "",
    ...hotPathSection(results.hotPath),
    "",
    "## Targets (issues 4 and 13)",
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

function hotPathSection(hotPath: HotPathResult | undefined): string[] {
  if (!hotPath) return ["## Hot path (micro-benchmarks)", "", "Not measured (--no-hot-path)."];
  return [
    "## Hot path (micro-benchmarks)",
    "",
    `The codec (a frame of 256 rows encoded, then decoded) and the stateless operators, CPU time a row (\`process.cpuUsage()\` over at least 300 ms a task after a warm-up), the median of ${hotPath.processes} fresh processes (\`node ${hotPath.nodeFlags.join(" ")} bench/micro/cpu.ts --suite hotpath\`) and its range. "Plain code" is the same work written by hand, its output rows kept as the operator's are.${hotPath.error === undefined ? "" : ` **The step failed: ${hotPath.error}.**`}`,
    "",
    "| Task | CPU ns a row | range | plain code | x plain |",
    "| --- | --- | --- | --- | --- |",
    ...hotPath.tasks.map((task) => `| ${task.task} | ${task.nsPerRow} | ${task.minNsPerRow}-${task.maxNsPerRow} | ${task.plainNsPerRow ?? "-"} | ${task.plainNsPerRow === undefined ? "-" : (task.nsPerRow / task.plainNsPerRow).toFixed(2)} |`),
  ];
}

function scenarioSection(results: BenchResults): string[] {
  return ["## Scenarios", "", ...results.scenarios.map((scenario) => `- ${scenario.title}: \`${scenario.query}\``), ...results.unavailableScenarios.map((scenario) => `- ${scenario.title}: ${scenario.reason}`)];
}

function restartSection(restart: RestartResult | undefined): string[] {
  if (!restart) return ["## Restart on a checkpoint", "", "Not measured (--no-restart)."];
  const lines = [
    "## Restart on a checkpoint to the first new output",
    "",
    `The grouped count (update mode) on the activity source, ${format(restart.rowsPerSecond)} rows/s, ${format(restart.totalRows)} rows, checkpointed every 1 s. The first run stopped after ${format(restart.rowsBeforeStop)} rows were counted and an epoch committed; the query was started again on the same location ${restart.inProcess.length} times in this process, then once in a new process that ran it to the end. The rows due while it was down are ready at once, so the first new output is the restarted query's first row. Final counts over every run: ${restart.error === undefined ? "right (equal to plain code's)" : `**${restart.error}**`}.`,
    "",
    "| Restart | From | To first row (ms) | Of which |",
    "| --- | --- | --- | --- |",
    ...restart.inProcess.map((run, index) => `| in this process, #${index + 1} | the call to start() | ${run.startToFirstRowMs} | start() ${run.startCallMs} |`),
  ];
  const child = restart.newProcess;
  if (child) lines.push(`| new process (\`node --import tsx\`) | spawn() | ${child.spawnToFirstRowMs} | Node and tsx ${child.nodeStartMs}, Rill's imports ${child.importMs}, start() ${child.startCallMs} (NATS connection, checkpoint, restore, subscriptions), first row ${child.firstRowMs} |`, `| new process, to the first committed epoch | spawn() | ${child.spawnToFirstCommitMs} | of which start() to the committed epoch (the engine's share) ${child.engineToFirstCommitMs} |`);
  return lines;
}

function latencySection(results: BenchResults): string[] {
  const { settings } = results;
  const lines = [
    `## Latency at ${format(settings.latencyRate)} rows/s, ${settings.latencySeconds} s per run${settings.rounds > 1 ? `, median of ${settings.rounds} rounds` : ""}`,
    "",
    "| Scenario | Mode | Rows in -> out | Answer | p50 ms | p99 ms | p99.9 ms | max ms | per row p50 / p99 ms | p50 vs continuous NATS | cores busy |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const scenario of results.scenarios) {
    const continuous = latencyPoint(results.latency, scenario.id, CONTINUOUS);
    for (const mode of results.modes) {
      const point = latencyPoint(results.latency, scenario.id, mode.id);
      if (!point) continue;
      const marker = scenario.perRow === "reconstructed" ? "ʳ" : "ᵃ";
      const dropped = point.droppedByWatermark === undefined ? "" : ` (${format(point.droppedByWatermark)} late dropped)`;
      lines.push(`| ${scenario.title} | ${mode.label} | ${format(point.inputRows)} -> ${format(point.outputRows)}${dropped} | ${answer(point)} | ${percentiles(point.latency)} | ${point.rowLatency ? `${point.rowLatency.p50} / ${point.rowLatency.p99} ${marker}` : "-"} | ${versus(point, continuous)} | ${format(point.cpuCores)} |`);
    }
  }
  const checkpointed = results.latency.filter((point) => point.checkpointTimes !== undefined);
  if (checkpointed.length > 0) {
    lines.push("", `*Checkpoint writes* in the runs with checkpoints (each actor's state changes at each barrier, awaited in its turn; one commit per epoch): ${checkpointed.map((point) => {
      const times = point.checkpointTimes as NonNullable<PointResult["checkpointTimes"]>;
      return `(${point.scenario}) ${times.writes} writes, ${times.writeMs} ms in all, max ${times.maxWriteMs} ms; ${times.commits} commits, ${times.commitMs} ms, max ${times.maxCommitMs} ms`;
    }).join("; ")}.`);
  }
  lines.push("", "*cores busy*: CPU time of this process (all threads) and nats-server over the run's wall time. Continuous mode sends smaller frames the more CPU it has to spare, so this is what it uses at this rate, not a cost per row.");
  return lines;
}

function throughputSection(results: BenchResults): string[] {
  const { settings } = results;
  const lines = [
    `## Highest sustained rate (step-up, ${settings.stepSeconds} s per step)`,
    "",
    `Rates double from the scenario's first step (the Steps column) until a step does not keep up (answer incomplete or wrong, under ${MIN_RECEIVED_SHARE * 100}% of the offered rate received, or p99 above ${settings.latencyBoundMs} ms plus two trigger intervals in micro-batch), then ${settings.refinements} step(s) narrow the gap; a step whose backlog passes twice that bound ends early. ✓ kept up, ✗ did not. The highest rate kept up is a floor within the ladder's last gap; the peak received rate (in a step that did not keep up) is about what the mode can take.`,
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
