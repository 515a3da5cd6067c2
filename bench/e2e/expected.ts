// What each query must give, computed in plain code over the very rows the activity source generates.
//
// The source splits row indexes over partitions (index i goes to partition i % n) and each
// partition has its own seeded generator; a row's values other than Arrival_Time and Creation_Time
// do not depend on when it was due, so the same generators replayed here give the same rows. A run
// of N rows reads a prefix of each partition's rows, so the facts the checks need are generated
// once per partition, as far as the largest run needs, and summed per run.
import { ActivityGenerator, type ActivityRow } from "../../src/connectors/sources/activity.ts";
import { partitionShare } from "../../src/connectors/sources/open-loop.ts";

export interface ActivityLoad {
  readonly seed: number;
  readonly numPartitions: number;
  readonly totalRows: number;
}

/** The facts every scenario's check needs. */
export interface ActivitySummary {
  readonly rows: number;
  /** Rows per gt (null as "null"): the grouped count's answer. */
  readonly countsByGt: ReadonlyMap<string, number>;
  /** Scenario (a): rows whose gt contains "stairs", per gt. */
  readonly stairsByGt: ReadonlyMap<string, number>;
  readonly stairsRows: number;
  /** Scenario (d): rows whose acceleration magnitude exceeds ALERT_THRESHOLD, and the sum of those magnitudes. */
  readonly alertRows: number;
  readonly alertMagnitudeSum: number;
}

/** The main job's default alert threshold (src/cli/main.ts). */
export const ALERT_THRESHOLD = 12;

export function gtKey(value: unknown): string {
  return value === null || value === undefined ? "null" : String(value);
}

/** Scenario (a) in plain code: the seed's stairs filter and its four columns. */
export function selectStairs(row: ActivityRow): { gt: string | null; Model: string; Arrival_Time: number; Creation_Time: number } | undefined {
  if (row.gt === null || !row.gt.includes("stairs")) return undefined;
  return { gt: row.gt, Model: row.Model, Arrival_Time: row.Arrival_Time, Creation_Time: row.Creation_Time };
}

export function magnitudeOf(row: ActivityRow): number {
  return Math.sqrt(row.x * row.x + row.y * row.y + row.z * row.z);
}

/** One partition's rows, reduced to what the checks read: a gt code and the magnitude. */
class PartitionFacts {
  length = 0;
  gt = new Uint8Array(0);
  magnitude = new Float64Array(0);
  private readonly generator: ActivityGenerator;

  constructor(seed: number, partition: number, numPartitions: number, private readonly codes: GtCodes) {
    this.generator = new ActivityGenerator({ seed, partition, numPartitions });
  }

  extendTo(rows: number): void {
    if (rows <= this.length) return;
    if (rows > this.gt.length) {
      const capacity = Math.max(rows, this.gt.length * 2, 1024);
      const gt = new Uint8Array(capacity);
      gt.set(this.gt);
      const magnitude = new Float64Array(capacity);
      magnitude.set(this.magnitude);
      this.gt = gt;
      this.magnitude = magnitude;
    }
    for (let index = this.length; index < rows; index++) {
      const row = this.generator.next(0);
      this.gt[index] = this.codes.of(gtKey(row.gt));
      this.magnitude[index] = magnitudeOf(row);
    }
    this.length = rows;
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

const partitionsByLoad = new Map<string, { codes: GtCodes; partitions: PartitionFacts[] }>();

export function summarize(load: ActivityLoad): ActivitySummary {
  const key = `${load.seed}/${load.numPartitions}`;
  let facts = partitionsByLoad.get(key);
  if (!facts) {
    const codes = new GtCodes();
    facts = { codes, partitions: Array.from({ length: load.numPartitions }, (_, partition) => new PartitionFacts(load.seed, partition, load.numPartitions, codes)) };
    partitionsByLoad.set(key, facts);
  }
  const counts: number[] = [];
  let alertRows = 0;
  let alertMagnitudeSum = 0;
  facts.partitions.forEach((partition, index) => {
    const share = partitionShare(load.totalRows, index, load.numPartitions);
    partition.extendTo(share);
    for (let row = 0; row < share; row++) {
      const code = partition.gt[row] as number;
      counts[code] = (counts[code] ?? 0) + 1;
      const magnitude = partition.magnitude[row] as number;
      if (magnitude > ALERT_THRESHOLD) {
        alertRows++;
        alertMagnitudeSum += magnitude;
      }
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
  return { rows: load.totalRows, countsByGt, stairsByGt, stairsRows, alertRows, alertMagnitudeSum };
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
