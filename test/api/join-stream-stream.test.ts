// Stream-stream joins through the whole runtime on nats-server: every join type against plain code on out-of-order
// batches with late rows, the unmatched rows of outer joins once the watermark passes them, and Spark's refusals at start().
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { AnalysisError, MemoryStream, expr, type Row, type Session, z } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const impressionSchema = z.object({ impressionId: z.number().int(), impressionAdId: z.number().int(), impressionTime: z.date() });
const clickSchema = z.object({ clickId: z.number().int(), clickAdId: z.number().int(), clickTime: z.date() });
const CONDITION = "clickAdId = impressionAdId AND clickTime >= impressionTime AND clickTime <= impressionTime + interval 1 hour";
const LEFT_DELAY = 40 * MINUTE;
const RIGHT_DELAY = 50 * MINUTE;

interface Impression { impressionId: number; impressionAdId: number; impressionTime: number }
interface Click { clickId: number; clickAdId: number; clickTime: number }
interface Batch { impressions: Impression[]; clicks: Click[] }

/**
 * Batches 45 minutes apart whose rows spread over 30 minutes in random order; the watermark delays (40 and 50 minutes)
 * exceed the spread, so no row of a batch is late within it. Each batch after the first also brings late rows (at or
 * below the watermark the batch before left). The last batch's rows are far ahead, on ads nobody else has: their
 * watermark releases every earlier row.
 */
function batches(seed: number): { batches: Batch[]; late: number; kept: { impressions: Impression[]; clicks: Click[] } } {
  const random = mulberry32(seed);
  const result: Batch[] = [];
  const kept = { impressions: [] as Impression[], clicks: [] as Click[] };
  let id = 0;
  let late = 0;
  let watermark = Number.NEGATIVE_INFINITY;
  let latestImpression = Number.NEGATIVE_INFINITY;
  let latestClick = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < 6; index++) {
    const base = index * 45 * MINUTE;
    const batch: Batch = { impressions: [], clicks: [] };
    for (let row = 0; row < 40; row++) {
      const ad = Math.floor(random() * 8);
      const isLate = index > 0 && random() < 0.1;
      const time = isLate ? watermark - Math.floor(random() * HOUR) : base + Math.floor(random() * 30 * MINUTE);
      if (random() < 0.5) {
        const impression = { impressionId: id++, impressionAdId: ad, impressionTime: time };
        batch.impressions.push(impression);
        if (isLate) late++;
        else kept.impressions.push(impression);
      } else {
        const click = { clickId: id++, clickAdId: ad, clickTime: time };
        batch.clicks.push(click);
        if (isLate) late++;
        else kept.clicks.push(click);
      }
    }
    for (const impression of batch.impressions) latestImpression = Math.max(latestImpression, impression.impressionTime);
    for (const click of batch.clicks) latestClick = Math.max(latestClick, click.clickTime);
    watermark = Math.max(watermark, Math.min(latestImpression - LEFT_DELAY, latestClick - RIGHT_DELAY));
    result.push(batch);
  }
  const end = 100 * HOUR;
  result.push({ impressions: [{ impressionId: id++, impressionAdId: -1, impressionTime: end }], clicks: [{ clickId: id + 1, clickAdId: -2, clickTime: end }] });
  return { batches: result, late, kept };
}

function matches(i: Impression, c: Click): boolean {
  return i.impressionAdId === c.clickAdId && c.clickTime >= i.impressionTime && c.clickTime <= i.impressionTime + HOUR;
}

function oracle(how: string, kept: { impressions: Impression[]; clicks: Click[] }): string[] {
  const out: string[] = [];
  if (how === "left_semi") return kept.impressions.filter((i) => kept.clicks.some((c) => matches(i, c))).map((i) => `${i.impressionId}`).sort();
  for (const i of kept.impressions) for (const c of kept.clicks) if (matches(i, c)) out.push(`${i.impressionId}-${c.clickId}`);
  if (how === "left_outer" || how === "full_outer") for (const i of kept.impressions) if (!kept.clicks.some((c) => matches(i, c))) out.push(`${i.impressionId}-null`);
  if (how === "right_outer" || how === "full_outer") for (const c of kept.clicks) if (!kept.impressions.some((i) => matches(i, c))) out.push(`null-${c.clickId}`);
  return out.sort();
}

function describeRows(how: string, rows: readonly Row[]): string[] {
  if (how === "left_semi") return rows.map((row) => `${String(row.impressionId)}`).sort();
  return rows.map((row) => `${String(row.impressionId)}-${String(row.clickId)}`).sort();
}

describe("stream-stream joins on nats-server", () => {
  let session: Session;
  before(() => {
    // Both inputs stay live however slow the machine: neither stops holding the watermark back as idle.
    session = natsSession(server().options, { "rill.shuffle.partitions": 3, "rill.watermark.idleTimeout": "10 minutes" });
  });
  after(async () => {
    await session.stop();
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  for (const how of ["inner", "left_outer", "right_outer", "full_outer", "left_semi"]) {
    it(`${how}: equals plain code on out-of-order batches, late rows dropped and counted, unmatched rows once`, async () => {
      const impressions = new MemoryStream(session, impressionSchema);
      const clicks = new MemoryStream(session, clickSchema);
      const left = impressions.toDF().withWatermark("impressionTime", "40 minutes");
      const right = clicks.toDF().withWatermark("clickTime", "50 minutes");
      const name = `ssjoin_${how}`;
      const query = await left.join(right, expr(CONDITION), how).writeStream.queryName(name).format("memory").outputMode("append").start();
      const data = batches(how.length * 101);
      for (const batch of data.batches) {
        impressions.addData(batch.impressions.map((row) => ({ ...row, impressionTime: new Date(row.impressionTime) })));
        clicks.addData(batch.clicks.map((row) => ({ ...row, clickTime: new Date(row.clickTime) })));
        await query.processAllAvailable();
      }
      const expected = oracle(how, data.kept);
      assert.ok(expected.length > 20, `the data has output (${expected.length})`);
      assert.deepEqual(describeRows(how, session.table(name)), expected);
      assert.ok(data.late > 5);
      assert.match(query.explain(), /join: .* of two streams on \[impressionAdId\] = \[clickAdId\]; left state kept until the watermark passes impressionTime \+ 3600000 ms, right state kept until the watermark passes clickTime \+ 0 ms/);
      const progress = query.recentProgress;
      assert.ok(progress.length < 100, "every epoch's progress is kept");
      const dropped = progress.reduce((sum, epoch) => sum + epoch.stateOperators.reduce((total, operator) => total + operator.numRowsDroppedByWatermark, 0), 0);
      assert.equal(dropped, data.late, "every late row is counted");
    });
  }

  it("joins on equal windows, then counts per window in append mode (Spark allows an aggregation after a join that is not a time interval join)", async () => {
    const impressions = new MemoryStream(session, impressionSchema);
    const clicks = new MemoryStream(session, clickSchema);
    const left = impressions.toDF().withWatermark("impressionTime", "10 minutes").selectExpr("impressionAdId as adId", "window(impressionTime, '10 minutes') as window", "impressionId");
    const right = clicks.toDF().withWatermark("clickTime", "10 minutes").selectExpr("clickAdId as adId", "window(clickTime, '10 minutes') as window", "clickId");
    const joined = left.join(right, ["adId", "window"]);
    const query = await joined.groupBy("window").count().writeStream.queryName("ssjoin_windows").format("memory").outputMode("append").start();
    const at = (minutes: number) => new Date(minutes * MINUTE);
    impressions.addData([{ impressionId: 1, impressionAdId: 1, impressionTime: at(1) }, { impressionId: 2, impressionAdId: 2, impressionTime: at(3) }, { impressionId: 3, impressionAdId: 1, impressionTime: at(12) }]);
    clicks.addData([{ clickId: 10, clickAdId: 1, clickTime: at(5) }, { clickId: 11, clickAdId: 1, clickTime: at(9) }, { clickId: 12, clickAdId: 2, clickTime: at(14) }, { clickId: 13, clickAdId: 1, clickTime: at(15) }]);
    await query.processAllAvailable();
    impressions.addData([{ impressionId: 9, impressionAdId: 9, impressionTime: at(60) }]);
    clicks.addData([{ clickId: 19, clickAdId: 9, clickTime: at(60) }]);
    await query.processAllAvailable();
    // The second batch's watermark (50 minutes) closes the windows [0, 10) and [10, 20); the aggregation needs one more
    // step of the watermark past them, which the second batch gives.
    impressions.addData([{ impressionId: 20, impressionAdId: 9, impressionTime: at(120) }]);
    clicks.addData([{ clickId: 21, clickAdId: 9, clickTime: at(120) }]);
    await query.processAllAvailable();
    const counts = session.table("ssjoin_windows").map((row) => `${(row.window as { start: number }).start / MINUTE} ${String(row.count)}`).sort();
    assert.deepEqual(counts, ["0 2", "10 1", "60 1"]);
  });

  it("keeps its state flat over a long run: the watermark evicts what the time range no longer needs", async () => {
    const impressions = new MemoryStream(session, impressionSchema);
    const clicks = new MemoryStream(session, clickSchema);
    const left = impressions.toDF().withWatermark("impressionTime", "10 minutes");
    const right = clicks.toDF().withWatermark("clickTime", "10 minutes");
    const query = await left.join(right, expr(CONDITION), "full_outer").writeStream.queryName("ssjoin_flat").format("memory").outputMode("append").start();
    const sizes: number[] = [];
    let id = 0;
    let rowsIn = 0;
    // 40 batches of 100 rows a side, one row a side every 30 s: 50 minutes a batch, 2,000 minutes in all.
    for (let batch = 0; batch < 40; batch++) {
      const base = batch * 50 * MINUTE;
      impressions.addData(Array.from({ length: 100 }, (_, index) => ({ impressionId: id++, impressionAdId: index % 10, impressionTime: new Date(base + index * 30_000) })));
      clicks.addData(Array.from({ length: 100 }, (_, index) => ({ clickId: id++, clickAdId: index % 10, clickTime: new Date(base + index * 30_000 + 5 * MINUTE) })));
      rowsIn += 200;
      await query.processAllAvailable();
      sizes.push(query.lastProgress?.stateOperators.reduce((sum, operator) => sum + operator.numRowsTotal, 0) ?? -1);
    }
    // An impression waits for the hour of its range plus the 10 minutes of delay (about 140 rows), a click for the
    // delay (about 20): a few hundred rows at most, whatever the length of the run.
    const settled = sizes.slice(5);
    assert.ok(Math.max(...settled) <= 400, `bounded after ${rowsIn} rows: ${sizes.join(", ")}`);
    assert.ok(Math.max(...settled) - Math.min(...settled) <= 40, `flat: ${sizes.join(", ")}`);
    assert.ok(session.table("ssjoin_flat").length >= 4000, "every impression joined or left with nulls");
  });

  describe("refused at start() with Spark's rule, naming the join", () => {
    const start = (frame: ReturnType<MemoryStream<typeof impressionSchema>["toDF"]>, mode: "append" | "update" | "complete" = "append") => frame.writeStream.queryName(`refused_${mode}`).format("memory").outputMode(mode).start();
    const refused = async (promise: Promise<unknown>, pattern: RegExp) => assert.rejects(promise, (error: unknown) => error instanceof AnalysisError && pattern.test(error.message) && /stream-stream join\(/.test(error.message));
    let left: ReturnType<MemoryStream<typeof impressionSchema>["toDF"]>;
    let right: ReturnType<MemoryStream<typeof clickSchema>["toDF"]>;
    before(() => {
      left = new MemoryStream(session, impressionSchema).toDF();
      right = new MemoryStream(session, clickSchema).toDF();
    });

    it("any output mode but append", async () => {
      await refused(start(left.join(right, expr("clickAdId = impressionAdId")), "update"), /^Join between two streaming DataFrames\/Datasets is not supported in Update output mode, only in Append output mode/);
      await refused(start(left.join(right, expr("clickAdId = impressionAdId")).groupBy("clickAdId").count(), "complete"), /in Complete output mode, only in Append output mode/);
    });

    it("outer and semi joins without the watermark and time range that make an unmatched row final", async () => {
      await refused(start(left.join(right, expr("clickAdId = impressionAdId"), "left_outer")), /^Stream-stream LeftOuter join between two streaming DataFrame\/Datasets is not supported without a watermark in the join keys, or a watermark on the nullable side and an appropriate range condition/);
      // The range bounds the left rows, but the right side (the nullable one) has no watermark.
      await refused(start(left.withWatermark("impressionTime", "1 minute").join(right, expr(CONDITION), "left_outer")), /Stream-stream LeftOuter join .* a watermark on the right input/);
      await refused(start(left.join(right.withWatermark("clickTime", "1 minute"), expr(CONDITION), "right_outer")), /Stream-stream RightOuter join/);
      await refused(start(left.withWatermark("impressionTime", "1 minute").join(right.withWatermark("clickTime", "1 minute"), expr("clickAdId = impressionAdId AND clickTime >= impressionTime"), "full_outer")), /Stream-stream FullOuter join/);
      await refused(start(left.join(right, expr("clickAdId = impressionAdId"), "left_semi")), /Stream-stream LeftSemi join/);
    });

    it("left anti joins, joins without an equality, and stateful operators after a time interval join", async () => {
      await refused(start(left.join(right, expr("clickAdId = impressionAdId"), "left_anti")), /^Left anti joins with a streaming DataFrame\/Dataset on the right are not supported/);
      await refused(start(left.join(right, expr("clickTime >= impressionTime"))), /^Stream-stream join without equality predicate is not supported/);
      await refused(start(left.crossJoin(right)), /^Stream-stream join without equality predicate is not supported/);
      const interval = left.withWatermark("impressionTime", "1 minute").join(right.withWatermark("clickTime", "1 minute"), expr(CONDITION));
      await refused(start(interval.groupBy("clickAdId").count()), /^Detected pattern of possible 'correctness' issue due to global watermark/);
      await refused(start(interval.dropDuplicates(["clickId"])), /correctness' issue/);
      await refused(start(left.dropDuplicates(["impressionId"]).join(right, expr("clickAdId = impressionAdId"))), /not supported by Rill yet .* the left input has deduplicate/);
    });
  });
});
