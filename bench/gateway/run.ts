// The gateway benchmark (`npm run bench -- --scenarios g`): Rill, Node-RED and raw MQTT.js side by side on one pinned core.
//
// Each system under test (SUT) runs in its own process pinned to one core with `taskset`, between a publisher process
// that sends sensor readings at a fixed rate into a broker the bench starts (Mosquitto with Nagle off, or nats-server's
// MQTT listener for the variant where nats-server parses MQTT), and a receiver in this process that subscribes to the
// SUT's output. The SUT forwards the readings above the threshold (10% of them) and alerts on windows of hot readings.
// Per system: CPU time per message at fixed rates (/proc/<pid>/stat of the SUT, and of the broker), publish-to-receipt
// latency of the forwarded readings, the highest rate sustained on a ladder of rates, peak and idle RSS, idle CPU.
// Each run first checks the answer: every forwarded reading is one above the threshold, none twice, none missing.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";
import { findMosquitto, startMosquitto, type MosquittoHandle } from "../../test/helpers/mosquitto.ts";
import { ensureNodeRed, NODE_RED_VERSION, writeNodeRedFlow } from "./node-red.ts";
import { cpuSeconds, loadAverage, memoryMb } from "./proc.ts";
import { delay, Receiver } from "./receiver.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");

export type GatewaySystemId = "raw" | "node-red" | "rill" | "rill-nats";

export interface GatewaySettings {
  /** The core the SUT is pinned to. */
  readonly core: number;
  readonly fixedRates: readonly number[];
  readonly fixedSeconds: number;
  readonly ladder: readonly number[];
  readonly ladderSeconds: number;
  readonly idleSeconds: number;
  /** A rate is kept up when every forwarded reading arrived and the p99 stayed under this. */
  readonly latencyBoundMs: number;
  readonly systems: readonly GatewaySystemId[];
  /** Node flags of every SUT process alike (Rill's `rill` command and `npm start` run with --max-semi-space-size=2). */
  readonly nodeFlags: readonly string[];
}

export const DEFAULT_GATEWAY_SETTINGS: GatewaySettings = {
  core: 1,
  fixedRates: [5_000, 10_000, 20_000],
  fixedSeconds: 5,
  ladder: [10_000, 15_000, 20_000, 30_000, 40_000, 60_000, 80_000, 100_000],
  ladderSeconds: 4,
  idleSeconds: 5,
  latencyBoundMs: 1000,
  systems: ["raw", "node-red", "rill", "rill-nats"],
  nodeFlags: ["--max-semi-space-size=2"],
};

export interface GatewayPoint {
  readonly rate: number;
  readonly achievedRate: number;
  readonly sent: number;
  readonly expected: number;
  readonly received: number;
  /** SUT CPU time per input message, µs. */
  readonly cpuUsPerMessage: number | undefined;
  readonly brokerCpuUsPerMessage: number | undefined;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly keptUp: boolean;
  readonly verdict: string;
}

export interface GatewaySystemResult {
  readonly system: GatewaySystemId;
  readonly label: string;
  readonly skipped?: string;
  readonly idleCpuPercent?: number;
  readonly idleRssMb?: number;
  readonly peakRssMb?: number;
  readonly fixed: readonly GatewayPoint[];
  readonly ladder: readonly GatewayPoint[];
  /** The highest ladder rate kept up (0 when none). */
  readonly sustainedRate?: number;
  /** Why the ladder stopped. */
  readonly ladderStop?: string;
  /** Alerts received over the whole run (every point's devices reach 5 hot readings in a window). */
  readonly alerts?: number;
  readonly errors: readonly string[];
}

export interface GatewayResults {
  readonly createdAt: string;
  readonly settings: GatewaySettings;
  readonly loadBefore: string;
  readonly loadAfter: string;
  readonly systems: readonly GatewaySystemResult[];
}

const LABELS: Record<GatewaySystemId, string> = {
  raw: "raw MQTT.js pass-through (Mosquitto)",
  "node-red": `Node-RED ${NODE_RED_VERSION} (Mosquitto)`,
  rill: "Rill, MQTT source and sink (Mosquitto)",
  "rill-nats": "Rill reading NATS behind nats-server's MQTT listener",
};

/** What the bench needs and the machine lacks (mosquitto, taskset), or undefined. */
export function gatewayMissing(): string | undefined {
  if (!findMosquitto()) return "mosquitto is not installed (apt-get install mosquitto)";
  if (spawnSync("taskset", ["-V"]).status !== 0) return "taskset is not installed (apt-get install util-linux)";
  return undefined;
}

/** Runs every system in turn; `log` gets one line per step. */
export async function runGatewayBench(settings: GatewaySettings, log: (line: string) => void): Promise<GatewayResults> {
  if (!findMosquitto()) throw new Error("The gateway bench needs mosquitto (apt-get install mosquitto).");
  await buildPackage(log);
  const loadBefore = loadAverage();
  log(`gateway bench: SUT pinned to core ${settings.core} (taskset); load average before: ${loadBefore}`);
  const systems: GatewaySystemResult[] = [];
  let nextSeq = 0;
  const takeSeqs = (count: number): number => {
    const first = nextSeq;
    nextSeq += count;
    return first;
  };
  for (const system of settings.systems) systems.push(await runSystem(system, settings, takeSeqs, log));
  const loadAfter = loadAverage();
  log(`gateway bench: load average after: ${loadAfter}`);
  return { createdAt: new Date().toISOString(), settings, loadBefore, loadAfter, systems };
}

/** The Rill SUT imports dist/: build it when it is missing or older than src/. */
async function buildPackage(log: (line: string) => void): Promise<void> {
  const built = join(ROOT, "dist", "index.js");
  if (existsSync(built) && statSync(built).mtimeMs >= (await newestSource(join(ROOT, "src")))) return;
  log("gateway bench: building dist/ (npm run build) for the Rill process, so it runs without a TypeScript loader");
  await new Promise<void>((resolve, reject) => {
    const child = spawn("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`npm run build failed (exit ${code})`))));
  });
}

async function newestSource(folder: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

interface Broker {
  readonly url: string;
  readonly pid: number | undefined;
  readonly natsOptions?: string;
  stop(): Promise<void>;
}

async function startBroker(system: GatewaySystemId): Promise<Broker> {
  if (system === "rill-nats") {
    const server: NatsServerHandle = await startNatsServer({ mqtt: true });
    const options = server.options;
    const mqttUrl = (server.mqttUrl as string).replace("mqtt://", `mqtt://${options.user}:${options.pass}@`);
    return { url: mqttUrl, pid: await findProcess((command) => (command.split("\u0000")[0] ?? "").endsWith("nats-server") && command.includes(`-p\u0000${server.port}\u0000`)), natsOptions: JSON.stringify(options), stop: () => server.stop() };
  }
  const broker: MosquittoHandle = await startMosquitto();
  return { url: broker.url, pid: broker.pid, stop: () => broker.stop() };
}

async function runSystem(system: GatewaySystemId, settings: GatewaySettings, takeSeqs: (count: number) => number, log: (line: string) => void): Promise<GatewaySystemResult> {
  const label = LABELS[system];
  let nodeRedScript: string | undefined;
  if (system === "node-red") {
    const found = ensureNodeRed(log);
    if ("skipped" in found) {
      log(found.skipped);
      return { system, label, skipped: found.skipped, fixed: [], ladder: [], errors: [] };
    }
    nodeRedScript = found.script;
  }
  log(`${label}:`);
  const broker = await startBroker(system);
  const folder = await mkdtemp(join(tmpdir(), "rill-bench-gateway-"));
  const receiver = await Receiver.connect(broker.url);
  const errors: string[] = [];
  let sut: ChildProcess | undefined;
  try {
    sut = await startSut(system, broker, folder, settings, nodeRedScript);
    const pid = sut.pid as number;
    await receiver.probe(60_000);
    // Warm-up: compile the hot paths; not measured.
    await runPoint(20_000, 2, pid, broker, receiver, takeSeqs, settings);
    const idle = await measureIdle(pid, settings.idleSeconds);
    log(`  idle: ${idle.cpuPercent}% of a core, RSS ${idle.rssMb} MB`);
    const fixed: GatewayPoint[] = [];
    for (const rate of settings.fixedRates) {
      const point = await runPoint(rate, settings.fixedSeconds, pid, broker, receiver, takeSeqs, settings);
      fixed.push(point);
      if (receiver.wrong.length > 0) errors.push(...receiver.wrong.splice(0));
      log(`  ${describePoint(point)}`);
    }
    const ladder: GatewayPoint[] = [];
    let sustainedRate = 0;
    let ladderStop = `kept up to the top of the ladder (${settings.ladder[settings.ladder.length - 1]} msg/s)`;
    for (const rate of settings.ladder) {
      const point = await runPoint(rate, settings.ladderSeconds, pid, broker, receiver, takeSeqs, settings);
      ladder.push(point);
      if (receiver.wrong.length > 0) errors.push(...receiver.wrong.splice(0));
      log(`  ladder ${describePoint(point)}`);
      if (!point.keptUp) {
        ladderStop = `${point.rate} msg/s: ${point.verdict}`;
        break;
      }
      sustainedRate = rate;
    }
    const memory = memoryMb(pid);
    // Raw MQTT.js only forwards; the others also alert.
    if (system !== "raw" && receiver.alerts === 0) errors.push(`${label}: no alert arrived, though every device had 5 hot readings in a 1 s window`);
    return { system, label, alerts: receiver.alerts, idleCpuPercent: idle.cpuPercent, idleRssMb: idle.rssMb, peakRssMb: memory ? round1(memory.peak) : undefined, fixed, ladder, sustainedRate, ladderStop, errors };
  } catch (error) {
    const message = `${label}: ${(error as Error).message}`;
    log(`  FAILED: ${message}`);
    return { system, label, fixed: [], ladder: [], errors: [...errors, message] };
  } finally {
    if (sut) await stopProcess(sut);
    await receiver.close();
    await broker.stop();
    await rm(folder, { recursive: true, force: true });
  }
}

function describePoint(point: GatewayPoint): string {
  return `${point.rate} msg/s (offered ${point.achievedRate}): ${point.keptUp ? "kept up" : point.verdict}; ${point.received}/${point.expected} forwarded, CPU ${point.cpuUsPerMessage ?? "-"} µs/msg (broker ${point.brokerCpuUsPerMessage ?? "-"}), p50 ${point.p50Ms ?? "-"} ms, p99 ${point.p99Ms ?? "-"} ms`;
}

async function startSut(system: GatewaySystemId, broker: Broker, folder: string, settings: GatewaySettings, nodeRedScript: string | undefined): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_BROKER_URL: broker.url, ...(broker.natsOptions ? { BENCH_NATS_OPTIONS: broker.natsOptions } : {}) };
  let args: string[];
  if (system === "node-red") {
    const settingsFile = await writeNodeRedFlow(folder, Number(new URL(broker.url).port));
    args = [nodeRedScript as string, "--settings", settingsFile, "--userDir", folder];
  } else if (system === "raw") {
    args = [join(HERE, "sut-raw.mjs")];
  } else {
    args = [join(HERE, "sut-rill.mjs"), system === "rill-nats" ? "nats" : "mqtt"];
  }
  // taskset execs node: the child's pid is the SUT's.
  const child = spawn("taskset", ["-c", String(settings.core), process.execPath, ...settings.nodeFlags, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, 500);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the ${system} process exited at start (code ${code}): ${output.trim()}`));
    });
    child.once("spawn", () => undefined);
  });
  child.removeAllListeners("exit");
  child.once("exit", (code, signal) => {
    if (signal !== "SIGTERM" && signal !== "SIGKILL" && code !== 0) console.error(`the ${system} process exited (code ${code}, signal ${signal}): ${output.trim()}`);
  });
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

async function measureIdle(pid: number, seconds: number): Promise<{ cpuPercent: number; rssMb: number }> {
  const before = cpuSeconds(pid);
  await delay(seconds * 1000);
  const after = cpuSeconds(pid);
  const memory = memoryMb(pid);
  if (before === undefined || after === undefined || memory === undefined) throw new Error("the SUT process exited while idle");
  return { cpuPercent: round1(((after - before) / seconds) * 100), rssMb: round1(memory.rss) };
}

async function runPoint(rate: number, seconds: number, pid: number, broker: Broker, receiver: Receiver, takeSeqs: (count: number) => number, settings: GatewaySettings): Promise<GatewayPoint> {
  // What an earlier point left behind (a SUT that fell behind works off its backlog) must not count in this one.
  await receiver.quiet(1000, 60_000);
  // A SUT that fell far behind may have lost its broker connection (keepalive) and be reconnecting: wait until it forwards again.
  await receiver.probe(60_000);
  const total = Math.round(rate * seconds);
  const first = takeSeqs(total);
  receiver.begin(first, total);
  const cpuBefore = cpuSeconds(pid);
  const brokerBefore = broker.pid === undefined ? undefined : cpuSeconds(broker.pid);
  const summary = await publish(broker.url, rate, seconds, first);
  await receiver.settle(summary.hot, 30_000);
  const cpuAfter = cpuSeconds(pid);
  const brokerAfter = broker.pid === undefined ? undefined : cpuSeconds(broker.pid);
  if (cpuBefore === undefined || cpuAfter === undefined) throw new Error(`the SUT process exited during the run at ${rate} msg/s`);
  const latencies = receiver.end();
  const p50 = percentile(latencies, 0.5);
  const p99 = percentile(latencies, 0.99);
  const perMessage = (before: number | undefined, after: number | undefined) => (before === undefined || after === undefined || summary.sent === 0 ? undefined : round1(((after - before) / summary.sent) * 1e6));
  let verdict = "kept up";
  if (summary.achievedRate < rate * 0.95) verdict = `the publisher offered only ${summary.achievedRate} msg/s`;
  else if (latencies.length < summary.hot) verdict = `${summary.hot - latencies.length} of ${summary.hot} forwarded readings missing (none arrived for 3 s, or 30 s passed)`;
  else if ((p99 ?? 0) > settings.latencyBoundMs) verdict = `p99 ${p99} ms over ${settings.latencyBoundMs} ms (falling behind)`;
  return {
    rate, achievedRate: summary.achievedRate, sent: summary.sent, expected: summary.hot, received: latencies.length,
    cpuUsPerMessage: perMessage(cpuBefore, cpuAfter), brokerCpuUsPerMessage: perMessage(brokerBefore, brokerAfter),
    p50Ms: p50, p99Ms: p99, keptUp: verdict === "kept up", verdict,
  };
}

interface PublisherSummary {
  readonly sent: number;
  readonly hot: number;
  readonly achievedRate: number;
}

function publish(url: string, rate: number, seconds: number, first: number): Promise<PublisherSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(HERE, "publisher.mjs"), String(rate), String(seconds), String(first)], { env: { ...process.env, BENCH_BROKER_URL: url }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`the publisher failed (exit ${code}): ${stderr.trim()}`));
      else resolve(JSON.parse(stdout.trim().split("\n").pop() as string) as PublisherSummary);
    });
  });
}

function percentile(sorted: readonly number[], quantile: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return round2(sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))] as number);
}

async function findProcess(matches: (command: string) => boolean): Promise<number | undefined> {
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const command = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (matches(command)) return Number(entry);
  }
  return undefined;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
