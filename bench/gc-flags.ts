// One bench point under several sets of V8 flags, alternating, in fresh processes: what a flag does to GC pauses and latency.
// `npx tsx bench/gc-flags.ts --rounds 3 --flags= --flags=--max-semi-space-size=2 -- --scenario b --mode continuous-nats-checkpoints --rate 10000 --seconds 10`
// Each process runs `node <flags> --trace-gc-nvp --import tsx bench/point.ts <args after -->`. Per run: the point's own
// GC figures (perf_hooks, from the query's start to its last row: p50 / p99 / max pause, ms of pause a second, collections),
// per-row latency p50 / p99, and from V8's trace the medians over the run's scavenges of the bytes allocated between two,
// surviving one and promoted by one (load-independent for a given rows-per-frame), and the longest mark-compact pause.
// Also the load average when each run started. `--env NAME=value` sets a variable for the children (repeatable).
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const separator = process.argv.indexOf("--");
const own = separator < 0 ? process.argv.slice(2) : process.argv.slice(2, separator);
const pointArgs = separator < 0 ? [] : process.argv.slice(separator + 1);
const { values } = parseArgs({ args: own, options: { rounds: { type: "string", default: "3" }, flags: { type: "string", multiple: true, default: [""] }, env: { type: "string", multiple: true, default: [] } } });
const env = { ...process.env, ...Object.fromEntries(values.env.map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)])) };

interface Run {
  readonly flags: string;
  readonly load: number;
  readonly point: Record<string, unknown> | undefined;
  readonly scavenges: number;
  readonly allocatedKb: number;
  readonly survivedKb: number;
  readonly promotedKb: number;
  readonly markCompacts: number;
  readonly longestMarkCompactMs: number;
}

async function runOnce(flags: string): Promise<Run> {
  const load = loadavg()[0] as number;
  const args = [...flags.split(" ").filter((flag) => flag !== ""), "--trace-gc-nvp", "--import", "tsx", join(import.meta.dirname, "point.ts"), ...pointArgs];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"], env });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  await new Promise((resolve) => child.on("close", resolve));
  const lines = output.split("\n");
  const json = lines.find((line) => line.startsWith("{"));
  const point = json === undefined ? undefined : (JSON.parse(json) as Record<string, unknown>);
  // The trace's collections while the query ran: after the first and before the last line of the point's output is not
  // known from here, so every collection after start-up (the first 1.5 s) counts.
  const collections = lines.map((line) => /^\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: pause=(\S+) .*gc=(\S+) /.exec(line)).filter((match) => match !== null && Number(match[1]) >= 1500) as RegExpExecArray[];
  const field = (line: string, key: string): number => Number(new RegExp(` ${key}=(\\S+)`).exec(line)?.[1] ?? Number.NaN);
  const scavengeLines = collections.filter((match) => match[3] === "s").map((match) => match.input);
  const median = (numbers: number[]): number => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)] ?? Number.NaN;
  const marks = collections.filter((match) => match[3] === "ms" || match[3] === "mc");
  return {
    flags,
    load,
    point,
    scavenges: scavengeLines.length,
    allocatedKb: median(scavengeLines.map((line) => field(line, "allocated"))) / 1024,
    survivedKb: median(scavengeLines.map((line) => field(line, "new_space_survived"))) / 1024,
    promotedKb: median(scavengeLines.map((line) => field(line, "promoted"))) / 1024,
    markCompacts: marks.length,
    longestMarkCompactMs: Math.max(0, ...marks.map((match) => Number(match[2]))),
  };
}

const fixed = (value: unknown, digits = 2): string => (typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "-");
console.log("| round | flags | load | gc p50 / p99 / max ms | pause ms/s | collections | row p50 / p99 ms | rows/frame | scavenges (trace) | KB allocated / survived / promoted a scavenge | mark-compacts, longest ms |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const flags of values.flags) {
    const run = await runOnce(flags);
    const gc = run.point?.["gc"] as Record<string, number> | undefined;
    const row = run.point?.["rowLatency"] as Record<string, number> | undefined;
    const failed = run.point === undefined ? " (no result)" : run.point["error"] ? ` (error: ${String(run.point["error"])})` : "";
    console.log(`| ${round} | \`${flags || "(none)"}\`${failed} | ${fixed(run.load, 1)} | ${fixed(gc?.["p50PauseMs"])} / ${fixed(gc?.["p99PauseMs"])} / ${fixed(gc?.["maxPauseMs"])} | ${fixed(gc?.["pauseMsPerSecond"], 1)} | ${gc?.["collections"] ?? "-"} | ${fixed(row?.["p50"], 3)} / ${fixed(row?.["p99"])} | ${fixed(run.point?.["rowsPerFrame"], 1)} | ${run.scavenges} | ${fixed(run.allocatedKb, 0)} / ${fixed(run.survivedKb, 0)} / ${fixed(run.promotedKb, 0)} | ${run.markCompacts}, ${fixed(run.longestMarkCompactMs)} |`);
  }
}
