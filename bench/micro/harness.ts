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
  /**
   * The same work written by hand in plain code, timed alongside as the baseline the subject's cost is a ratio of. Where
   * the task makes output rows, `run` and `plain` both store each one into an OutputRing, so that both sides' rows
   * outlive the call as an engine's output does and V8 cannot leave either side's rows unallocated.
   */
  readonly plain?: () => number;
  /**
   * The old baseline, kept so that its figure stays visible: the same plain code whose output rows are only counted
   * and dropped, so that V8 may inline the sink and not allocate the rows at all (bench/micro/allocations.ts shows it).
   */
  readonly plainDropped?: () => number;
}

/** Slots in an OutputRing: one frame's rows. */
export const RING_SLOTS = 256;

/**
 * Where a task's output rows go: each row is stored into the next of RING_SLOTS preallocated slots (the oldest is
 * overwritten), as an engine holds its output rows until the frame that carries them is sent. A row stored here has
 * escaped, so it must be allocated; the same ring and sink serve the subject and its plain code.
 */
export class OutputRing {
  readonly slots: unknown[] = Array.from({ length: RING_SLOTS }, () => null);
  count = 0;
  /** Stores one output row and counts it. */
  readonly keep = (row: unknown): void => {
    this.slots[this.count & (RING_SLOTS - 1)] = row;
    this.count++;
  };
}

/** The old baseline's sink: counts each output row and drops it, so that V8 may inline it and not allocate the row. */
export class DropCounter {
  count = 0;
  readonly drop = (_row: unknown): void => {
    this.count++;
  };
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
  /** The old baseline (plainDropped), and the subject's cost as a multiple of it. */
  readonly droppedNsPerRow: number | undefined;
  readonly timesDropped: number | undefined;
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
    const plainDropped = task.plainDropped;
    if (plainDropped) {
      bench.add(droppedName(task), () => {
        checksum += plainDropped();
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
    const dropped = task.plainDropped ? statistics(bench, suite.name, droppedName(task)) : undefined;
    const droppedNsPerRow = dropped ? dropped.nsPerCall / task.rowsPerCall : undefined;
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
      droppedNsPerRow: droppedNsPerRow === undefined ? undefined : round(droppedNsPerRow),
      timesDropped: droppedNsPerRow === undefined || droppedNsPerRow === 0 ? undefined : round(nsPerRow / droppedNsPerRow),
    };
  });
}

function plainName(task: MicroTask): string {
  return `${task.name} [plain code]`;
}

function droppedName(task: MicroTask): string {
  return `${task.name} [plain code, rows dropped]`;
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
