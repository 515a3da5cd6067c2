// The micro-benchmarks (`npx tsx bench/micro/run.ts [--full] [--processes n]`): codec, expressions, operators, state
// values, the YSB generator.
//
// Each round runs in a fresh process: V8 settles some hot paths differently from one process to
// the next (msgpackr's encodeFrame takes either ~270 or ~450 ns a row for the whole life of a
// process), so one process's figure can mislead. The table gives the median over the processes and
// the range. Results go to bench/results/micro-latest.{md,json} and a timestamped copy.
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { findNatsServer } from "../../src/index.ts";
import { describeMachine, machineLine } from "../e2e/machine.ts";
import { checkYsbGenerator, YsbGenerator } from "../e2e/ysb.ts";
import { codecSuite } from "./codec.ts";
import { expressionSuite } from "./expressions.ts";
import { runSuite, type MicroResult, type MicroSuite } from "./harness.ts";
import { operatorSuite } from "./operators.ts";
import { stateValueSuite } from "./state-values.ts";

const { values } = parseArgs({
  options: {
    full: { type: "boolean", default: false },
    processes: { type: "string" },
    child: { type: "boolean", default: false },
    out: { type: "string", default: "bench/results" },
  },
});

const options = values.full ? { timeMs: 2000, warmupMs: 500 } : { timeMs: 400, warmupMs: 150 };

if (values.child) {
  const results: MicroResult[] = [];
  for (const suite of suites()) results.push(...(await runSuite(suite, options)));
  process.stdout.write(JSON.stringify(results));
} else {
  await main();
}

function suites(): MicroSuite[] {
  return [codecSuite(), expressionSuite(), operatorSuite(), stateValueSuite(), ysbSuite()];
}

async function main(): Promise<void> {
  const processes = Number(values.processes ?? (values.full ? "5" : "3"));
  const machine = await describeMachine(await findNatsServer());
  console.error(`micro-benchmarks on ${machineLine(machine)}: ${processes} processes`);
  const rounds: MicroResult[][] = [];
  for (let round = 0; round < processes; round++) {
    rounds.push(await runChild());
    console.error(`  process ${round + 1} of ${processes} done`);
  }
  const summary = summarize(rounds);
  const createdAt = new Date().toISOString();
  const unavailable = suites().flatMap((suite) => (suite.unavailable ?? []).map((item) => ({ suite: suite.name, ...item })));
  const lines = [
    `# Rill micro-benchmarks, ${createdAt}`,
    "",
    `Machine: ${machineLine(machine)}. tinybench, ${options.timeMs} ms per task after ${options.warmupMs} ms of warm-up, in ${processes} fresh processes; each task's answer is checked against plain code before it is timed. Figures: the median over the processes of each process's median time per call, and their range. "Plain code" is the same work written by hand, timed in the same processes; where a task makes output rows, the subject and its plain code both store each row into one preallocated ring of 256 slots (bench/micro/harness.ts, OutputRing), so both must build them. "Old baseline" is the same plain code with its rows dropped, which V8 may leave unallocated.`,
    "",
    "| Suite | Task | ns per row | range | plain code ns per row | x plain code | old baseline (rows dropped) ns per row | x old baseline | ns per call | rows per call |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...summary.map((row) => `| ${row.suite} | ${row.task} | ${row.nsPerRow} | ${row.minNsPerRow}-${row.maxNsPerRow} | ${row.plainNsPerRow ?? "-"} | ${row.timesPlain ?? "-"} | ${row.droppedNsPerRow ?? "-"} | ${row.timesDropped ?? "-"} | ${row.nsPerCall.toLocaleString("en-US")} | ${row.rowsPerCall} |`),
    ...unavailable.map((item) => `| ${item.suite} | ${item.name} | ${item.reason} | | | | | | | |`),
  ];
  const markdown = `${lines.join("\n")}\n`;
  const json = `${JSON.stringify({ createdAt, machine, options, processes, summary, rounds, unavailable }, null, 2)}\n`;
  const stamp = createdAt.replace(/[:.]/g, "-");
  await mkdir(values.out, { recursive: true });
  await writeFile(join(values.out, "micro-latest.md"), markdown);
  await writeFile(join(values.out, "micro-latest.json"), json);
  await writeFile(join(values.out, `micro-${stamp}.md`), markdown);
  await writeFile(join(values.out, `micro-${stamp}.json`), json);
  console.log(markdown);
}

/** One round in a fresh Node process with the same loader (tsx); its results come back as JSON on stdout. */
async function runChild(): Promise<MicroResult[]> {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), "--child", ...(values.full ? ["--full"] : [])];
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as MicroResult[];
}

interface SummaryRow {
  readonly suite: string;
  readonly task: string;
  readonly rowsPerCall: number;
  readonly nsPerCall: number;
  readonly nsPerRow: number;
  readonly minNsPerRow: number;
  readonly maxNsPerRow: number;
  readonly plainNsPerRow: number | undefined;
  readonly timesPlain: number | undefined;
  readonly droppedNsPerRow: number | undefined;
  readonly timesDropped: number | undefined;
}

function summarize(rounds: readonly MicroResult[][]): SummaryRow[] {
  const first = rounds[0] ?? [];
  return first.map((result, index) => {
    const same = rounds.map((round) => round[index] as MicroResult);
    const perRow = same.map((item) => item.nsPerRow);
    const plain = same.map((item) => item.plainNsPerRow).filter((value): value is number => value !== undefined);
    const nsPerRow = median(perRow);
    const plainNsPerRow = plain.length > 0 ? median(plain) : undefined;
    const dropped = same.map((item) => item.droppedNsPerRow).filter((value): value is number => value !== undefined);
    const droppedNsPerRow = dropped.length > 0 ? median(dropped) : undefined;
    return {
      suite: result.suite,
      task: result.task,
      rowsPerCall: result.rowsPerCall,
      nsPerCall: Math.round(median(same.map((item) => item.nsPerCall))),
      nsPerRow,
      minNsPerRow: Math.min(...perRow),
      maxNsPerRow: Math.max(...perRow),
      plainNsPerRow,
      timesPlain: plainNsPerRow ? Math.round((nsPerRow / plainNsPerRow) * 10) / 10 : undefined,
      droppedNsPerRow,
      timesDropped: droppedNsPerRow ? Math.round((nsPerRow / droppedNsPerRow) * 10) / 10 : undefined,
    };
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The YSB generator makes the load of scenario (c): it must be far faster than the rates it is asked for. */
function ysbSuite(): MicroSuite {
  const generator = new YsbGenerator({ seed: 5 });
  let time = 1_700_000_000_000;
  return {
    name: "ysb",
    tasks: [{
      name: "YsbGenerator.next x 256",
      rowsPerCall: 256,
      check: () => {
        const problem = checkYsbGenerator();
        if (problem !== undefined) throw new Error(problem);
      },
      run: () => {
        let sum = 0;
        for (let index = 0; index < 256; index++) sum += generator.next(time++).event_type.length;
        return sum;
      },
    }],
  };
}
