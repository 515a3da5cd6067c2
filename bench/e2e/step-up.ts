// The step-up run: per mode, double the open-loop rate until the sink stops keeping up, then narrow the gap.
//
// Narrowing: a step that did not keep up because it received too little received about what the
// mode can take, so the next step tries 97% of that; otherwise the geometric mean of the bracket.
// A step keeps up when its answer is complete and right, the sink received at least
// MIN_RECEIVED_SHARE of the offered rate (a micro-batch mode's interval not counted), and p99
// latency stayed under the mode's latency bound: a backlog that grows during a step shows as both.
// A micro-batch mode's bound allows two intervals (a row waits up to one for its trigger, and its
// batch may take up to one to process while the mode still keeps up). A step whose backlog passes
// twice the bound ends early: the rate is plainly too high, and the time is better spent on the next step. Modes take their steps in turn, so that no mode always runs on a warmer or
// colder process than another.
import type { Mode } from "./modes.ts";
import type { PointResult, PointSettings } from "./point.ts";

export const MIN_RECEIVED_SHARE = 0.95;
/** A mode that keeps up with none of this many steps down from the start, or with none above MIN_RATE, has no figure. */
const MAX_STEPS_DOWN = 5;
const MIN_RATE = 1000;

export interface Judged extends PointResult {
  readonly sustained: boolean;
  /** Why the step did not keep up, or "kept up". */
  readonly verdict: string;
}

export interface StepUpSettings {
  readonly startRate: number;
  readonly maxRate: number;
  readonly seconds: number;
  /** Steps between the last rate kept up and the first not kept up, each at their geometric mean. */
  readonly refinements: number;
  readonly latencyBoundMs: number;
}

export interface StepUpResult {
  readonly mode: string;
  readonly scenario: string;
  readonly steps: readonly Judged[];
  /** The highest rate kept up; undefined when even the first step was not. */
  readonly sustainedRate: number | undefined;
  /** The step at that rate. */
  readonly atSustained: Judged | undefined;
  /** True when the ladder stopped at maxRate while still keeping up (the figure is a floor). */
  readonly reachedMax: boolean;
}

/** The p99 latency (ms) a mode may show while keeping up. */
export function latencyBound(mode: Mode, latencyBoundMs: number): number {
  return 2 * mode.intervalMs + latencyBoundMs;
}

export function judge(point: PointResult, mode: Mode, latencyBoundMs: number): Judged {
  const bound = latencyBound(mode, latencyBoundMs);
  let verdict = "kept up";
  if (point.error !== undefined) verdict = `wrong: ${point.error}`;
  else if (point.outcome === "backlog") verdict = `backlog above ${2 * bound} ms of input, ended early; received ${percent(point.receivedRate / point.offeredRate)} of offered`;
  else if (!point.complete) verdict = `incomplete: ${point.outputRows} rows by the deadline, received ${percent(point.receivedRate / point.offeredRate)} of offered`;
  else if (point.receivedRate < MIN_RECEIVED_SHARE * point.offeredRate) verdict = `received ${percent(point.receivedRate / point.offeredRate)} of offered`;
  else if (point.latency.p99 > bound) verdict = `p99 ${point.latency.p99} ms > ${bound} ms`;
  return { ...point, sustained: verdict === "kept up", verdict };
}

interface Ladder {
  readonly mode: Mode;
  readonly steps: Judged[];
  rate: number;
  lastGood: number | undefined;
  firstBad: number | undefined;
  /** What the last step that did not keep up received, when it fell short of the offered rate. */
  badReceived: number | undefined;
  refinementsLeft: number;
  done: boolean;
  reachedMax: boolean;
}

export type StepRunner = (mode: Mode, settings: PointSettings) => Promise<PointResult>;

export async function stepUp(modes: readonly Mode[], scenario: string, settings: StepUpSettings, run: StepRunner, onStep: (step: Judged) => void): Promise<StepUpResult[]> {
  const ladders: Ladder[] = modes.map((mode) => ({ mode, steps: [], rate: settings.startRate, lastGood: undefined, firstBad: undefined, badReceived: undefined, refinementsLeft: settings.refinements, done: false, reachedMax: false }));
  while (ladders.some((ladder) => !ladder.done)) {
    for (const ladder of ladders) {
      if (ladder.done) continue;
      const abortBacklogMs = 2 * latencyBound(ladder.mode, settings.latencyBoundMs);
      const step = judge(await run(ladder.mode, { rate: ladder.rate, seconds: settings.seconds, abortBacklogMs }), ladder.mode, settings.latencyBoundMs);
      ladder.steps.push(step);
      onStep(step);
      advance(ladder, step, settings);
    }
  }
  return ladders.map((ladder) => {
    const atSustained = ladder.steps.find((step) => step.sustained && step.offeredRate === ladder.lastGood);
    return { mode: ladder.mode.id, scenario, steps: ladder.steps, sustainedRate: ladder.lastGood, atSustained, reachedMax: ladder.reachedMax };
  });
}

function advance(ladder: Ladder, step: Judged, settings: StepUpSettings): void {
  if (step.sustained) ladder.lastGood = ladder.rate;
  else {
    ladder.firstBad = ladder.rate;
    ladder.badReceived = step.receivedRate < MIN_RECEIVED_SHARE * step.offeredRate ? step.receivedRate : undefined;
  }
  if (ladder.firstBad === undefined) {
    if (ladder.rate * 2 > settings.maxRate) {
      ladder.done = true;
      ladder.reachedMax = true;
      return;
    }
    ladder.rate *= 2;
    return;
  }
  // An overloaded step received about what the mode can take: try just under that, else halfway (geometrically).
  const estimate = ladder.badReceived === undefined ? undefined : roundRate(ladder.badReceived * 0.97);
  if (ladder.lastGood === undefined) {
    // Not even the first step kept up: step down, to the estimate or to half.
    const lower = estimate !== undefined && estimate < ladder.firstBad ? estimate : roundRate(ladder.firstBad / 2);
    if (lower < MIN_RATE || ladder.steps.length >= MAX_STEPS_DOWN) ladder.done = true;
    else ladder.rate = lower;
    return;
  }
  if (ladder.refinementsLeft <= 0) {
    ladder.done = true;
    return;
  }
  const middle = estimate !== undefined && estimate > ladder.lastGood && estimate < ladder.firstBad ? estimate : roundRate(Math.sqrt(ladder.lastGood * ladder.firstBad));
  if (middle <= ladder.lastGood || middle >= ladder.firstBad) {
    ladder.done = true;
    return;
  }
  ladder.refinementsLeft--;
  ladder.rate = middle;
}

/** Two significant digits: 283000 -> 280000. */
function roundRate(rate: number): number {
  const scale = 10 ** Math.max(0, Math.floor(Math.log10(rate)) - 1);
  return Math.round(rate / scale) * scale;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
