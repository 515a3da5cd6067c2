// The sorted per-key buffer of the stream-stream join (join-stream-buffer.ts) against plain code, and the join operator
// at the places the buffer's binary searches decide: the exact ends of the time range, equal times, the eviction order,
// and null keys (which match nothing, as in Spark).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { MemoryStream, expr, z, type DataFrame, type Row } from "../../src/index.ts";
import { expiredCount, firstAtLeast, insertSorted, type Buffered } from "../../src/operators/join-stream-buffer.ts";
import { chain, type Operator } from "../../src/operators/operator.ts";
import { analyze } from "../../src/plan/analyzer.ts";
import { inProcessSession } from "../helpers/session.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe("the sorted buffer of one join key", () => {
  it("keeps rows sorted by until, equal ones in arrival order, for any arrival order", () => {
    const random = mulberry32(17);
    for (let round = 0; round < 50; round++) {
      const list: Buffered[] = [];
      const arrived: Buffered[] = [];
      for (let index = 0; index < 40; index++) {
        const until = random() < 0.1 ? Number.POSITIVE_INFINITY : Math.floor(random() * 10);
        const entry = { row: { index }, until, matched: false };
        arrived.push(entry);
        insertSorted(list, entry);
      }
      // Array.prototype.sort is stable: the plain-code order of (until, arrival).
      assert.deepEqual(list, [...arrived].sort((a, b) => (a.until === b.until ? 0 : a.until < b.until ? -1 : 1)));
    }
  });

  it("expires exactly the rows whose until is below the watermark", () => {
    const list: Buffered[] = [5, 5, 7, 9, 9, Number.POSITIVE_INFINITY].map((until, index) => ({ row: { index }, until, matched: false }));
    const plain = (watermark: number) => list.filter((entry) => watermark > entry.until).length;
    for (const watermark of [Number.NEGATIVE_INFINITY, 4, 5, 5.5, 6, 7, 8, 9, 10, 1e15, Number.POSITIVE_INFINITY]) {
      assert.equal(expiredCount(list, watermark), plain(watermark), `watermark ${watermark}`);
    }
    assert.equal(expiredCount([], 10), 0);
  });

  it("finds the first row whose until is at least a time, at and between the ends", () => {
    const list: Buffered[] = [1, 3, 3, 3, 8].map((until, index) => ({ row: { index }, until, matched: false }));
    for (const time of [0, 1, 2, 3, 4, 8, 9]) assert.equal(firstAtLeast(list, time), list.filter((entry) => entry.until < time).length, `time ${time}`);
  });
});

const session = inProcessSession();
after(async () => {
  await session.stop();
});
const impressions = new MemoryStream(session, z.object({ impressionId: z.number().int(), adId: z.number().int().nullable(), impressionTime: z.date() }));
const clicks = new MemoryStream(session, z.object({ clickId: z.number().int(), clickAdId: z.number().int().nullable(), clickTime: z.date() }));

function joined(how: string): DataFrame {
  const left = impressions.toDF().withWatermark("impressionTime", "10 minutes");
  const right = clicks.toDF().withWatermark("clickTime", "20 minutes");
  return left.join(right, expr("clickAdId = adId AND clickTime >= impressionTime AND clickTime <= impressionTime + interval 1 hour"), how);
}

/** The join operator of a query, fed through each side's own steps (which tag the side and the key). */
function harness(how: string): { join: Operator; output: Row[]; left: (row: Row) => void; right: (row: Row) => void } {
  const plan = analyze(joined(how).plan, { outputMode: "append", maxFutureMs: Number.POSITIVE_INFINITY });
  const join = (plan.steps[0] as NonNullable<typeof plan.steps[0]>).create("join.p0", 0);
  const output: Row[] = [];
  const into = chain([join], (row) => output.push(row));
  const [left, right] = (plan.branches ?? []).map((branch) => chain(branch.steps.filter((step) => step.name !== "watermark").map((step, index) => step.create(`side.${index}`, 0)), into));
  return { join, output, left: left as (row: Row) => void, right: right as (row: Row) => void };
}

const impression = (id: number, ad: number | null, time: number): Row => ({ impressionId: id, adId: ad, impressionTime: time });
const click = (id: number, ad: number | null, time: number): Row => ({ clickId: id, clickAdId: ad, clickTime: time });
const pairs = (rows: readonly Row[]): string[] => rows.map((row) => `${String(row.impressionId)}-${String(row.clickId)}`).sort();

describe("the stream-stream join where the buffer's searches decide", () => {
  const base = 10 * HOUR;
  // Clicks from 1 ms before the impression to 1 ms after the end of its hour: only [t, t + 1 hour] match.
  const offsets = [-1, 0, 1, HOUR - 1, HOUR, HOUR + 1];
  const inRange = offsets.filter((offset) => offset >= 0 && offset <= HOUR);

  it("a buffered impression meets clicks at both ends of the range, not 1 ms outside", () => {
    const run = harness("inner");
    run.left(impression(1, 7, base));
    offsets.forEach((offset, index) => run.right(click(100 + index, 7, base + offset)));
    assert.deepEqual(pairs(run.output), inRange.map((offset) => `1-${100 + offsets.indexOf(offset)}`).sort());
  });

  it("a buffered click meets impressions at both ends of the range, not 1 ms outside", () => {
    const run = harness("inner");
    run.right(click(100, 7, base));
    // Impressions whose hour just ends before the click, ends at it, ..., starts just after it.
    offsets.forEach((offset, index) => run.left(impression(index, 7, base - offset)));
    assert.deepEqual(pairs(run.output), inRange.map((offset) => `${offsets.indexOf(offset)}-100`).sort());
  });

  it("rows with equal times all match, whichever side and order they come in", () => {
    const run = harness("inner");
    for (let index = 0; index < 5; index++) run.left(impression(index, 3, base));
    for (let index = 0; index < 3; index++) run.right(click(100 + index, 3, base + HOUR));
    for (let index = 5; index < 8; index++) run.left(impression(index, 3, base));
    const expected: string[] = [];
    for (let l = 0; l < 8; l++) for (let r = 100; r < 103; r++) expected.push(`${l}-${r}`);
    assert.deepEqual(pairs(run.output), expected.sort());
  });

  it("an outer side's unmatched rows leave in time order, each once the watermark passes its last chance", () => {
    const run = harness("left_outer");
    const times = [30, 5, 50, 5, 20, 40, 10].map((minutes) => base + minutes * MINUTE);
    // Rows 1 and 3 share a key and a time: the key's list keeps them in arrival order. The others each have their own key.
    times.forEach((time, index) => run.left(impression(index, index === 3 ? 1 : index, time)));
    const left: number[] = [];
    for (let minutes = 0; minutes <= 120; minutes++) {
      const watermark = base + HOUR + minutes * MINUTE;
      run.join.onWatermark?.(watermark);
      const out = run.output.splice(0).map((row) => row.impressionId as number);
      left.push(...out);
      // Exactly the rows whose last chance (time + 1 hour) is below this watermark and not below the previous one.
      const expected = times.map((time, index) => ({ time, index })).filter(({ time }) => time + HOUR < watermark && time + HOUR >= watermark - MINUTE).map(({ index }) => index);
      assert.deepEqual(out.sort(), expected.sort(), `watermark at ${minutes} minutes`);
    }
    assert.deepEqual(left, [1, 3, 6, 4, 0, 5, 2], "in time order, a key's equal times in arrival order");
    assert.equal(run.join.stateRows?.(), 0);
  });

  it("a snapshot writes only the keys changed since the last one", () => {
    const run = harness("left_outer");
    for (let ad = 0; ad < 50; ad++) run.left(impression(ad, ad, base + ad * MINUTE));
    const keys = () => (run.join.snapshot?.() ?? []).map((change) => `${change.key.slice(0, 2)}${change.value === null ? "gone" : (change.value as unknown[]).length}`).sort();
    assert.equal(keys().length, 50);
    assert.deepEqual(keys(), [], "nothing changed");
    run.join.onWatermark?.(base);
    assert.deepEqual(keys(), [], "a watermark that expires nothing changes nothing");
    // A click on ad 7 matches its impression: the impression's matched mark and the buffered click.
    run.right(click(100, 7, base + 7 * MINUTE + 1));
    assert.deepEqual(keys(), ["L:1", "R:1"]);
    // The watermark passes the first three impressions' last chance (their time + 1 hour) and the click's (its time):
    // those four keys go, the other 47 impressions' keys are not written.
    run.join.onWatermark?.(base + HOUR + 2 * MINUTE + 1);
    assert.deepEqual(keys(), ["L:gone", "L:gone", "L:gone", "R:gone"]);
  });

  it("null keys match nothing, not even each other; a left outer join emits its null-key rows at once", () => {
    const inner = harness("inner");
    inner.left(impression(1, null, base));
    inner.right(click(100, null, base));
    inner.left(impression(2, null, base));
    assert.deepEqual(inner.output, []);
    assert.equal(inner.join.stateRows?.(), 0, "a null key is never buffered");
    const outer = harness("left_outer");
    outer.right(click(100, null, base));
    outer.left(impression(1, null, base));
    assert.deepEqual(outer.output, [{ impressionId: 1, adId: null, impressionTime: base, clickId: null, clickAdId: null, clickTime: null }]);
  });
});
