// One measurement point: a scenario in one mode at one open-loop rate, bounded by totalRows, checked against plain code.
import { nowMs } from "../../src/core/clock.ts";
import type { LatencyPercentiles } from "../../src/core/latency.ts";
import { Session, type StreamingQuery } from "../../src/index.ts";
import { summarize } from "./expected.ts";
import type { EngineMode } from "./modes.ts";
import type { Scenario, SinkTracker } from "./scenarios.ts";

export interface RunContext {
  readonly natsUrl: string;
  readonly seed: number;
  /** Source partitions (and shuffle partitions): one per core. */
  readonly numPartitions: number;
  /** A run may take this much longer than its rows need before it counts as not keeping up (ms). */
  readonly slackMs: number;
  /** Notices from sessions and runs, kept for the report. */
  readonly log: (message: string) => void;
}

export interface PointResult {
  readonly scenario: string;
  readonly mode: string;
  readonly offeredRate: number;
  readonly seconds: number;
  readonly inputRows: number;
  readonly expectedOutputRows: number | undefined;
  readonly outputRows: number;
  /** Every expected output arrived before the deadline. */
  readonly complete: boolean;
  /** How the run ended: every output arrived, the deadline passed, the backlog outgrew its bound (step-up only), or the query failed. */
  readonly outcome: Outcome;
  /** A wrong answer or a failed query; undefined when the answer equals plain code's. */
  readonly error: string | undefined;
  /** Input rows per second whose effect reached the sink, over the run (a micro-batch mode's interval is not counted). */
  readonly receivedRate: number;
  /** From when the last row was due to when its result reached the sink (ms). */
  readonly endLagMs: number;
  /** The query's own figure (query.latency()): per frame, from the due time of the frame's oldest row. */
  readonly latency: LatencyPercentiles;
  /** Per row in the sink: nowMs() - (Arrival_Time + 0.5 ms), right to within 0.5 ms a row; undefined when the output has no Arrival_Time. */
  readonly rowLatency: LatencyPercentiles | undefined;
  /** Rows per frame leaving the source stage (barrier frames included). */
  readonly rowsPerFrame: number | undefined;
  /** Times a sender had rows but no credit. */
  readonly creditWaits: number;
  readonly wallMs: number;
}

export type Outcome = "complete" | "deadline" | "backlog" | "failed";

export interface PointSettings {
  readonly rate: number;
  readonly seconds: number;
  /** End the run early once rows due but not yet at the sink amount to this much input time (ms); the step-up's shortcut for a plain overload. */
  readonly abortBacklogMs?: number;
}

/** Runs `scenario` in `mode` with totalRows = rate x seconds; the run ends when the sink has every expected output. */
export async function runEnginePoint(context: RunContext, mode: EngineMode, scenario: Scenario, settings: PointSettings): Promise<PointResult> {
  const started = nowMs();
  const totalRows = Math.round(settings.rate * settings.seconds);
  const summary = summarize({ seed: context.seed, numPartitions: context.numPartitions, totalRows });
  const tracker = scenario.tracker(summary);
  const session = openSession(context, mode, scenario);
  let query: StreamingQuery | undefined;
  try {
    const activity = session.readStream.format("activity")
      .option("rowsPerSecond", settings.rate)
      .option("numPartitions", context.numPartitions)
      .option("seed", context.seed)
      .option("totalRows", totalRows)
      .load();
    let markComplete = (): void => undefined;
    const completed = new Promise<void>((resolve) => (markComplete = resolve));
    query = await scenario.build(activity).writeStream
      .queryName(`bench_${scenario.id}_${mode.id}`)
      .outputMode(scenario.outputMode)
      .trigger(mode.trigger)
      .foreach((row) => {
        tracker.onRow(row);
        if (tracker.complete()) markComplete();
      })
      .start();
    const scheduleStart = nowMs();
    const budgetMs = settings.seconds * 1000 + mode.intervalMs + context.slackMs;
    const failed = query.awaitTermination().then(() => "failed" as const, () => "failed" as const);
    const outcome = await endOfRun(completed, failed, budgetMs, backlogWatch(settings, totalRows, scheduleStart, () => tracker.inputEquivalent()));
    const endedAt = outcome === "complete" ? tracker.lastArrival : nowMs();
    if (outcome === "complete") await withTimeout(query.processAllAvailable(), 3000);
    const failure = query.exception();
    return {
      ...measure(tracker, settings, totalRows, scheduleStart, endedAt, mode.intervalMs),
      scenario: scenario.id,
      mode: mode.id,
      expectedOutputRows: expectedOutputs(scenario, summary),
      complete: outcome === "complete",
      outcome,
      error: failure ? failure.message : outcome === "complete" ? tracker.verify() : undefined,
      latency: query.latency(),
      ...frameStats(query),
      wallMs: nowMs() - started,
    };
  } finally {
    await session.stop();
  }
}

function openSession(context: RunContext, mode: EngineMode, scenario: Scenario): Session {
  const builder = Session.builder()
    .appName(`rill-bench-${mode.id}`)
    .config("rill.shuffle.partitions", context.numPartitions)
    .config("rill.chaining", String(mode.chaining))
    .log((message) => context.log(`${mode.id}/${scenario.id}: ${message}`));
  if (mode.transport === "inprocess") builder.config("rill.transport", "inprocess");
  else builder.nats({ servers: context.natsUrl });
  return builder.getOrCreate();
}

function expectedOutputs(scenario: Scenario, summary: ReturnType<typeof summarize>): number | undefined {
  if (scenario.id === "a") return summary.stairsRows;
  if (scenario.id === "d") return summary.alertRows;
  return undefined;
}

/** The figures every point shares: received rate, end lag, per-row latency. */
export function measure(tracker: Pick<SinkTracker, "outputRows" | "inputEquivalent" | "rowLatency" | "lastArrival">, settings: PointSettings, totalRows: number, scheduleStart: number, endedAt: number, intervalMs: number) {
  const activeMs = Math.max(1, endedAt - scheduleStart - intervalMs);
  const receivedRate = Math.min(settings.rate, (tracker.inputEquivalent() * 1000) / activeMs);
  const lastDue = scheduleStart + ((totalRows - 1) * 1000) / settings.rate;
  return {
    offeredRate: settings.rate,
    seconds: settings.seconds,
    inputRows: totalRows,
    outputRows: tracker.outputRows,
    receivedRate: Math.round(receivedRate),
    endLagMs: round(tracker.lastArrival > 0 ? tracker.lastArrival - lastDue : Number.NaN),
    rowLatency: tracker.rowLatency && tracker.rowLatency.count > 0 ? tracker.rowLatency.percentiles() : undefined,
  };
}

function frameStats(query: StreamingQuery): { rowsPerFrame: number | undefined; creditWaits: number } {
  let rows = 0;
  let frames = 0;
  let creditWaits = 0;
  for (const progress of query.recentProgress) {
    const source = progress.stages[0];
    if (source) {
      rows += source.rowsOut;
      frames += source.framesOut;
    }
    for (const stage of progress.stages) creditWaits += stage.creditWaits;
  }
  return { rowsPerFrame: frames > 0 ? round(rows / frames) : undefined, creditWaits };
}

/** Checks, every 50 ms, whether more input is due than has reached the sink; undefined when the run must not end early. */
export function backlogWatch(settings: PointSettings, totalRows: number, scheduleStart: number, inputEquivalent: () => number): (() => boolean) | undefined {
  const allowedMs = settings.abortBacklogMs;
  if (allowedMs === undefined) return undefined;
  const allowedRows = (settings.rate * allowedMs) / 1000;
  return () => {
    const due = Math.min(totalRows, ((nowMs() - scheduleStart) * settings.rate) / 1000);
    return due - inputEquivalent() > allowedRows;
  };
}

/** How a run ends: all outputs arrived, the deadline passed, the backlog outgrew its bound, or the query failed. */
export async function endOfRun(completed: Promise<void>, failed: Promise<"failed">, budgetMs: number, overloaded: (() => boolean) | undefined): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  const deadline = new Promise<"deadline">((resolve) => (timer = setTimeout(() => resolve("deadline"), budgetMs)));
  const backlog = new Promise<"backlog">((resolve) => {
    if (overloaded) poll = setInterval(() => overloaded() && resolve("backlog"), 50);
  });
  try {
    return await Promise.race([completed.then(() => "complete" as const), deadline, backlog, failed]);
  } finally {
    clearTimeout(timer);
    clearInterval(poll);
  }
}

export async function withTimeout(promise: Promise<unknown>, milliseconds: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), milliseconds)));
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

export function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
