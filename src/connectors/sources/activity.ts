// The activity data generator (Spark's heterogeneity activity-recognition data, seeded) and the `activity` source format.
//
// @example
//   const rows = generateActivity({ count: 1000, seed: 7, duplicateFraction: 0.01 });
//   session.readStream.format("activity").option("rowsPerSecond", "5000").option("seed", "7").load()
import { z } from "zod";
import { schemaFromZod } from "../../core/zod-schema.ts";
import type { PositionalRow, Row } from "../../core/types.ts";
import { ConnectorOptions, rejectUserSchema } from "../options.ts";
import { OpenLoopReader, OpenLoopSchedule, wakeOption } from "./open-loop.ts";
import type { PositionalSourceReader, SourceProvider, SourceReader } from "./source.ts";
import type { SourceRequest } from "./request.ts";
import { ActivityHistory } from "./activity-history.ts";

export const activitySchema = z.object({
  Arrival_Time: z.number().int(),
  // Nanoseconds since the epoch pass 2^53: a bigint, so that every value is exact (a long, src/core/long.ts).
  Creation_Time: z.bigint(),
  Device: z.string(),
  Index: z.number().int(),
  Model: z.string(),
  User: z.string(),
  gt: z.string().nullable(),
  x: z.number(),
  y: z.number(),
  z: z.number(),
});

export type ActivityRow = z.infer<typeof activitySchema>;

export interface ActivityOptions {
  /** Seed of the generator; the same seed gives the same rows in the same order. Default 1. */
  readonly seed?: number;
  /** Users "a", "b", ... (at most 26). Default 9, as the real data. */
  readonly users?: number;
  /** Devices, each with a model and an owner. Default 18. */
  readonly devices?: number;
  /** Fraction of events whose Creation_Time is moved back by up to maxDelayMs. Default 0. */
  readonly outOfOrderFraction?: number;
  /** Default 5000. */
  readonly maxDelayMs?: number;
  /** Fraction of events created lateDelayMs to 2*lateDelayMs before they arrive. Default 0. */
  readonly lateFraction?: number;
  /** Default 600000 (10 minutes). */
  readonly lateDelayMs?: number;
  /** Fraction of rows that re-emit an earlier event identically. Default 0. */
  readonly duplicateFraction?: number;
  /** This generator's share of a partitioned source: Index values are count*numPartitions+partition, so they stay unique per device. */
  readonly partition?: number;
  readonly numPartitions?: number;
}

export const ACTIVITY_MODELS = ["nexus4", "s3", "samsungold"] as const;
export const ACTIVITY_LABELS = ["stand", "sit", "walk", "bike", "stairsup", "stairsdown"] as const;

/** How often a user's activity changes, and how often the new label is missing (null in the real data). */
const LABEL_CHANGE_PROBABILITY = 0.002;
const NULL_LABEL_PROBABILITY = 0.08;
const SPIKE_PROBABILITY = 0.01;
const DUPLICATE_HISTORY = 64;
/** Nanoseconds since the epoch are kept to 256-512 ns by a double: staying 1 µs short of the next ms keeps rounding from carrying into it. */
const SUB_MILLISECOND_NANOS = 999_000;

/** mulberry32: a small, fast 32-bit PRNG; uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Makes activity rows one at a time; the caller chooses each row's Arrival_Time. */
export class ActivityGenerator {
  private readonly random: () => number;
  private readonly users: string[];
  private readonly labels: Array<string | null>;
  private readonly deviceCounts: number[];
  /** The latest events, from which duplicates are drawn, as values (activity-history.ts); next() and nextValues() share it. */
  private readonly history = new ActivityHistory(DUPLICATE_HISTORY);
  private readonly options: Required<ActivityOptions>;
  /** Each device's name (`nexus4_1`, ...), made once: the same string every row of the device carries. */
  private readonly deviceNames: string[];
  /** The last whole millisecond of creation and its nanoseconds as a bigint: consecutive rows mostly share it. */
  private lastCreationMs = Number.NaN;
  private lastCreationNanos = 0n;

  constructor(options: ActivityOptions = {}) {
    this.options = {
      seed: options.seed ?? 1,
      users: options.users ?? 9,
      devices: options.devices ?? 18,
      outOfOrderFraction: options.outOfOrderFraction ?? 0,
      maxDelayMs: options.maxDelayMs ?? 5000,
      lateFraction: options.lateFraction ?? 0,
      lateDelayMs: options.lateDelayMs ?? 600_000,
      duplicateFraction: options.duplicateFraction ?? 0,
      partition: options.partition ?? 0,
      numPartitions: options.numPartitions ?? 1,
    };
    const { seed, partition, users, devices } = this.options;
    this.random = mulberry32(seed ^ Math.imul(partition + 1, 0x9e3779b9));
    this.users = Array.from({ length: Math.min(26, Math.max(1, users)) }, (_, index) => String.fromCharCode(97 + index));
    this.labels = this.users.map(() => this.label());
    this.deviceCounts = new Array<number>(Math.max(1, devices)).fill(0);
    this.deviceNames = this.deviceCounts.map((_, device) => `${ACTIVITY_MODELS[device % ACTIVITY_MODELS.length] as string}_${Math.floor(device / ACTIVITY_MODELS.length) + 1}`);
  }

  next(arrivalMs: number): ActivityRow {
    const random = this.random;
    if (this.history.size > 0 && random() < this.options.duplicateFraction) {
      return this.history.named(Math.floor(random() * this.history.size));
    }
    const device = Math.floor(random() * this.deviceCounts.length);
    const count = this.deviceCounts[device] ?? 0;
    this.deviceCounts[device] = count + 1;
    const userIndex = device % this.users.length;
    if (random() < LABEL_CHANGE_PROBABILITY) this.labels[userIndex] = this.label();
    const model = ACTIVITY_MODELS[device % ACTIVITY_MODELS.length] as string;
    const arrival = Math.floor(arrivalMs);
    const createdMs = arrival - this.delay();
    const createdSubNanos = Math.floor(random() * SUB_MILLISECOND_NANOS);
    const row: ActivityRow = {
      Arrival_Time: arrival,
      Creation_Time: this.creationNanos(createdMs) + BigInt(createdSubNanos),
      Device: this.deviceNames[device] as string,
      Index: count * this.options.numPartitions + this.options.partition,
      Model: model,
      User: this.users[userIndex] as string,
      gt: this.labels[userIndex] ?? null,
      x: this.acceleration(),
      y: this.acceleration(),
      z: this.acceleration(),
    };
    if (this.options.duplicateFraction > 0) this.history.push(arrival, createdMs, createdSubNanos, row.Device, row.Index, model, row.User, row.gt, row.x, row.y, row.z);
    return row;
  }

  /**
   * next()'s row as an array in the schema's column order (Arrival_Time, Creation_Time, Device, Index, Model, User, gt,
   * x, y, z), with the same draws in the same order: the same seed gives the same rows either way. Kept in step with
   * next() by test/connectors/activity-positional.test.ts.
   */
  nextValues(arrivalMs: number): PositionalRow {
    const random = this.random;
    if (this.history.size > 0 && random() < this.options.duplicateFraction) {
      return this.history.values(Math.floor(random() * this.history.size));
    }
    const device = Math.floor(random() * this.deviceCounts.length);
    const count = this.deviceCounts[device] ?? 0;
    this.deviceCounts[device] = count + 1;
    const userIndex = device % this.users.length;
    if (random() < LABEL_CHANGE_PROBABILITY) this.labels[userIndex] = this.label();
    const model = ACTIVITY_MODELS[device % ACTIVITY_MODELS.length] as string;
    const arrival = Math.floor(arrivalMs);
    const createdMs = arrival - this.delay();
    const createdSubNanos = Math.floor(random() * SUB_MILLISECOND_NANOS);
    const deviceName = this.deviceNames[device] as string;
    const index = count * this.options.numPartitions + this.options.partition;
    const user = this.users[userIndex] as string;
    const gt = this.labels[userIndex] ?? null;
    const x = this.acceleration();
    const y = this.acceleration();
    const z = this.acceleration();
    if (this.options.duplicateFraction > 0) this.history.push(arrival, createdMs, createdSubNanos, deviceName, index, model, user, gt, x, y, z);
    return [arrival, this.creationNanos(createdMs) + BigInt(createdSubNanos), deviceName, index, model, user, gt, x, y, z];
  }

  /** `BigInt(ms) * 1_000_000n`, kept for the last ms asked (at 10,000 rows/s ten rows share one): two bigints a row fewer. */
  private creationNanos(ms: number): bigint {
    if (ms !== this.lastCreationMs) {
      this.lastCreationMs = ms;
      this.lastCreationNanos = BigInt(ms) * 1_000_000n;
    }
    return this.lastCreationNanos;
  }

  /** Whole milliseconds between creation and arrival: none for most events. */
  private delay(): number {
    const { outOfOrderFraction, maxDelayMs, lateFraction, lateDelayMs } = this.options;
    const draw = this.random();
    if (draw < lateFraction) return lateDelayMs + Math.floor(this.random() * lateDelayMs);
    if (draw < lateFraction + outOfOrderFraction) return 1 + Math.floor(this.random() * maxDelayMs);
    return 0;
  }

  private label(): string | null {
    if (this.random() < NULL_LABEL_PROBABILITY) return null;
    return ACTIVITY_LABELS[Math.floor(this.random() * ACTIVITY_LABELS.length)] as string;
  }

  /** Around 0 (a Box-Muller normal, sd 0.3), with an occasional spike of up to 15 either way. */
  private acceleration(): number {
    const random = this.random;
    if (random() < SPIKE_PROBABILITY) return (random() < 0.5 ? -1 : 1) * (5 + random() * 10);
    return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()) * 0.3;
  }
}

export interface GenerateActivityOptions extends ActivityOptions {
  readonly count: number;
  /** Arrival_Time of the first row. Default 1700000000000 (fixed, so that output is reproducible). */
  readonly startMs?: number;
  /** Spacing of Arrival_Time. Default 1000. */
  readonly rowsPerSecond?: number;
}

/** `count` activity rows, arriving at rowsPerSecond from startMs; deterministic for a seed. */
export function generateActivity(options: GenerateActivityOptions): ActivityRow[] {
  const generator = new ActivityGenerator(options);
  const startMs = options.startMs ?? 1_700_000_000_000;
  const rowsPerSecond = options.rowsPerSecond ?? 1000;
  return Array.from({ length: options.count }, (_, index) => generator.next(startMs + (index * 1000) / rowsPerSecond));
}

const OPTIONS = [
  "rowsPerSecond", "numPartitions", "seed", "totalRows", "rampUpTime", "wake", "busyWait", "users", "devices",
  "outOfOrderFraction", "maxDelayMs", "lateFraction", "lateDelayMs", "duplicateFraction",
];

export class ActivitySourceProvider implements SourceProvider {
  readonly format = "activity";
  readonly schema = schemaFromZod(activitySchema);
  readonly guarantee = "exactly-once" as const;
  readonly numPartitions: number;
  readonly description: string;
  private readonly schedule: OpenLoopSchedule;
  private readonly generatorOptions: ActivityOptions;

  constructor(request: SourceRequest) {
    rejectUserSchema("activity", request.schema);
    const options = new ConnectorOptions("the activity source", request.options, OPTIONS);
    const rowsPerSecond = options.number("rowsPerSecond", 1000, { min: 0, minExclusive: true });
    this.numPartitions = options.number("numPartitions", 1, { min: 1, max: 1024, integer: true });
    const totalRows = options.has("totalRows") ? options.number("totalRows", 0, { min: 0, integer: true }) : undefined;
    const outOfOrderFraction = options.fraction("outOfOrderFraction", 0);
    const lateFraction = options.fraction("lateFraction", 0);
    if (outOfOrderFraction + lateFraction > 1) {
      throw options.invalid("lateFraction", String(lateFraction), `at most 1 - outOfOrderFraction (${1 - outOfOrderFraction})`);
    }
    this.generatorOptions = {
      seed: options.number("seed", 1, { min: 0, max: 0xffffffff, integer: true }),
      users: options.number("users", 9, { min: 1, max: 26, integer: true }),
      devices: options.number("devices", 18, { min: 1, max: 100_000, integer: true }),
      outOfOrderFraction,
      maxDelayMs: options.number("maxDelayMs", 5000, { min: 1, integer: true }),
      lateFraction,
      lateDelayMs: options.number("lateDelayMs", 600_000, { min: 1, integer: true }),
      duplicateFraction: options.fraction("duplicateFraction", 0, 0.5),
    };
    const rampUpMs = options.duration("rampUpTime", 0);
    const wake = wakeOption(options, "the activity source");
    this.schedule = new OpenLoopSchedule({ rowsPerSecond, rampUpMs, totalRows, wake });
    const total = totalRows === undefined ? "" : `, totalRows=${totalRows}`;
    this.description = `ActivityStream(rowsPerSecond=${rowsPerSecond}, numPartitions=${this.numPartitions}, seed=${this.generatorOptions.seed}${total}${wake === "timer" ? "" : `, wake=${wake}`})`;
  }

  createReader(partition: number): SourceReader {
    const generator = new ActivityGenerator({ ...this.generatorOptions, partition, numPartitions: this.numPartitions });
    return new ActivityReader<Row>(this.schedule, (dueMs) => generator.next(dueMs));
  }

  /** Rows by position: the generator makes each row as an array in the schema's order (nextValues). */
  createPositionalReader(partition: number): PositionalSourceReader {
    const generator = new ActivityGenerator({ ...this.generatorOptions, partition, numPartitions: this.numPartitions });
    return new ActivityReader<PositionalRow>(this.schedule, (dueMs) => generator.nextValues(dueMs));
  }
}

/** The activity source's reader: rows named (`next`) or by position (`nextValues`), one generator a partition. */
class ActivityReader<R> extends OpenLoopReader<R> {
  constructor(schedule: OpenLoopSchedule, private readonly make: (dueMs: number) => R) {
    super(schedule);
  }

  protected makeRow(_index: number, dueMs: number): R {
    return this.make(dueMs);
  }

  /** The generator's rows depend on the ones before (duplicates, per-device indexes): replay them to reach the same state. */
  protected override skipRows(partition: number, numPartitions: number, count: number): void {
    for (let offset = 0; offset < count; offset++) this.make(this.dueTime(partition + offset * numPartitions));
  }
}
