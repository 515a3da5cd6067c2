// The micro-benchmarks' shared rules: check the answer first, consume every result, and refuse a run the timer cannot resolve.
import assert from "node:assert/strict";
import { Bench } from "tinybench";
import { generateActivity, type ActivityRow } from "../../src/connectors/sources/activity.ts";

/** Rows per task call: one realistic frame, so that a call lasts microseconds, far above the timer's resolution. */
export const FRAME_ROWS = 256;

/** 256 activity rows from the seeded generator, as one source frame carries them. */
export function activityFrame(seed = 7): ActivityRow[] {
  return generateActivity({ count: FRAME_ROWS, seed, rowsPerSecond: 10_000, startMs: 1_700_000_000_000 });
}

export interface MicroTask {
  readonly name: string;
  /** Rows one call handles (the per-row cost is the call's divided by this); 1 for per-call subjects. */
  readonly rowsPerCall: number;
  /** Checks the subject's answer against plain code; throws when it is wrong. Runs before any timing. */
  readonly check: () => void;
  /** The timed call; it returns a number that the harness adds up, so no result goes unused. */
  readonly run: () => number;
  /** The same work written by hand in plain code, timed alongside as the baseline the subject's cost is a ratio of. */
  readonly plain?: () => number;
}

export interface MicroSuite {
  readonly name: string;
  readonly tasks: readonly MicroTask[];
  /** Subjects that do not exist yet, with the reason. */
  readonly unavailable?: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
}

export interface MicroResult {
  readonly suite: string;
  readonly task: string;
  readonly rowsPerCall: number;
  readonly nsPerCall: number;
  readonly nsPerRow: number;
  readonly relativeMarginOfError: number;
  readonly samples: number;
  /** The plain-code baseline's ns per row, when the task has one, and the subject's cost as a multiple of it. */
  readonly plainNsPerRow: number | undefined;
  readonly timesPlain: number | undefined;
}

export interface MicroOptions {
  /** Time budget per task (ms). */
  readonly timeMs: number;
  readonly warmupMs: number;
}

/** A wrong answer or a timer-resolution warning stops the run: such a figure would mislead. */
export class InvalidBenchmarkError extends Error {
  override readonly name = "InvalidBenchmarkError";
}

export async function runSuite(suite: MicroSuite, options: MicroOptions): Promise<MicroResult[]> {
  for (const task of suite.tasks) {
    try {
      task.check();
    } catch (error) {
      throw new InvalidBenchmarkError(`${suite.name} / ${task.name} gives a wrong answer, so it is not timed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  let checksum = 0;
  const warnings: string[] = [];
  const bench = new Bench({ name: suite.name, time: options.timeMs, warmupTime: options.warmupMs, throws: true });
  bench.addEventListener("warning", (event) => warnings.push(`${event.task?.name ?? "?"}: timer saturation (${String(event.reason)})`));
  for (const task of suite.tasks) {
    bench.add(task.name, () => {
      checksum += task.run();
    }, { async: false });
    const plain = task.plain;
    if (plain) {
      bench.add(plainName(task), () => {
        checksum += plain();
      }, { async: false });
    }
  }
  await bench.run();
  if (warnings.length > 0) throw new InvalidBenchmarkError(`tinybench cannot resolve these tasks with its timer, so the run is invalid: ${warnings.join("; ")}`);
  assert.ok(Number.isFinite(checksum) && checksum !== 0, `${suite.name}: the tasks' results add up to ${checksum}; every task must return what it computed`);
  return suite.tasks.map((task) => {
    const measured = statistics(bench, suite.name, task.name);
    const plain = task.plain ? statistics(bench, suite.name, plainName(task)) : undefined;
    const nsPerRow = measured.nsPerCall / task.rowsPerCall;
    const plainNsPerRow = plain ? plain.nsPerCall / task.rowsPerCall : undefined;
    return {
      suite: suite.name,
      task: task.name,
      rowsPerCall: task.rowsPerCall,
      nsPerCall: Math.round(measured.nsPerCall),
      nsPerRow: round(nsPerRow),
      relativeMarginOfError: round(measured.rme),
      samples: measured.samples,
      plainNsPerRow: plainNsPerRow === undefined ? undefined : round(plainNsPerRow),
      timesPlain: plainNsPerRow === undefined || plainNsPerRow === 0 ? undefined : round(nsPerRow / plainNsPerRow),
    };
  });
}

function plainName(task: MicroTask): string {
  return `${task.name} [plain code]`;
}

function statistics(bench: Bench, suite: string, name: string): { nsPerCall: number; rme: number; samples: number } {
  const result = bench.getTask(name)?.result;
  if (!result || (result.state !== "completed" && result.state !== "aborted-with-statistics")) {
    throw new InvalidBenchmarkError(`${suite} / ${name} did not complete: ${result ? result.state : "no result"}`);
  }
  return { nsPerCall: result.latency.p50 * 1e6, rme: result.latency.rme, samples: result.latency.samplesCount };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
