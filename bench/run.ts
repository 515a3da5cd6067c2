// The end-to-end benchmark (`npm run bench`, `npm run bench -- --full`): every mode side by side in one run, against a private nats-server.
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { findNatsServer, startNatsServer } from "../src/index.ts";
import { nowMs } from "../src/core/clock.ts";
import { checkTargets, latencyRatios, throughputRatios } from "./e2e/analysis.ts";
import { drawChart } from "./e2e/chart.ts";
import { CpuMonitor, describeMachine, machineLine } from "./e2e/machine.ts";
import { CHECKPOINTS, CONTINUOUS, EXTRA_MODES, IN_PROCESS, MICRO_BATCH_100MS, MICRO_BATCH_1S, MODES, modeById, type Mode } from "./e2e/modes.ts";
import { runEnginePoint, type PointResult, type PointSettings, type RunContext } from "./e2e/point.ts";
import { runRawPoint } from "./e2e/raw-nats.ts";
import { renderMarkdown, type BenchResults, type BenchSettings } from "./e2e/report.ts";
import { measureRestarts, type RestartResult } from "./e2e/restart.ts";
import { SCENARIOS, UNAVAILABLE_SCENARIOS, scenarioById, type Scenario } from "./e2e/scenarios.ts";
import { stepUp, type Judged } from "./e2e/step-up.ts";
import { checkYsbGenerator } from "./e2e/ysb.ts";
import { measureFootprint } from "./e2e/footprint.ts";
import { measureHotPath, type HotPathResult } from "./e2e/hot-path.ts";
import type { GcFigures } from "./e2e/gc-monitor.ts";
import { measureGcRun, type GcRunResult } from "./e2e/gc-run.ts";
import { renderGatewayMarkdown } from "./gateway/report.ts";
import { DEFAULT_GATEWAY_SETTINGS, gatewayMissing, runGatewayBench, type GatewaySystemId } from "./gateway/run.ts";
import { QUERY_NODE_FLAGS } from "../src/core/node-flags.ts";

/** The gateway scenario (bench/gateway): MQTT in and out on one core, Rill against Node-RED and raw MQTT.js. */
const GATEWAY = "g";

const USAGE = `npm run bench [-- options]: Rill continuous vs micro-batch vs raw NATS, latency and sustained throughput.
  --full                 longer runs: 10 s latency runs x 3 rounds, 5 s steps, step-up for every scenario in every mode
  --scenarios <ids>      comma-separated scenarios (default ${SCENARIOS.map((scenario) => scenario.id).join(",")},${GATEWAY}; ${GATEWAY} is the gateway bench: MQTT on one core, Rill vs Node-RED vs raw MQTT.js)
  --gateway-systems <ids> systems of the gateway bench (default ${DEFAULT_GATEWAY_SETTINGS.systems.join(",")})
  --modes <ids>          comma-separated modes (default ${MODES.map((mode) => mode.id).join(",")}; --full adds ${EXTRA_MODES.map((mode) => mode.id).join(",")})
  --latency-rate <n>     rows/s of the latency runs (default 10000)
  --latency-seconds <s>  length of a latency run
  --step-seconds <s>     length of a step-up step
  --start-rate <n>       first step-up rate (default 400000; scenario (b) starts at ${scenarioById("b").stepUpStartRate ?? "the same"})
  --max-rate <n>         last step-up rate (default 3200000)
  --no-step-up           latency runs only
  --no-restart           skip the restart-on-a-checkpoint measurement
  --gc-seconds <s>       length of the GC run's judged part: scenario (b) with checkpoints at the latency rate in a process of its own, which the GC target is judged on (default 20)
  --gc-warmup <s>        the GC run's warm-up before it, reported but not judged (default 5; 0 judges the whole run)
  --no-gc-run            skip the GC run (the GC target is then judged on the latency run's figure)
  --no-workers           skip scenarios (a) and (b) on 1 and 2 worker processes (bench/workers.ts, into <out>/workers.txt)
  --no-hot-path          skip the hot path's micro-benchmarks (the codec, Project and Filter + Project against plain code: issue 13's targets, bench/e2e/hot-path.ts)
  --out <dir>            results folder (default bench/results)`;

const { values } = parseArgs({
  options: {
    full: { type: "boolean", default: false },
    scenarios: { type: "string" },
    "gateway-systems": { type: "string" },
    modes: { type: "string" },
    "latency-rate": { type: "string", default: "10000" },
    "latency-seconds": { type: "string" },
    "step-seconds": { type: "string" },
    "start-rate": { type: "string" },
    "max-rate": { type: "string", default: "3200000" },
    "no-step-up": { type: "boolean", default: false },
    "no-restart": { type: "boolean", default: false },
    "gc-seconds": { type: "string", default: "20" },
    "gc-warmup": { type: "string", default: "5" },
    "no-gc-run": { type: "boolean", default: false },
    "no-workers": { type: "boolean", default: false },
    "no-hot-path": { type: "boolean", default: false },
    out: { type: "string", default: "bench/results" },
    help: { type: "boolean", default: false },
  },
});

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

/**
 * The step-up of the default run: (a) in every mode; (b) with checkpoints on and off (the issue's "checkpointing costs
 * under 10%" and the throughput of the windowed query); (c), the YSB, continuous against micro-batch 100 ms and 1 s.
 * --full climbs every scenario in every mode it runs in.
 */
const DEFAULT_STEP_UP: Readonly<Record<string, readonly string[] | "all">> = { a: "all", b: [CONTINUOUS, CHECKPOINTS], c: [CONTINUOUS, MICRO_BATCH_100MS, MICRO_BATCH_1S] };

/** The latency runs of the default run: (a) and (b) in every mode they run in; (c) continuous against micro-batch; (d) and the count without the modes whose figures (a) already shows. */
const DEFAULT_LATENCY: Readonly<Record<string, readonly string[] | "all">> = { a: "all", b: "all", c: [CONTINUOUS, MICRO_BATCH_100MS, MICRO_BATCH_1S], d: [CONTINUOUS, CHECKPOINTS, MICRO_BATCH_100MS, IN_PROCESS], count: [CONTINUOUS, CHECKPOINTS, MICRO_BATCH_100MS, IN_PROCESS] };

const full = values.full;
const requested = values.scenarios?.split(",") ?? [...SCENARIOS.map((scenario) => scenario.id), GATEWAY];
if (requested.includes(GATEWAY)) await gatewayRun();
if (requested.every((id) => id === GATEWAY)) process.exit();
const scenarios = requested.filter((id) => id !== GATEWAY).map(scenarioById);
const modes = values.modes ? values.modes.split(",").map(modeById) : full ? [...MODES, ...EXTRA_MODES] : MODES;
const settings: BenchSettings = {
  full,
  seed: 42,
  numPartitions: 2,
  latencyRate: positive(values["latency-rate"], "--latency-rate"),
  latencySeconds: positive(values["latency-seconds"] ?? (full ? "10" : "2"), "--latency-seconds"),
  rounds: full ? 3 : 1,
  stepSeconds: positive(values["step-seconds"] ?? (full ? "5" : "2"), "--step-seconds"),
  startRate: positive(values["start-rate"] ?? "400000", "--start-rate"),
  maxRate: positive(values["max-rate"], "--max-rate"),
  refinements: full ? 3 : 2,
  latencyBoundMs: 250,
  stepUpScenarios: values["no-step-up"] ? [] : scenarios.map((scenario) => scenario.id).filter((id) => full || DEFAULT_STEP_UP[id] !== undefined),
  restartRate: 10_000,
  restartSeconds: 3,
};

const startedAt = nowMs();
const notices: string[] = [];
const errors: string[] = [];
const binary = await findNatsServer();
if (!binary) throw new Error("nats-server is not installed: the benchmark compares Rill over NATS with raw NATS. Install it (apt-get install nats-server).");
const machine = await describeMachine(binary);
console.error(`rill bench on ${machineLine(machine)}`);
const cpuMonitor = new CpuMonitor();
const server = await startNatsServer({ binary, jetstream: false });
await cpuMonitor.watchNatsServer(server.port);
const context: RunContext = { nats: server.options, seed: settings.seed, numPartitions: settings.numPartitions, slackMs: full ? 3000 : 1000, log: (message) => notices.push(message), natsServerCpuSeconds: () => cpuMonitor.natsServerSeconds() };

let results: BenchResults;
try {
  const ysbGenerator = checkYsbGenerator();
  if (ysbGenerator !== undefined) errors.push(`YSB generator: ${ysbGenerator}`);
  await warmUp();
  const latencyRounds = await latencyRuns();
  const latency = medianRounds(latencyRounds);
  const gcRun = await gcRunIfAsked();
  const stepUpResults = [];
  for (const scenarioId of settings.stepUpScenarios) {
    const scenario = scenarioById(scenarioId);
    const chosen = full || values.modes ? "all" : DEFAULT_STEP_UP[scenario.id] ?? "all";
    const stepModes = modes.filter((mode) => scenario.runsIn(mode) && (chosen === "all" || chosen.includes(mode.id)));
    console.error(`step-up, scenario ${scenario.id}:`);
    const startRate = values["start-rate"] === undefined ? scenario.stepUpStartRate ?? settings.startRate : settings.startRate;
    stepUpResults.push(...(await stepUp(stepModes, scenario.id, { ...settings, startRate, seconds: settings.stepSeconds }, (mode, point) => runPoint(mode, scenario, point), reportStep)));
  }
  const restart = values["no-restart"] ? undefined : await restartRun();
  const hotPath = values["no-hot-path"] ? undefined : await hotPathRun();
  console.error("footprint of the main job (rill demo) and of an idle session:");
  const footprint = await measureFootprint();
  const scenarioIds = scenarios.map((scenario) => scenario.id);
  results = {
    createdAt: new Date().toISOString(),
    wallSeconds: Math.round((nowMs() - startedAt) / 100) / 10,
    machine,
    cpu: await cpuMonitor.stop(),
    settings,
    scenarios: scenarios.map(({ id, title, query, perRow }) => ({ id, title, query, perRow })),
    unavailableScenarios: UNAVAILABLE_SCENARIOS,
    modes: modes.map(({ id, label, kind }) => ({ id, label, kind })),
    latency,
    latencyRounds,
    stepUp: stepUpResults,
    restart,
    footprint,
    ratios: [...latencyRatios(latency, scenarioIds), ...throughputRatios(stepUpResults, settings.stepUpScenarios)],
    ...(gcRun === undefined ? {} : { gcRun }),
    ...(hotPath === undefined ? {} : { hotPath }),
    targets: checkTargets(latency, stepUpResults, restart, gcRun, hotPath),
    ysbGenerator: ysbGenerator ?? "matches its published description (100 campaigns x 10 ads, UUIDs, view/click/purchase in equal shares)",
    notices: [...new Set(notices)],
    errors,
  };
} finally {
  await server.stop();
}

const markdown = renderMarkdown(results);
await writeResults(results, markdown);
console.log(markdown);
if (!values["no-workers"]) await workersRun();
if (errors.length > 0) {
  console.error(`The run is invalid: ${errors.length} error(s), listed above.`);
  process.exitCode = 1;
}

/** The gateway scenario: its own report, bench/results/gateway-latest.md and .json. */
async function gatewayRun(): Promise<void> {
  const missing = gatewayMissing();
  if (missing !== undefined) {
    console.error(`gateway scenario (g) skipped: ${missing}`);
    return;
  }
  const systems = values["gateway-systems"]?.split(",") as GatewaySystemId[] | undefined;
  const gateway = await runGatewayBench({ ...DEFAULT_GATEWAY_SETTINGS, ...(systems ? { systems } : {}) }, (line) => console.error(line));
  const markdown = renderGatewayMarkdown(gateway);
  const folder = values.out;
  await mkdir(folder, { recursive: true });
  const stamp = gateway.createdAt.replace(/[:.]/g, "-");
  for (const name of ["gateway-latest", `gateway-${stamp}`]) {
    await writeFile(join(folder, `${name}.md`), markdown);
    await writeFile(join(folder, `${name}.json`), `${JSON.stringify(gateway, null, 2)}\n`);
  }
  console.log(markdown);
  if (gateway.systems.some((system) => system.errors.length > 0)) {
    console.error("The gateway run is invalid: a system gave a wrong answer or failed, listed above.");
    process.exitCode = 1;
  }
}

async function runPoint(mode: Mode, scenario: Scenario, point: PointSettings): Promise<PointResult> {
  const result = mode.kind === "raw" ? await runRawPoint(context, mode, point) : await runEnginePoint(context, mode, scenario, point);
  // A wrong answer invalidates the run; an incomplete one only means the mode did not keep up.
  if (result.error !== undefined) errors.push(`${scenario.id} / ${mode.id} at ${point.rate} rows/s: ${result.error}`);
  return result;
}

/**
 * Compiles the hot paths before any figure counts: a second of each scenario at a brisk rate on
 * NATS, and of the in-process and raw modes; discarded (a wrong answer still fails the run).
 * Without it the first measured run shows the JIT at work (p99 of 20-40 ms instead of 3-9 ms).
 */
async function warmUp(): Promise<void> {
  const warm = { rate: 50_000, seconds: 1 };
  for (const scenario of scenarios) {
    const warmed = (candidate: Mode) => candidate.id === CONTINUOUS || (scenario.id === "a" && (candidate.id === IN_PROCESS || candidate.id === CHECKPOINTS || candidate.kind === "raw"));
    for (const mode of modes.filter((candidate) => warmed(candidate) && scenario.runsIn(candidate))) await runPoint(mode, scenario, warm);
  }
}

/** The run the GC target is judged on (bench/e2e/gc-run.ts): (b) with checkpoints in a new process with QUERY_NODE_FLAGS, when (b) and that mode are in this run. */
async function gcRunIfAsked(): Promise<GcRunResult | undefined> {
  if (values["no-gc-run"] || !scenarios.some((scenario) => scenario.id === "b") || !modes.some((mode) => mode.id === CHECKPOINTS)) return undefined;
  const seconds = positive(values["gc-seconds"], "--gc-seconds");
  const warmupSeconds = nonNegative(values["gc-warmup"], "--gc-warmup");
  console.error(`GC run: scenario b, ${CHECKPOINTS}, ${settings.latencyRate} rows/s for ${warmupSeconds} s of warm-up and ${seconds} s judged in a process of its own (${QUERY_NODE_FLAGS.join(" ")}):`);
  const result = await measureGcRun({ scenario: "b", mode: CHECKPOINTS, rate: settings.latencyRate, seconds, warmupSeconds });
  if (result.error !== undefined) errors.push(`GC run (b / ${CHECKPOINTS}): ${result.error}`);
  const gc = result.gc;
  const line = (figures: GcFigures): string => `p50 ${figures.p50PauseMs} ms, p99 ${figures.p99PauseMs} ms, max ${figures.maxPauseMs} ms over ${figures.collections} collections (${figures.major} mark-compacts), ${figures.pauseMsPerSecond} ms/s`;
  console.error(`  ${gc ? `${gc.steady ? `after the warm-up: gc ${line(gc.steady)}; whole run: ` : "gc "}${line(gc)}` : "no figures"}, ${result.rowsPerFrame ?? "-"} rows/frame, ${result.complete ? "complete" : "INCOMPLETE"} (${Math.round(result.wallMs)} ms)`);
  return result;
}

/** The codec's and the stateless operators' CPU time a row, in fresh processes (bench/e2e/hot-path.ts). */
async function hotPathRun(): Promise<HotPathResult> {
  console.error("hot path (bench/micro/cpu.ts --suite hotpath, 3 processes):");
  const result = await measureHotPath(3);
  if (result.error !== undefined) errors.push(`hot path: ${result.error}`);
  for (const task of result.tasks) console.error(`  ${task.task}: ${task.nsPerRow} ns a row (${task.minNsPerRow}-${task.maxNsPerRow})${task.plainNsPerRow === undefined ? "" : `, plain code ${task.plainNsPerRow}`}`);
  return result;
}

/** Restart on a checkpoint to the first new output, in this process and in a new one (bench/e2e/restart.ts). */
async function restartRun(): Promise<RestartResult> {
  console.error("restart on a checkpoint:");
  const result = await measureRestarts(context, settings.restartRate, settings.restartSeconds);
  if (result.error !== undefined) errors.push(`restart: ${result.error}`);
  const inProcess = result.inProcess.map((run) => `${run.startToFirstRowMs} ms`).join(", ");
  const child = result.newProcess;
  console.error(`  in this process: start() to first row ${inProcess}; new process: spawn to first row ${child ? `${child.spawnToFirstRowMs} ms (Node + tsx ${child.nodeStartMs}, imports ${child.importMs}, start() ${child.startCallMs}, then ${child.firstRowMs})` : "-"}${result.error ? `; ${result.error}` : ""} (${Math.round(result.wallMs)} ms)`);
  return result;
}

async function latencyRuns(): Promise<PointResult[]> {
  const points: PointResult[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    for (const scenario of scenarios) {
      const chosen = full || values.modes ? "all" : DEFAULT_LATENCY[scenario.id] ?? "all";
      for (const mode of modes) {
        if (!scenario.runsIn(mode) || (chosen !== "all" && !chosen.includes(mode.id))) continue;
        const point = await runPoint(mode, scenario, { rate: settings.latencyRate, seconds: settings.latencySeconds });
        points.push(point);
        const perRow = point.rowLatency ? `, per row p50 ${point.rowLatency.p50} p99 ${point.rowLatency.p99}` : "";
        const dropped = point.droppedByWatermark === undefined ? "" : `, ${point.droppedByWatermark} late rows dropped`;
        const gc = point.gc ? `, gc p99 ${point.gc.p99PauseMs} ms over ${point.gc.collections}` : "";
        console.error(`  latency ${scenario.id} ${mode.id}: p50 ${point.latency.p50} ms, p99 ${point.latency.p99} ms, max ${point.latency.max} ms${perRow}${gc} (${point.outputRows} rows out${dropped}, ${point.complete ? "complete" : "INCOMPLETE"}${point.error ? `, WRONG: ${point.error}` : ""}, ${Math.round(point.wallMs)} ms)`);
      }
    }
  }
  return points;
}

/** With several rounds, each scenario and mode keeps the round with the median p50. */
function medianRounds(points: readonly PointResult[]): PointResult[] {
  const groups = new Map<string, PointResult[]>();
  for (const point of points) {
    const key = `${point.scenario}/${point.mode}`;
    groups.set(key, [...(groups.get(key) ?? []), point]);
  }
  return [...groups.values()].map((group) => [...group].sort((a, b) => a.latency.p50 - b.latency.p50)[Math.floor(group.length / 2)] as PointResult);
}

function reportStep(step: Judged): void {
  console.error(`  ${step.mode} at ${step.offeredRate} rows/s: ${step.sustained ? "kept up" : step.verdict}; received ${step.receivedRate} rows/s, p50 ${step.latency.p50} ms, p99 ${step.latency.p99} ms, ${step.rowsPerFrame ?? "-"} rows/frame, ${step.cpuCores ?? "-"} cores (${Math.round(step.wallMs)} ms)`);
}

async function writeResults(results: BenchResults, markdown: string): Promise<void> {
  const folder = values.out;
  await mkdir(folder, { recursive: true });
  const stamp = results.createdAt.replace(/[:.]/g, "-");
  const json = `${JSON.stringify(results, null, 2)}\n`;
  await writeFile(join(folder, "latest.md"), markdown);
  await writeFile(join(folder, "latest.json"), json);
  await writeFile(join(folder, `${stamp}.md`), markdown);
  await writeFile(join(folder, `${stamp}.json`), json);
  const drawn = await drawChart(results, folder);
  if (drawn !== undefined) console.error(drawn);
}

function positive(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got '${text}'`);
  return value;
}

function nonNegative(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be 0 or a positive number, got '${text}'`);
  return value;
}

/** Scenarios (a) and (b) in one process and on 1 and 2 worker processes, after the rest (its own NATS server per run). */
async function workersRun(): Promise<void> {
  console.error("workers: scenarios (a) and (b) in one process and on 1 and 2 worker processes (bench/workers.ts):");
  const child = spawn(process.execPath, [...QUERY_NODE_FLAGS, "--import", "tsx", join(import.meta.dirname, "workers.ts")], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    process.stderr.write(chunk);
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  await writeFile(join(values.out, "workers.txt"), output);
  if (code !== 0) {
    console.error(`bench/workers.ts exited with ${code}`);
    process.exitCode = 1;
  }
}
