// The micro-benchmarks' tasks timed by CPU time (process.cpuUsage) instead of wall time:
// `npx tsx bench/micro/cpu.ts [--processes n] [--suite codec|hotpath]` (--suite codec: only the codec; hotpath: the
// codec and the stateless operators, the tasks issue 13 sets targets for, which `npm run bench` runs: bench/e2e/hot-path.ts).
//
// On a machine shared with other work, a wall-clock figure includes the time the process waited for a core; CPU time
// does not (it still grows somewhat with cache and core sharing). Each task runs warm, then for at least MEASURE_MS of
// CPU; each process is fresh. Prints one JSON line per process and a table of the medians with their range.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { codecSuite } from "./codec.ts";
import type { MicroSuite, MicroTask } from "./harness.ts";
import { operatorSuite, statelessOperatorSuite } from "./operators.ts";
import { positionalSuite } from "./positional.ts";

const MEASURE_MS = 300;
const { values } = parseArgs({ options: { child: { type: "boolean", default: false }, processes: { type: "string", default: "3" }, suite: { type: "string" } } });

export interface CpuResult {
  readonly task: string;
  readonly nsPerRow: number;
  /** The plain code whose output rows are stored as the subject's are (harness.ts, OutputRing). */
  readonly plainNsPerRow: number | undefined;
  /** The old baseline: the same plain code with its rows dropped (V8 may not allocate them). */
  readonly droppedNsPerRow: number | undefined;
}

function cpuNsPerRow(task: MicroTask, run: () => number): number {
  let sink = 0;
  for (let index = 0; index < 500; index++) sink += run();
  let calls = 0;
  const start = process.cpuUsage();
  let elapsed = 0;
  while (elapsed < MEASURE_MS * 1000) {
    for (let index = 0; index < 50; index++) sink += run();
    calls += 50;
    const used = process.cpuUsage(start);
    elapsed = used.user + used.system;
  }
  if (!Number.isFinite(sink)) throw new Error("unreachable");
  return Math.round(((elapsed * 1000) / (calls * task.rowsPerCall)) * 10) / 10;
}

if (values.child) {
  // By position before the operators: the join tasks at the end of operatorSuite leave a large heap behind them.
  const suites: MicroSuite[] = values.suite === "codec" ? [codecSuite()] : values.suite === "hotpath" ? [codecSuite(), statelessOperatorSuite()] : [codecSuite(), positionalSuite(), operatorSuite()];
  // The join task's static table loads asynchronously (a resolved promise): let it land before any check runs.
  await new Promise((resolve) => setImmediate(resolve));
  const results: CpuResult[] = [];
  for (const suite of suites) {
    for (const task of suite.tasks) {
      task.check();
      results.push({ task: `${suite.name} | ${task.name}`, nsPerRow: cpuNsPerRow(task, task.run), plainNsPerRow: task.plain ? cpuNsPerRow(task, task.plain) : undefined, droppedNsPerRow: task.plainDropped ? cpuNsPerRow(task, task.plainDropped) : undefined });
    }
  }
  process.stdout.write(JSON.stringify(results));
} else {
  const rounds: CpuResult[][] = [];
  for (let round = 0; round < Number(values.processes); round++) {
    const { stdout } = await promisify(execFile)(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--child", ...(values.suite === undefined ? [] : ["--suite", values.suite])], { maxBuffer: 1 << 24 });
    rounds.push(JSON.parse(stdout) as CpuResult[]);
    console.error(JSON.stringify(rounds[rounds.length - 1]));
  }
  const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] as number;
  console.log("| task | CPU ns per row | range | plain code, rows kept | x plain | old baseline: plain, rows dropped | x old |\n| --- | --- | --- | --- | --- | --- | --- |");
  for (const [index, first] of (rounds[0] ?? []).entries()) {
    const same = rounds.map((round) => round[index] as CpuResult);
    const perRow = same.map((result) => result.nsPerRow);
    const plain = same.map((result) => result.plainNsPerRow).filter((value): value is number => value !== undefined);
    const dropped = same.map((result) => result.droppedNsPerRow).filter((value): value is number => value !== undefined);
    const ratio = (base: number[]): string => (base.length > 0 ? String(Math.round((median(perRow) / median(base)) * 10) / 10) : "-");
    console.log(`| ${first.task} | ${median(perRow)} | ${Math.min(...perRow)}-${Math.max(...perRow)} | ${plain.length > 0 ? median(plain) : "-"} | ${ratio(plain)} | ${dropped.length > 0 ? median(dropped) : "-"} | ${ratio(dropped)} |`);
  }
}
