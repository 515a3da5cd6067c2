// The hot path's micro-benchmarks inside `npm run bench` (issue 13's codec and operator targets, judged in the same
// run as the end-to-end ones): bench/micro/cpu.ts's "hotpath" suite (the codec, and Filter, Project and the two
// chained against plain code) in fresh processes, timed by CPU time, so that the bench's own figures sit beside them.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { CpuResult } from "../micro/cpu.ts";
import { FRAME_ROWS } from "../micro/harness.ts";
import { FILTER_PROJECT_TASK, PROJECT_TASK } from "../micro/operators.ts";

/** One task's medians over the processes, and the range of its own figure. */
export interface HotPathTask {
  readonly task: string;
  readonly nsPerRow: number;
  readonly minNsPerRow: number;
  readonly maxNsPerRow: number;
  /** The same work in plain code whose output rows are kept as the subject's are (bench/micro/harness.ts, OutputRing). */
  readonly plainNsPerRow: number | undefined;
}

export interface HotPathResult {
  readonly processes: number;
  /** The node flags the processes ran with (the loader only: the micro-benchmarks' own figures use Node's defaults). */
  readonly nodeFlags: readonly string[];
  readonly tasks: readonly HotPathTask[];
  readonly wallMs: number;
  readonly error?: string;
}

/** The tasks the targets read, by the names bench/micro/codec.ts and operators.ts give them. */
export const HOT_PATH_TASKS = {
  encodeNamed: `codec | encodeFrame (${FRAME_ROWS} activity rows)`,
  decodeNamed: `codec | decodeFrame (${FRAME_ROWS} activity rows,`,
  encodeArrays: `codec | encodeFrame by position (${FRAME_ROWS} activity rows)`,
  decodeArrays: `codec | decodeFrame by position (${FRAME_ROWS} activity rows)`,
  project: `operators | ${PROJECT_TASK}`,
  filterProject: `operators | ${FILTER_PROJECT_TASK}`,
} as const;

/** The task whose name is `name`, or starts with it where the name ends in a comma (the decode tasks name their bytes). */
export function hotPathTask(result: HotPathResult, name: string): HotPathTask | undefined {
  return result.tasks.find((task) => (name.endsWith(",") ? task.task.startsWith(name) : task.task === name));
}

const CPU_SCRIPT = fileURLToPath(new URL("../micro/cpu.ts", import.meta.url));

/** Loader flags of this process (tsx), without its GC flags: the micro-benchmarks are compared with runs under Node's defaults. */
function loaderFlags(): string[] {
  const flags: string[] = [];
  const argv = process.execArgv;
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index] as string;
    if (flag === "--import" || flag === "--require" || flag === "--loader") {
      flags.push(flag, argv[index + 1] as string);
      index++;
    } else if (flag.startsWith("--import=") || flag.startsWith("--require=") || flag.startsWith("--loader=")) flags.push(flag);
  }
  return flags;
}

export async function measureHotPath(processes: number): Promise<HotPathResult> {
  const started = performance.now();
  const nodeFlags = loaderFlags();
  const rounds: CpuResult[][] = [];
  try {
    for (let round = 0; round < processes; round++) {
      const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, CPU_SCRIPT, "--child", "--suite", "hotpath"], { maxBuffer: 1 << 24 });
      rounds.push(JSON.parse(stdout) as CpuResult[]);
    }
  } catch (error) {
    return { processes, nodeFlags, tasks: summarize(rounds), wallMs: performance.now() - started, error: error instanceof Error ? error.message.split("\n")[0] ?? "failed" : String(error) };
  }
  return { processes, nodeFlags, tasks: summarize(rounds), wallMs: performance.now() - started };
}

function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}

/** Each task's median over the rounds (a task missing from a round is left out of that round's figures). */
export function summarize(rounds: readonly (readonly CpuResult[])[]): HotPathTask[] {
  const names = [...new Set(rounds.flatMap((round) => round.map((result) => result.task)))];
  return names.map((task) => {
    const same = rounds.flatMap((round) => round.filter((result) => result.task === task));
    const perRow = same.map((result) => result.nsPerRow);
    const plain = same.map((result) => result.plainNsPerRow).filter((value): value is number => value !== undefined);
    return { task, nsPerRow: median(perRow), minNsPerRow: Math.min(...perRow), maxNsPerRow: Math.max(...perRow), plainNsPerRow: plain.length > 0 ? median(plain) : undefined };
  });
}
