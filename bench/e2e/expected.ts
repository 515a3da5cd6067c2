// What each query must give, computed in plain code over the very rows the activity source generates.
//
// The source splits row indexes over partitions (index i goes to partition i % n) and each
// partition has its own seeded generator; a row's values other than Arrival_Time and Creation_Time
// do not depend on when it was due, so the same generators replayed here give the same rows. A run
// of N rows reads a prefix of each partition's rows, so the facts the checks need are generated
// once per partition, as far as the largest run needs, and summed per run.
//
// Scenario (b) groups by event-time windows, and a row's event time is its due time (which depends
// on when the run started) minus a delay drawn by the generator. The facts keep the delay and the
// sub-ms part of Creation_Time, which do not depend on the start; `eventTimeExpectation` adds the
// run's start (read from the source's offset, see point.ts) and replays the arithmetic of the row
// and of Spark's casts to find each row's window.
import { ActivityGenerator, type ActivityOptions, type ActivityRow } from "../../src/connectors/sources/activity.ts";
import { OpenLoopSchedule, partitionShare } from "../../src/connectors/sources/open-loop.ts";

/** The generator options that shape event time (the activity source's options of the same names). */
export type EventTimeShape = Pick<ActivityOptions, "outOfOrderFraction" | "maxDelayMs" | "lateFraction" | "lateDelayMs">;

export interface ActivityLoad {
  readonly seed: number;
  readonly numPartitions: number;
  readonly totalRows: number;
  /** Out-of-order and late events; none when undefined. */
  readonly shape?: EventTimeShape;
}

/** The facts every scenario's check needs. */
export interface ActivitySummary {
  readonly load: ActivityLoad;
  readonly rows: number;
  /** Rows whose event time the generator put lateDelayMs or more before their arrival (shape.lateFraction). */
  readonly lateRows: number;
  /** Rows per gt (null as "null"): the grouped count's answer. */
  readonly countsByGt: ReadonlyMap<string, number>;
  /** Scenario (a): rows whose gt contains "stairs", per gt. */
  readonly stairsByGt: ReadonlyMap<string, number>;
  readonly stairsRows: number;
  /** Scenario (d): rows whose acceleration magnitude exceeds ALERT_THRESHOLD, and the sum of those magnitudes. */
  readonly alertRows: number;
  readonly alertMagnitudeSum: number;
}

/** The main job's default threshold for a strong movement (src/cli/rill.ts, `rill demo --threshold`). */
export const ALERT_THRESHOLD = 12;

export function gtKey(value: unknown): string {
  return value === null || value === undefined ? "null" : String(value);
}

/** Scenario (a) in plain code: the seed's stairs filter and its four columns. */
export function selectStairs(row: ActivityRow): { gt: string | null; Model: string; Arrival_Time: number; Creation_Time: bigint } | undefined {
  if (row.gt === null || !row.gt.includes("stairs")) return undefined;
  return { gt: row.gt, Model: row.Model, Arrival_Time: row.Arrival_Time, Creation_Time: row.Creation_Time };
}

export function magnitudeOf(row: ActivityRow): number {
  return Math.sqrt(row.x * row.x + row.y * row.y + row.z * row.z);
}

/** One partition's rows, reduced to what the checks read: a gt code, the magnitude, and what makes the event time. */
class PartitionFacts {
  length = 0;
  gt = new Uint8Array(0);
  magnitude = new Float64Array(0);
  /** Whole ms between creation and arrival (0 for most rows). */
  delay = new Int32Array(0);
  /** Creation_Time's nanoseconds below the ms. */
  subMillisecond = new Int32Array(0);
  private readonly generator: ActivityGenerator;

  constructor(seed: number, partition: number, numPartitions: number, shape: EventTimeShape, private readonly codes: GtCodes) {
    this.generator = new ActivityGenerator({ seed, partition, numPartitions, ...shape });
  }

  extendTo(rows: number): void {
    if (rows <= this.length) return;
    if (rows > this.gt.length) this.grow(Math.max(rows, this.gt.length * 2, 1024));
    for (let index = this.length; index < rows; index++) {
      // Arrival 0 makes Creation_Time = -delay * 1e6 + subMillisecond, small enough to split exactly.
      const row = this.generator.next(0);
      this.gt[index] = this.codes.of(gtKey(row.gt));
      this.magnitude[index] = magnitudeOf(row);
      const creation = Number(row.Creation_Time);
      const delay = Math.ceil(-creation / 1_000_000);
      const subMillisecond = creation + delay * 1_000_000;
      if (!(subMillisecond >= 0 && subMillisecond < 1_000_000)) throw new Error(`cannot split Creation_Time ${row.Creation_Time} into delay and sub-ms: the generator changed`);
      this.delay[index] = delay;
      this.subMillisecond[index] = subMillisecond;
    }
    this.length = rows;
  }

  private grow(capacity: number): void {
    const gt = new Uint8Array(capacity);
    gt.set(this.gt);
    const magnitude = new Float64Array(capacity);
    magnitude.set(this.magnitude);
    const delay = new Int32Array(capacity);
    delay.set(this.delay);
    const subMillisecond = new Int32Array(capacity);
    subMillisecond.set(this.subMillisecond);
    this.gt = gt;
    this.magnitude = magnitude;
    this.delay = delay;
    this.subMillisecond = subMillisecond;
  }
}

class GtCodes {
  readonly names: string[] = [];
  private readonly codes = new Map<string, number>();

  of(name: string): number {
    let code = this.codes.get(name);
    if (code === undefined) {
      code = this.names.length;
      if (code > 255) throw new Error("more than 256 distinct gt values: the generator changed");
      this.names.push(name);
      this.codes.set(name, code);
    }
    return code;
  }
}

interface LoadFacts {
  readonly codes: GtCodes;
  readonly partitions: PartitionFacts[];
}

const partitionsByLoad = new Map<string, LoadFacts>();

/** The facts of a load's partitions, generated as far as `load.totalRows` needs (kept for later runs of the same shape). */
function factsOf(load: ActivityLoad): LoadFacts {
  const shape = load.shape ?? {};
  const key = `${load.seed}/${load.numPartitions}/${JSON.stringify(shape)}`;
  let facts = partitionsByLoad.get(key);
  if (!facts) {
    const codes = new GtCodes();
    facts = { codes, partitions: Array.from({ length: load.numPartitions }, (_, partition) => new PartitionFacts(load.seed, partition, load.numPartitions, shape, codes)) };
    partitionsByLoad.set(key, facts);
  }
  facts.partitions.forEach((partition, index) => partition.extendTo(partitionShare(load.totalRows, index, load.numPartitions)));
  return facts;
}

export function summarize(load: ActivityLoad): ActivitySummary {
  const facts = factsOf(load);
  const lateDelay = load.shape?.lateFraction ? (load.shape.lateDelayMs ?? 600_000) : Number.POSITIVE_INFINITY;
  const counts: number[] = [];
  let alertRows = 0;
  let alertMagnitudeSum = 0;
  let lateRows = 0;
  facts.partitions.forEach((partition, index) => {
    const share = partitionShare(load.totalRows, index, load.numPartitions);
    for (let row = 0; row < share; row++) {
      const code = partition.gt[row] as number;
      counts[code] = (counts[code] ?? 0) + 1;
      const magnitude = partition.magnitude[row] as number;
      if (magnitude > ALERT_THRESHOLD) {
        alertRows++;
        alertMagnitudeSum += magnitude;
      }
      if ((partition.delay[row] as number) >= lateDelay) lateRows++;
    }
  });
  const countsByGt = new Map<string, number>();
  const stairsByGt = new Map<string, number>();
  let stairsRows = 0;
  counts.forEach((count, code) => {
    const name = facts.codes.names[code] as string;
    if (count === undefined || count === 0) return;
    countsByGt.set(name, count);
    if (name !== "null" && name.includes("stairs")) {
      stairsByGt.set(name, count);
      stairsRows += count;
    }
  });
  return { load, rows: load.totalRows, lateRows, countsByGt, stairsByGt, stairsRows, alertRows, alertMagnitudeSum };
}

/** Says how two per-key counts differ, or undefined when they are equal. */
export function diffCounts(label: string, actual: ReadonlyMap<string, number>, expected: ReadonlyMap<string, number>): string | undefined {
  const keys = new Set([...actual.keys(), ...expected.keys()]);
  const wrong: string[] = [];
  for (const key of [...keys].sort()) {
    if ((actual.get(key) ?? 0) !== (expected.get(key) ?? 0)) wrong.push(`${key}: ${actual.get(key) ?? 0} != ${expected.get(key) ?? 0}`);
  }
  return wrong.length === 0 ? undefined : `${label} differ from plain code (actual != expected): ${wrong.join(", ")}`;
}

/** What one key (a window and gt, or a gt) must show, and when its rows were due. */
export interface KeyExpectation {
  /** Rows that cannot be late: every one must be counted. */
  onTime: number;
  /** Rows created lateDelayMs or more before they arrived: each is counted or dropped by the watermark. */
  late: number;
  /** Due times of the on-time rows, in the order the source made them (row index order). */
  readonly dues: number[];
}

/** The run's source schedule, as the activity source computes it (same arithmetic, so the same due times). */
function scheduleOf(load: ActivityLoad, rowsPerSecond: number, start: number): OpenLoopSchedule {
  const schedule = new OpenLoopSchedule({ rowsPerSecond, rampUpMs: 0, totalRows: load.totalRows });
  schedule.begin(start);
  return schedule;
}

/** Visits every row of a run in index (due) order: its partition's facts, its position there, and its due time. */
function eachRow(load: ActivityLoad, rowsPerSecond: number, start: number, visit: (facts: PartitionFacts, position: number, due: number) => void): LoadFacts {
  const facts = factsOf(load);
  const schedule = scheduleOf(load, rowsPerSecond, start);
  const { numPartitions } = load;
  for (let index = 0; index < load.totalRows; index++) {
    const partition = index % numPartitions;
    visit(facts.partitions[partition] as PartitionFacts, (index - partition) / numPartitions, schedule.dueTime(index));
  }
  return facts;
}

/** The grouped count in plain code, keyed by gt, with each gt's due times (for the per-row latency). */
export function countExpectation(load: ActivityLoad, rowsPerSecond: number, start: number): Map<string, KeyExpectation> {
  const byCode: KeyExpectation[] = [];
  const facts = eachRow(load, rowsPerSecond, start, (partition, position, due) => {
    const code = partition.gt[position] as number;
    const key = (byCode[code] ??= { onTime: 0, late: 0, dues: [] });
    key.onTime++;
    key.dues.push(due);
  });
  const result = new Map<string, KeyExpectation>();
  byCode.forEach((expectation, code) => result.set(facts.codes.names[code] as string, expectation));
  return result;
}

/** `cast(cast(Creation_Time as double)/1000000000 as timestamp)` in ms: Creation_Time as the generator makes it, then Spark's microsecond timestamp. */
export function eventTimeMs(arrivalMs: number, delayMs: number, subMillisecond: number): number {
  const creationTime = (arrivalMs - delayMs) * 1_000_000 + subMillisecond;
  const seconds = creationTime / 1_000_000_000;
  return Math.trunc(seconds * 1_000_000) / 1000;
}

/** The start of the tumbling window of `sizeMs` that holds `time`: Spark's rule (windows start at multiples of the size). */
export function windowStart(time: number, sizeMs: number): number {
  return time - (((time % sizeMs) + sizeMs) % sizeMs);
}

export function windowKey(start: number, gt: unknown): string {
  return `${start}|${gtKey(gt)}`;
}

/**
 * Scenario (b) in plain code: the count per (tumbling window, gt) of a run that started at `start`. Rows whose
 * delay is lateDelayMs or more (the generator's late events) may be dropped by the watermark; the others cannot
 * be (their delay is under the watermark's), so each key must show all its on-time rows and at most its late ones.
 */
export function windowExpectation(load: ActivityLoad, rowsPerSecond: number, start: number, sizeMs: number): Map<string, KeyExpectation> {
  const lateDelay = load.shape?.lateFraction ? (load.shape.lateDelayMs ?? 600_000) : Number.POSITIVE_INFINITY;
  const result = new Map<string, KeyExpectation>();
  const facts = factsOf(load);
  eachRow(load, rowsPerSecond, start, (partition, position, due) => {
    const delay = partition.delay[position] as number;
    const time = eventTimeMs(Math.floor(due), delay, partition.subMillisecond[position] as number);
    const key = `${windowStart(time, sizeMs)}|${facts.codes.names[partition.gt[position] as number] as string}`;
    let expectation = result.get(key);
    if (!expectation) result.set(key, (expectation = { onTime: 0, late: 0, dues: [] }));
    if (delay >= lateDelay) expectation.late++;
    else {
      expectation.onTime++;
      expectation.dues.push(due);
    }
  });
  return result;
}
