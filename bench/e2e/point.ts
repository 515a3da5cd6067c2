// One measurement point: a scenario in one mode at one open-loop rate, bounded by totalRows, checked against plain code.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeControl } from "../../src/actors/control.ts";
import { querySubjects } from "../../src/actors/subjects.ts";
import { nowMs } from "../../src/core/clock.ts";
import type { WakeMode } from "../../src/connectors/sources/open-loop.ts";
import type { LatencyPercentiles, LatencyRecorder } from "../../src/core/latency.ts";
import { Session, type DataFrame, type NatsOptions, type StreamingQuery } from "../../src/index.ts";
import { timeCheckpoints, type CheckpointTimes } from "./checkpoint-timer.ts";
import { summarize } from "./expected.ts";
import { GcMonitor, type GcRunFigures } from "./gc-monitor.ts";
import type { EngineMode } from "./modes.ts";
import type { RunFacts, Scenario, SinkTracker } from "./scenarios.ts";

export interface RunContext {
  /** How to reach the bench's nats-server, with its credentials (the handle's `options`). */
  readonly nats: NatsOptions;
  readonly seed: number;
  /** Source partitions (and shuffle partitions): one per core. */
  readonly numPartitions: number;
  /** A run may take this much longer than its rows need before it counts as not keeping up (ms). */
  readonly slackMs: number;
  /** Notices from sessions and runs, kept for the report. */
  readonly log: (message: string) => void;
  /**
   * How the activity source's readers wait for a row to fall due (its `wake` option); `precise` when undefined: in
   * scenario (b) at 10k rows/s it had the lowest p99 of the three modes on a shared machine and never spin's
   * multi-millisecond p50 under load (README, "A source that does not add latency"). `--wake spin` gives the old runs.
   */
  readonly wake?: WakeMode;
  /** CPU seconds the private nats-server has used so far, when known. */
  readonly natsServerCpuSeconds?: () => Promise<number | undefined>;
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
  /** Per row (see Scenario.perRow): from Arrival_Time + 0.5 ms, or reconstructed from an aggregation's counts; undefined when there is none. */
  readonly rowLatency: LatencyPercentiles | undefined;
  /** Rows dropped as older than the watermark (summed over the run's progress reports); undefined without event time. */
  readonly droppedByWatermark?: number;
  /** Rows per frame leaving the source stage (barrier frames included). */
  readonly rowsPerFrame: number | undefined;
  /** Times a sender had rows but no credit. */
  readonly creditWaits: number;
  /**
   * Cores kept busy, from the query's start to the end of the run: CPU time of this process (all its threads) plus
   * nats-server's when known, over the wall time. Not a cost per row: continuous mode sends smaller frames the more
   * CPU it has to spare, so below saturation it uses what it finds.
   */
  readonly cpuCores?: number;
  /**
   * This process's CPU time per input row (all its threads, µs), and its main thread's alone: time on a CPU and time
   * runnable but waiting for one (Linux's /proc schedstat; absent elsewhere), from the query's start to the end of the run.
   */
  readonly cpuPerRow?: { readonly processUs: number; readonly mainThreadUs?: number; readonly mainThreadWaitUs?: number };
  /** With checkpoints: the time the run's actors awaited their state writes, and the epoch commits (checkpoint-timer.ts). */
  readonly checkpointTimes?: CheckpointTimes;
  /** Garbage-collection pauses of this process from the query's start to the end of its rows (before the answer is checked). */
  readonly gc?: GcRunFigures;
  readonly wallMs: number;
}

export type Outcome = "complete" | "deadline" | "backlog" | "failed";

export interface PointSettings {
  readonly rate: number;
  readonly seconds: number;
  /** End the run early once rows due but not yet at the sink amount to this much input time (ms); the step-up's shortcut for a plain overload. */
  readonly abortBacklogMs?: number;
  /** Also give the GC figures of the pauses from this long after the query's start (`gc.steady`); none by default. */
  readonly gcWarmupMs?: number;
}

/** Runs `scenario` in `mode` with totalRows = rate x seconds; the run ends when the sink has every expected output. */
export async function runEnginePoint(context: RunContext, mode: EngineMode, scenario: Scenario, settings: PointSettings): Promise<PointResult> {
  if ("run" in scenario) return scenario.run(context, mode, settings);
  const started = nowMs();
  const totalRows = Math.round(settings.rate * settings.seconds);
  const summary = summarize({ seed: context.seed, numPartitions: context.numPartitions, totalRows, ...(scenario.shape ? { shape: scenario.shape } : {}) });
  const tracker = scenario.tracker(summary);
  const session = openSession(context, mode, scenario);
  const checkpointLocation = mode.checkpoint ? await mkdtemp(join(tmpdir(), "rill-bench-checkpoint-")) : undefined;
  let query: StreamingQuery | undefined;
  try {
    let markComplete = (): void => undefined;
    const completed = new Promise<void>((resolve) => (markComplete = resolve));
    let writer = scenario.build(activitySource(session, context, scenario, settings.rate, totalRows)).writeStream
      .queryName(`bench_${scenario.id}_${mode.id}`)
      .outputMode(scenario.outputMode)
      .trigger(mode.trigger)
      .foreach((row) => {
        tracker.onRow(row);
        if (tracker.complete()) markComplete();
      });
    if (checkpointLocation !== undefined) writer = writer.option("checkpointLocation", checkpointLocation);
    const cpu = await CpuMeter.start(context);
    const checkpointTimes = checkpointLocation === undefined ? undefined : timeCheckpoints();
    query = await writer.start();
    const gc = new GcMonitor(settings.gcWarmupMs ?? 0);
    const scheduleStart = watchScheduleStart(session, query);
    const progress = new ProgressLog(query);
    const scheduleStartedBy = nowMs();
    const budgetMs = settings.seconds * 1000 + mode.intervalMs + context.slackMs;
    const failed = query.awaitTermination().then(() => "failed" as const, () => "failed" as const);
    const outcome = await endOfRun(completed, failed, budgetMs, backlogWatch(settings, totalRows, scheduleStartedBy, () => tracker.inputEquivalent()));
    const gcFigures = gc.stop();
    const endedAt = outcome === "complete" ? tracker.lastArrival : nowMs();
    // A query that fails here reports it through query.exception() below.
    if (outcome === "complete") await withTimeout(query.processAllAvailable().catch(() => undefined), 3000);
    const cpuCores = await cpu.cores();
    const cpuPerRow = cpu.perRow(totalRows);
    const checkpointFigures = checkpointTimes?.();
    progress.stop();
    const facts: RunFacts = { rowsPerSecond: settings.rate, scheduleStart: scheduleStart.value, droppedByWatermark: progress.droppedByWatermark() };
    const failure = query.exception();
    const complete = outcome === "complete";
    return {
      ...measure(tracker, complete ? tracker.rowLatency(facts) : undefined, settings, totalRows, facts.scheduleStart ?? scheduleStartedBy, endedAt, mode.intervalMs),
      scenario: scenario.id,
      mode: mode.id,
      expectedOutputRows: expectedOutputs(scenario, summary),
      complete,
      outcome,
      error: failure ? failure.message : complete ? tracker.verify(facts) : undefined,
      latency: query.latency(),
      ...(scenario.shape ? { droppedByWatermark: facts.droppedByWatermark } : {}),
      ...frameStats(query),
      ...(cpuCores === undefined ? {} : { cpuCores }),
      cpuPerRow,
      ...(checkpointFigures === undefined ? {} : { checkpointTimes: checkpointFigures }),
      gc: gcFigures,
      wallMs: nowMs() - started,
    };
  } finally {
    await session.stop();
    if (checkpointLocation !== undefined) await rm(checkpointLocation, { recursive: true, force: true });
  }
}

/** The open-loop activity source of a run: `rate` rows/s over the context's partitions, `totalRows` in all, the scenario's event-time shape. */
export function activitySource(session: Session, context: RunContext, scenario: Pick<Scenario, "shape">, rate: number, totalRows: number): DataFrame {
  let reader = session.readStream.format("activity")
    .option("rowsPerSecond", rate)
    .option("numPartitions", context.numPartitions)
    .option("seed", context.seed)
    .option("totalRows", totalRows)
    .option("wake", context.wake ?? "precise");
  for (const [key, value] of Object.entries(scenario.shape ?? {})) reader = reader.option(key, value);
  return reader.load();
}

export function openSession(context: RunContext, mode: Pick<EngineMode, "id" | "chaining" | "transport">, scenario: Pick<Scenario, "id">): Session {
  const builder = Session.builder()
    .appName(`rill-bench-${mode.id}`)
    .config("rill.shuffle.partitions", context.numPartitions)
    .config("rill.chaining", String(mode.chaining))
    .log((message) => context.log(`${mode.id}/${scenario.id}: ${message}`));
  if (mode.transport === "inprocess") builder.config("rill.transport", "inprocess");
  else builder.nats(context.nats);
  // RILL_ROWS_POSITIONAL=auto|off: rows by position (rill.rows.positional) on or off, to compare one build both ways.
  const positional = process.env.RILL_ROWS_POSITIONAL;
  if (positional !== undefined) builder.config("rill.rows.positional", positional);
  return builder.getOrCreate();
}

/**
 * When the source's open-loop schedule began: the activity source's offset is `{ start, emitted }`, and every epoch
 * ack of a source actor carries it to the coordinator's subject, which any subscriber may watch. Scenario (b)'s
 * check needs it (a row's event time is its due time minus its delay), and the reconstructed per-row latency too.
 */
export function watchScheduleStart(session: Session, query: StreamingQuery): { readonly value: number | undefined } {
  const watch: { value: number | undefined } = { value: undefined };
  const subjects = querySubjects(session.conf.get("rill.subjectPrefix") ?? "rill", query.name ?? query.id, query.runId);
  const subscription = session.transport.subscribe(subjects.coordinator, (payload) => {
    const message = decodeControl(payload);
    if (message.type !== "ack" || typeof message.sourceOffset !== "object" || message.sourceOffset === null) return;
    const start = (message.sourceOffset as { start?: unknown }).start;
    if (typeof start === "number") {
      watch.value = start;
      subscription.unsubscribe();
    }
  });
  return watch;
}

/** CPU time of this process (and of nats-server, when known) over a run, in cores kept busy. */
export class CpuMeter {
  private constructor(
    private readonly context: RunContext,
    private readonly own: NodeJS.CpuUsage,
    private readonly server: number | undefined,
    private readonly startedAt: number,
    private readonly mainThread: MainThreadTimes | undefined,
  ) {}

  static async start(context: RunContext): Promise<CpuMeter> {
    const server = await context.natsServerCpuSeconds?.();
    return new CpuMeter(context, process.cpuUsage(), server, nowMs(), mainThreadTimes());
  }

  /** CPU µs per row since start: the process's, and the main thread's on a CPU and waiting for one. */
  perRow(rows: number): NonNullable<PointResult["cpuPerRow"]> {
    const own = process.cpuUsage(this.own);
    const processUs = round((own.user + own.system) / rows, 1);
    const before = this.mainThread;
    const after = mainThreadTimes();
    if (before === undefined || after === undefined) return { processUs };
    return { processUs, mainThreadUs: round((after.runNs - before.runNs) / 1000 / rows, 1), mainThreadWaitUs: round((after.waitNs - before.waitNs) / 1000 / rows, 1) };
  }

  /** Average cores busy since start. */
  async cores(): Promise<number | undefined> {
    const own = process.cpuUsage(this.own);
    const server = this.server === undefined ? undefined : await this.context.natsServerCpuSeconds?.();
    const elapsedMicros = (nowMs() - this.startedAt) * 1000;
    if (elapsedMicros <= 0) return undefined;
    const micros = own.user + own.system + (server === undefined || this.server === undefined ? 0 : (server - this.server) * 1_000_000);
    return round(micros / elapsedMicros, 2);
  }
}

interface MainThreadTimes {
  readonly runNs: number;
  readonly waitNs: number;
}

/** The main thread's time on a CPU and runnable but waiting for one, in ns (Linux: /proc/self/task/<pid>/schedstat). */
function mainThreadTimes(): MainThreadTimes | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ");
    return { runNs: Number(run), waitNs: Number(wait) };
  } catch {
    return undefined;
  }
}

/** Every progress report of a run, by epoch: recentProgress keeps the latest 100, and a long micro-batch run has more. */
export class ProgressLog {
  private readonly dropped = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly query: StreamingQuery) {
    this.timer = setInterval(() => this.collect(), 500);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.collect();
  }

  droppedByWatermark(): number {
    let total = 0;
    for (const rows of this.dropped.values()) total += rows;
    return total;
  }

  private collect(): void {
    for (const progress of this.query.recentProgress) this.dropped.set(progress.batchId, progress.numRowsDroppedByWatermark);
  }
}

function expectedOutputs(scenario: Scenario, summary: ReturnType<typeof summarize>): number | undefined {
  if (scenario.id === "a") return summary.stairsRows;
  if (scenario.id === "d") return summary.alertRows;
  return undefined;
}

/** The figures every point shares: received rate, end lag, per-row latency. */
export function measure(tracker: Pick<SinkTracker, "outputRows" | "inputEquivalent" | "lastArrival">, rowLatency: LatencyRecorder | undefined, settings: PointSettings, totalRows: number, scheduleStart: number, endedAt: number, intervalMs: number) {
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
    rowLatency: rowLatency && rowLatency.count > 0 ? rowLatency.percentiles() : undefined,
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
