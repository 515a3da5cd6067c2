// The main job's footprint as a user runs it (`npm start`: a fresh build, then node with the `rill` command's flags,
// --max-semi-space-size=2 and LATENCY_NODE_FLAGS, running dist/cli/rill.js demo with the dashboard on): its peak RSS,
// and the CPU a session takes while its query has no input (idle CPU).
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { LATENCY_NODE_FLAGS } from "../../src/core/node-flags.ts";

/** The flags `npm start` and the `rill` command's shebang give Node (package.json, src/cli/rill.ts). */
const DEMO_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=2", ...LATENCY_NODE_FLAGS];

const run = promisify(execFile);

export interface Footprint {
  readonly demoSeconds: number;
  readonly demoRate: number;
  /** Peak RSS of the demo's process (its own, since exec: src/core/peak-rss.ts), MB. */
  readonly demoPeakRssMb: number;
  /** Share of one core the demo's process used over its run. */
  readonly demoCpuShare: number;
  /** Share of one core an idle session used: a continuous query over NATS whose source gets no rows, measured for idleSeconds. */
  readonly idleCpuShare: number;
  readonly idleSeconds: number;
}

const IDLE = `
  import { MemoryStream, Session, activitySchema } from "./dist/index.js";
  const session = Session.builder().appName("idle").getOrCreate();
  const input = new MemoryStream(session, activitySchema);
  await input.toDF().groupBy("gt").count().writeStream.queryName("idle").format("memory").outputMode("complete").start();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const before = process.cpuUsage();
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, Number(process.argv[1]) * 1000));
  const used = process.cpuUsage(before);
  process.stdout.write(JSON.stringify({ share: (used.user + used.system) / 1000 / (performance.now() - started) }));
  await session.stop();
`;

export async function measureFootprint(demoSeconds = 20, demoRate = 5000, idleSeconds = 10): Promise<Footprint> {
  // Built each time, as npm start does: a dist/ left from older code would be measured otherwise.
  await run("npm", ["run", "build", "--silent"]);
  const demo = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [...DEMO_NODE_FLAGS, "dist/cli/rill.js", "demo", "--duration", `${demoSeconds} seconds`, "--rate", String(demoRate), "--ui-port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.once("exit", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`rill demo exited with ${code}`))));
  });
  const figures = /peak RSS ([\d.]+) MB, CPU ([\d.]+) s/.exec(demo);
  if (!figures) throw new Error(`rill demo printed no footprint:\n${demo.slice(-2000)}`);
  const idle = await run(process.execPath, ["--input-type=module", "-e", IDLE, String(idleSeconds)]);
  return {
    demoSeconds, demoRate,
    demoPeakRssMb: Number(figures[1]),
    demoCpuShare: Number(figures[2]) / demoSeconds,
    idleCpuShare: (JSON.parse(idle.stdout) as { share: number }).share,
    idleSeconds,
  };
}

export function footprintSection(footprint: Footprint | undefined): string[] {
  if (!footprint) return [];
  return [
    "## Footprint of the main job",
    "",
    `\`rill demo\` as \`npm start\` runs it (${footprint.demoRate} rows/s for ${footprint.demoSeconds} s, dashboard on): peak RSS **${footprint.demoPeakRssMb} MB** (goal: under 100 MB), ${(footprint.demoCpuShare * 100).toFixed(1)}% of one core.`,
    `Idle: a session with a continuous grouped count over NATS and no input uses **${(footprint.idleCpuShare * 100).toFixed(2)}%** of one core (over ${footprint.idleSeconds} s).`,
  ];
}

// `npx tsx bench/e2e/footprint.ts`: the figures alone.
if (import.meta.url === `file://${process.argv[1]}`) console.log(footprintSection(await measureFootprint()).join("\n"));
