// The harness's scenarios: each one a query, the check of its answer against plain code, and what its sink measures.
import { nowMs } from "../../src/core/clock.ts";
import { LatencyRecorder } from "../../src/core/latency.ts";
import { col, expr, window, type DataFrame, type OutputMode, type Row } from "../../src/index.ts";
import { ALERT_THRESHOLD, countExpectation, diffCounts, gtKey, windowExpectation, windowKey, type ActivitySummary, type EventTimeShape, type KeyExpectation } from "./expected.ts";
import type { EngineMode, Mode } from "./modes.ts";
import type { PointResult, PointSettings, RunContext } from "./point.ts";
import { runYsbPoint, YSB_QUERY } from "./ysb-point.ts";

/** What a run's check needs besides the sink's rows. */
export interface RunFacts {
  readonly rowsPerSecond: number;
  /** When the source's open-loop schedule began (ms, nowMs clock), from the source's offset in an epoch ack; undefined when none came. */
  readonly scheduleStart: number | undefined;
  /** Rows the stateful operators dropped as older than the watermark, summed over the run's progress reports. */
  readonly droppedByWatermark: number;
}

/** What the foreach sink of one run sees: rows, their per-row latency, and whether the answer is complete and right. */
export interface SinkTracker {
  /** Called for every row the sink gets, in order. */
  onRow(row: Row): void;
  readonly outputRows: number;
  /** Input rows whose effect has reached the sink (the received rate is counted in input rows). */
  inputEquivalent(): number;
  /** Every expected output has arrived (the run may end). */
  complete(): boolean;
  /** What is wrong with the answer, or undefined when it equals the plain-code answer. */
  verify(facts: RunFacts): string | undefined;
  /** Per-row latency once the run is over (see Scenario.perRow); undefined when the scenario has none. */
  rowLatency(facts: RunFacts): LatencyRecorder | undefined;
  /** When the latest row arrived (ms, nowMs clock). */
  readonly lastArrival: number;
}

/** What every scenario shares; ActivityScenario runs on the activity source, OwnSourceScenario runs its own points. */
interface ScenarioBase {
  readonly id: string;
  readonly title: string;
  /** The query as the user writes it, for the report. */
  readonly query: string;
  readonly outputMode: OutputMode;
  /** Out-of-order and late events of the activity source (its options of the same names); none when undefined. */
  readonly shape?: EventTimeShape;
  /**
   * How the per-row latency is measured: "arrival" from each output row's Arrival_Time; "reconstructed" from the
   * counts an aggregation emits (see reconstructLatency); undefined when there is none.
   */
  readonly perRow: "arrival" | "reconstructed" | undefined;
  /** First rate of the step-up (default: the harness's --start-rate). */
  readonly stepUpStartRate?: number;
  /** The modes the scenario runs in. */
  runsIn(mode: Mode): boolean;
}

export interface ActivityScenario extends ScenarioBase {
  build(activity: DataFrame): DataFrame;
  tracker(summary: ActivitySummary): SinkTracker;
}

/** A scenario with its own source and check (the YSB's ad events): runEnginePoint hands the point to `run`. */
export interface OwnSourceScenario extends ScenarioBase {
  run(context: RunContext, mode: EngineMode, settings: PointSettings): Promise<PointResult>;
}

export type Scenario = ActivityScenario | OwnSourceScenario;

export interface UnavailableScenario {
  readonly id: string;
  readonly title: string;
  readonly reason: string;
}

const COLUMN_CHECK_MASK = 1023;

/**
 * Arrival_Time is the row's due time cut to whole ms, so `now - Arrival_Time` is 0-1 ms high: half
 * a millisecond on average, since due times fall evenly within the millisecond. The per-row figure
 * takes the middle of that millisecond as the due time, so it is right on average and off by at
 * most 0.5 ms for any one row. At a 1.5 ms p50 the difference decides the issue's 50x target.
 */
export const ARRIVAL_ROUNDING_MS = 0.5;

/** Counts rows and records per-row latency from Arrival_Time; subclasses add the scenario's own check. */
abstract class AppendTracker implements SinkTracker {
  outputRows = 0;
  lastArrival = 0;
  private readonly latency = new LatencyRecorder();

  constructor(protected readonly summary: ActivitySummary, private readonly expectedRows: number) {}

  onRow(row: Row): void {
    const now = nowMs();
    this.outputRows++;
    this.lastArrival = now;
    this.latency.record(now - (row.Arrival_Time as number) - ARRIVAL_ROUNDING_MS, 1);
    this.check(row);
  }

  inputEquivalent(): number {
    return this.expectedRows === 0 ? 0 : (this.outputRows / this.expectedRows) * this.summary.rows;
  }

  complete(): boolean {
    return this.outputRows >= this.expectedRows;
  }

  verify(): string | undefined {
    if (this.outputRows !== this.expectedRows) return `${this.outputRows} rows reached the sink, plain code selects ${this.expectedRows}`;
    return this.verifyContent();
  }

  rowLatency(): LatencyRecorder {
    return this.latency;
  }

  protected abstract check(row: Row): void;
  protected abstract verifyContent(): string | undefined;
}

class StairsTracker extends AppendTracker {
  private readonly byGt = new Map<string, number>();
  private badColumns: string | undefined;

  constructor(summary: ActivitySummary) {
    super(summary, summary.stairsRows);
  }

  protected check(row: Row): void {
    const gt = gtKey(row.gt);
    this.byGt.set(gt, (this.byGt.get(gt) ?? 0) + 1);
    // The columns are checked on a sample of rows: listing them for every row would cost the sink more than the engine's filter.
    if ((this.outputRows & COLUMN_CHECK_MASK) === 1 && this.badColumns === undefined && Object.keys(row).sort().join(",") !== "Arrival_Time,Creation_Time,Model,gt") this.badColumns = Object.keys(row).join(",");
  }

  protected verifyContent(): string | undefined {
    if (this.badColumns !== undefined) return `output columns are ${this.badColumns}, expected gt, Model, Arrival_Time, Creation_Time`;
    return diffCounts("rows per gt", this.byGt, this.summary.stairsByGt);
  }
}

class AlertTracker extends AppendTracker {
  private magnitudeSum = 0;
  private belowThreshold = 0;

  constructor(summary: ActivitySummary) {
    super(summary, summary.alertRows);
  }

  protected check(row: Row): void {
    const magnitude = row.magnitude as number;
    this.magnitudeSum += magnitude;
    if (!(magnitude > ALERT_THRESHOLD)) this.belowThreshold++;
  }

  protected verifyContent(): string | undefined {
    if (this.belowThreshold > 0) return `${this.belowThreshold} alerts have a magnitude at or below ${ALERT_THRESHOLD}`;
    const expected = this.summary.alertMagnitudeSum;
    if (Math.abs(this.magnitudeSum - expected) > 1e-6 * Math.max(1, expected)) return `sum of alert magnitudes ${this.magnitudeSum} != plain code's ${expected}`;
    return undefined;
  }
}

/** The sink rows of one key in arrival order: when each came and the count it carried. */
interface KeyArrivals {
  readonly times: number[];
  readonly counts: number[];
}

/**
 * Per-row latency of an aggregation in update mode, reconstructed: an input row is visible in the sink once a row
 * of its key arrives with a count of at least the row's rank among its key's rows, and its latency runs from its due
 * time to then. The rank is taken in due order; the aggregation counts the rows of the two source partitions in the
 * order their frames come, so a row's figure is off by the skew between the partitions when they interleave out
 * of due order (under a millisecond at 10k rows/s). Keys with late rows are left out (their dropped rows have no rank).
 */
/** Diagnostics (bench/tail-causes.ts): when set, called with each reconstructed row's due time and arrival (ms, nowMs clock). */
export const rowTimes: { onRow?: (due: number, arrived: number) => void } = {};

export function reconstructLatency(expected: ReadonlyMap<string, KeyExpectation>, arrivals: ReadonlyMap<string, KeyArrivals>): LatencyRecorder {
  const recorder = new LatencyRecorder();
  for (const [key, expectation] of expected) {
    const seen = arrivals.get(key);
    if (!seen || expectation.late > 0) continue;
    const { times, counts } = seen;
    let next = 0;
    for (let rank = 1; rank <= expectation.dues.length; rank++) {
      while (next < counts.length && (counts[next] as number) < rank) next++;
      if (next === counts.length) break;
      const arrived = times[next] as number;
      const due = expectation.dues[rank - 1] as number;
      recorder.record(arrived - due, 1);
      rowTimes.onRow?.(due, arrived);
    }
  }
  return recorder;
}

/** Latest count per key of an update-mode aggregation, and when each count arrived. */
abstract class UpdateTracker implements SinkTracker {
  outputRows = 0;
  lastArrival = 0;
  protected readonly latest = new Map<string, number>();
  protected readonly arrivals = new Map<string, KeyArrivals>();
  private expectation: { start: number; byKey: Map<string, KeyExpectation> } | undefined;

  constructor(protected readonly summary: ActivitySummary) {}

  onRow(row: Row): void {
    const now = nowMs();
    this.outputRows++;
    this.lastArrival = now;
    const key = this.keyOf(row);
    const count = row.count as number;
    const previous = this.latest.get(key) ?? 0;
    this.latest.set(key, count);
    let arrivals = this.arrivals.get(key);
    if (!arrivals) {
      arrivals = { times: [], counts: [] };
      this.arrivals.set(key, arrivals);
      this.newKey(key, row, now);
    }
    arrivals.times.push(now);
    arrivals.counts.push(count);
    this.counted(key, count - previous);
  }

  rowLatency(facts: RunFacts): LatencyRecorder | undefined {
    const expected = this.expected(facts);
    return expected && reconstructLatency(expected, this.arrivals);
  }

  /** Plain code's answer for the run, with each key's due times; undefined without the schedule's start. */
  protected expected(facts: RunFacts): Map<string, KeyExpectation> | undefined {
    if (facts.scheduleStart === undefined) return undefined;
    if (this.expectation?.start !== facts.scheduleStart) this.expectation = { start: facts.scheduleStart, byKey: this.compute(facts.rowsPerSecond, facts.scheduleStart) };
    return this.expectation.byKey;
  }

  abstract inputEquivalent(): number;
  abstract complete(): boolean;
  abstract verify(facts: RunFacts): string | undefined;
  protected abstract keyOf(row: Row): string;
  protected abstract compute(rowsPerSecond: number, start: number): Map<string, KeyExpectation>;
  protected newKey(_key: string, _row: Row, _now: number): void {}
  protected abstract counted(key: string, added: number): void;
}

/** Update mode: the latest count per gt; complete when the counts add up to every input row. */
class GroupedCountTracker extends UpdateTracker {
  private total = 0;

  inputEquivalent(): number {
    return this.total;
  }

  complete(): boolean {
    return this.total >= this.summary.rows;
  }

  verify(): string | undefined {
    return diffCounts("latest counts per gt", this.latest, this.summary.countsByGt);
  }

  protected keyOf(row: Row): string {
    return gtKey(row.gt);
  }

  protected compute(rowsPerSecond: number, start: number): Map<string, KeyExpectation> {
    return countExpectation(this.summary.load, rowsPerSecond, start);
  }

  protected counted(_key: string, added: number): void {
    this.total += added;
  }
}

/**
 * Scenario (b): the latest count per (window, gt). The run may end once every on-time row is counted: a key is
 * taken for one of late rows when its window ended lateDelayMs - windowMs before the row came (on-time windows are
 * at most maxDelayMs old, so the two cannot be confused while the query lags less than ~14 s). The check then needs
 * the schedule's start (event time is due time minus delay) and the rows dropped by the watermark.
 */
class WindowedCountTracker extends UpdateTracker {
  private readonly lateKeys = new Set<string>();
  private onTimeCounted = 0;
  private readonly onTimeRows: number;

  constructor(summary: ActivitySummary, private readonly windowMs: number, private readonly lateDelayMs: number) {
    super(summary);
    this.onTimeRows = summary.rows - summary.lateRows;
  }

  inputEquivalent(): number {
    return this.onTimeRows === 0 ? 0 : (this.onTimeCounted / this.onTimeRows) * this.summary.rows;
  }

  complete(): boolean {
    return this.onTimeCounted >= this.onTimeRows;
  }

  verify(facts: RunFacts): string | undefined {
    const expected = this.expected(facts);
    if (!expected) return "the source's schedule start is unknown (no epoch ack carried the source's offset): the windows cannot be checked";
    const wrong: string[] = [];
    let counted = 0;
    for (const key of new Set([...this.latest.keys(), ...expected.keys()])) {
      const actual = this.latest.get(key) ?? 0;
      const { onTime, late } = expected.get(key) ?? { onTime: 0, late: 0 };
      counted += actual;
      if (actual < onTime || actual > onTime + late) wrong.push(`${describeKey(key)}: ${actual} (plain code: ${onTime} on time${late > 0 ? ` + up to ${late} late` : ""})`);
    }
    if (wrong.length > 0) return `counts per (window, gt) differ from plain code: ${wrong.slice(0, 5).join(", ")}${wrong.length > 5 ? ` and ${wrong.length - 5} more` : ""}`;
    if (counted + facts.droppedByWatermark !== this.summary.rows) return `${counted} rows counted + ${facts.droppedByWatermark} dropped by the watermark != ${this.summary.rows} input rows`;
    return undefined;
  }

  protected keyOf(row: Row): string {
    return windowKey((row.window as { start: number }).start, row.gt);
  }

  protected compute(rowsPerSecond: number, start: number): Map<string, KeyExpectation> {
    return windowExpectation(this.summary.load, rowsPerSecond, start, this.windowMs);
  }

  protected override newKey(key: string, row: Row, now: number): void {
    if ((row.window as { end: number }).end <= now - this.lateDelayMs + this.windowMs) this.lateKeys.add(key);
  }

  protected counted(key: string, added: number): void {
    if (!this.lateKeys.has(key)) this.onTimeCounted += added;
  }
}

function describeKey(key: string): string {
  const bar = key.indexOf("|");
  return `[${new Date(Number(key.slice(0, bar))).toISOString().slice(11, 23)}, ${key.slice(bar + 1)}]`;
}

/** Scenario (b)'s event time, watermark and window; its out-of-order events stay within the watermark, its late ones do not. */
const B_WATERMARK_MS = 10_000;
const B_WINDOW_MS = 1000;
const B_SHAPE = { outOfOrderFraction: 0.1, maxDelayMs: 5000, lateFraction: 0.001, lateDelayMs: 20_000 } as const;
if (B_SHAPE.maxDelayMs >= B_WATERMARK_MS || B_SHAPE.lateDelayMs <= B_WATERMARK_MS) throw new Error("scenario (b): out-of-order events must stay within the watermark, late ones beyond it");

export const SCENARIOS: readonly Scenario[] = [
  {
    id: "a",
    title: "(a) stateless: the seed's selection and filter",
    query: `withColumn("stairs", expr("gt like '%stairs%'")).where("stairs").where("gt is not null").select("gt", "model", "arrival_time", "creation_time")`,
    outputMode: "append",
    perRow: "arrival",
    runsIn: () => true,
    build: (activity) => activity.withColumn("stairs", expr("gt like '%stairs%'")).where("stairs").where("gt is not null").select("gt", "model", "arrival_time", "creation_time"),
    tracker: (summary) => new StairsTracker(summary),
  },
  {
    id: "b",
    title: "(b) windowed count per activity with a watermark (update mode)",
    query: `selectExpr("*", "cast(cast(Creation_Time as double)/1000000000 as timestamp) as event_time").withWatermark("event_time", "10 seconds").groupBy(window(col("event_time"), "1 second"), col("gt")).count(), on the activity source with ${Object.entries(B_SHAPE).map(([key, value]) => `${key} ${value}`).join(", ")}`,
    outputMode: "update",
    shape: B_SHAPE,
    perRow: "reconstructed",
    stepUpStartRate: 100_000,
    runsIn: (mode) => mode.kind === "engine" && mode.chaining,
    build: (activity) => activity.selectExpr("*", "cast(cast(Creation_Time as double)/1000000000 as timestamp) as event_time")
      .withWatermark("event_time", `${B_WATERMARK_MS / 1000} seconds`)
      .groupBy(window(col("event_time"), `${B_WINDOW_MS / 1000} second`), col("gt")).count(),
    tracker: (summary) => new WindowedCountTracker(summary, B_WINDOW_MS, B_SHAPE.lateDelayMs),
  },
  {
    id: "c",
    title: "(c) Yahoo Streaming Benchmark: views joined with the static campaign table, counted per campaign in 10 s windows (update mode)",
    query: YSB_QUERY,
    outputMode: "update",
    perRow: "reconstructed",
    stepUpStartRate: 50_000,
    runsIn: (mode) => mode.kind === "engine" && mode.chaining,
    run: runYsbPoint,
  },
  {
    id: "d",
    title: "(d) the main job's alert pipeline",
    query: `selectExpr("User", "Device", "gt", "sqrt(x * x + y * y + z * z) as magnitude", "Arrival_Time").where("magnitude > ${ALERT_THRESHOLD}")`,
    outputMode: "append",
    perRow: "arrival",
    runsIn: (mode) => mode.kind === "engine",
    build: (activity) => activity.selectExpr("User", "Device", "gt", "sqrt(x * x + y * y + z * z) as magnitude", "Arrival_Time").where(`magnitude > ${ALERT_THRESHOLD}`),
    tracker: (summary) => new AlertTracker(summary),
  },
  {
    id: "count",
    title: "grouped count (stateful, update mode)",
    query: `groupBy("gt").count()`,
    outputMode: "update",
    perRow: "reconstructed",
    runsIn: (mode) => mode.kind === "engine",
    build: (activity) => activity.groupBy("gt").count(),
    tracker: (summary) => new GroupedCountTracker(summary),
  },
];

export const UNAVAILABLE_SCENARIOS: readonly UnavailableScenario[] = [];

export function scenarioById(id: string): Scenario {
  const scenario = SCENARIOS.find((candidate) => candidate.id === id);
  if (!scenario) throw new Error(`Unknown scenario '${id}'. Scenarios: ${SCENARIOS.map((candidate) => candidate.id).join(", ")}`);
  return scenario;
}
