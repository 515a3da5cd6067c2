// Per-row cost of the stream-stream join operator (src/operators/join-stream.ts): impressions and clicks of many ads,
// joined on the ad with a one-hour time range, as the analysis of a real withWatermark + join plan builds it. Each call
// makes FRAME_ROWS new rows (later in event time than the call before), feeds them, tagged as the exchange delivers them,
// and raises the watermark, so the buffered state stays at its steady size and the eviction runs as in a live query.
import assert from "node:assert/strict";
import type { SourceProvider } from "../../src/connectors/sources/source.ts";
import type { Row, Schema } from "../../src/core/types.ts";
import { parseExpression } from "../../src/expr/parser.ts";
import { JOIN_KEY, JOIN_SIDE } from "../../src/operators/join-stream.ts";
import { chain, type Emit, type Operator } from "../../src/operators/operator.ts";
import { analyze } from "../../src/plan/analyzer.ts";
import type { JoinType, LogicalPlan } from "../../src/plan/logical.ts";
import { FRAME_ROWS, type MicroTask } from "./harness.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** Ads (join keys), one click per CLICK_EVERY rows, one row per virtual second. */
const ADS = 500;
const CLICK_EVERY = 8;
const CONDITION = "clickAdId = adId AND clickTime >= impressionTime AND clickTime <= impressionTime + interval 1 hour";

function source(name: string, schema: Schema): LogicalPlan {
  const provider = { format: "bench", schema, numPartitions: 1, guarantee: "exactly-once", description: name, createReader: () => { throw new Error("not read"); } } satisfies SourceProvider;
  return { kind: "source", describe: name, create: () => provider };
}

const impressionSchema: Schema = { fields: [{ name: "impressionId", type: "long", nullable: false }, { name: "adId", type: "long", nullable: false }, { name: "impressionTime", type: "timestamp", nullable: false }] };
const clickSchema: Schema = { fields: [{ name: "clickId", type: "long", nullable: false }, { name: "clickAdId", type: "long", nullable: false }, { name: "clickTime", type: "timestamp", nullable: false }] };

/** The join operator of impressions.withWatermark(10 min).join(clicks.withWatermark(20 min), CONDITION, how). */
export function streamJoinOperator(how: JoinType): Operator {
  const plan = analyze({
    kind: "join",
    child: { kind: "watermark", child: source("impressions", impressionSchema), column: "impressionTime", delay: "10 minutes" },
    other: { kind: "watermark", child: source("clicks", clickSchema), column: "clickTime", delay: "20 minutes" },
    joinType: how,
    on: { kind: "expression", condition: parseExpression(CONDITION) },
    static: undefined,
  }, { outputMode: "append", maxFutureMs: Number.POSITIVE_INFINITY });
  const step = plan.steps[0];
  if (step?.name !== "join") throw new Error("the analysis gave no join step");
  return step.create("bench.stream-join", 0);
}

/** The input as it reaches the join: rows in event-time order (one a second), every CLICK_EVERY-th a click up to 40 minutes after an impression of its ad. */
export class ImpressionsAndClicks {
  private index = 0;
  private random = 1;

  constructor(private readonly start = 1_700_000_000_000) {}

  private next(): number {
    // A small LCG: the same rows in every process.
    this.random = (this.random * 1_103_515_245 + 12_345) % 2_147_483_648;
    return this.random / 2_147_483_648;
  }

  /** The next FRAME_ROWS rows, tagged with their side and join key. */
  frame(): Row[] {
    const rows: Row[] = [];
    for (let count = 0; count < FRAME_ROWS; count++) {
      const index = this.index++;
      const time = this.start + index * SECOND;
      const ad = Math.floor(this.next() * ADS);
      if (index % CLICK_EVERY === CLICK_EVERY - 1) rows.push({ clickId: index, clickAdId: ad, clickTime: time - Math.floor(this.next() * 40 * MINUTE), [JOIN_SIDE]: 1, [JOIN_KEY]: `n${ad}\u0000` });
      else rows.push({ impressionId: index, adId: ad, impressionTime: time, [JOIN_SIDE]: 0, [JOIN_KEY]: `n${ad}\u0000` });
    }
    return rows;
  }

  /** The global watermark after the rows so far: the minimum of each side's latest time minus its delay. */
  watermark(): number {
    const latest = this.start + (this.index - 1) * SECOND;
    return Math.min(latest - 10 * MINUTE, latest - 40 * MINUTE - 20 * MINUTE);
  }
}

function matches(l: Row, r: Row): boolean {
  const lt = l.impressionTime as number;
  const rt = r.clickTime as number;
  return l.adId === r.clickAdId && rt >= lt && rt <= lt + HOUR;
}

/** What the join gives for rows that are all on time: plain nested loops. */
function oracle(how: JoinType, left: readonly Row[], right: readonly Row[]): string[] {
  const visible = (row: Row): Row => Object.fromEntries(Object.entries(row).filter(([key]) => !key.startsWith("__rill")));
  const out: Row[] = [];
  const byAd = new Map<unknown, Row[]>();
  for (const r of right) byAd.set(r.clickAdId, [...(byAd.get(r.clickAdId) ?? []), r]);
  for (const l of left) {
    const candidates = (byAd.get(l.adId) ?? []).filter((r) => matches(l, r));
    for (const r of candidates) out.push({ ...visible(l), ...visible(r) });
    if (how === "left_outer" && candidates.length === 0) out.push({ ...visible(l), clickId: null, clickAdId: null, clickTime: null });
  }
  return sorted(out);
}

function sorted(rows: readonly Row[]): string[] {
  return rows.map((row) => JSON.stringify(Object.keys(row).sort().map((key) => [key, row[key]]))).sort();
}

function isLate(row: Row, watermark: number): boolean {
  const time = (row[JOIN_SIDE] === 0 ? row.impressionTime : row.clickTime) as number;
  return time <= watermark;
}

/** The join over FRAME_ROWS new rows per call, the watermark raised after each call. */
export function streamJoinTask(how: "inner" | "left_outer"): MicroTask {
  let count = 0;
  const countRow: Emit = () => count++;
  const join = streamJoinOperator(how);
  const input = chain([join], countRow, { at: -1 });
  const rows = new ImpressionsAndClicks();
  return {
    name: `StreamJoinOperator impressions join clicks on ad and a 1-hour range, ${how} (${ADS} ads, 1 click in ${CLICK_EVERY} rows)`,
    rowsPerCall: FRAME_ROWS,
    check: () => {
      const fresh = streamJoinOperator(how);
      const out: Row[] = [];
      const freshInput = chain([fresh], (row) => out.push(row), { at: -1 });
      const data = new ImpressionsAndClicks();
      const left: Row[] = [];
      const right: Row[] = [];
      let watermark = Number.NEGATIVE_INFINITY;
      for (let call = 0; call < 120; call++) {
        for (const row of data.frame()) {
          if (!isLate(row, watermark)) (row[JOIN_SIDE] === 0 ? left : right).push(row);
          freshInput(row);
        }
        watermark = data.watermark();
        fresh.onWatermark?.(watermark);
      }
      const stateBefore = fresh.stateRows?.() ?? 0;
      assert.ok(stateBefore > 0 && stateBefore < 120 * FRAME_ROWS / 2, `the watermark bounds the state (${stateBefore} rows)`);
      fresh.onWatermark?.(watermark + 10 * HOUR);
      const expected = oracle(how, left, right);
      assert.ok(expected.length > 1000, `the data has matches (${expected.length})`);
      assert.deepEqual(sorted(out), expected);
      assert.equal(fresh.stateRows?.(), 0);
    },
    run: () => {
      const before = count;
      const frame = rows.frame();
      for (let index = 0; index < frame.length; index++) input(frame[index] as Row);
      join.onWatermark?.(rows.watermark());
      return count - before;
    },
  };
}
