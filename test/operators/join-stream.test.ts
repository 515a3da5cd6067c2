// The stream-stream join operator, driven row by row with a chosen watermark schedule, against plain code: every join
// type on generated out-of-order data with late rows, a restart from a snapshot in the middle, and state that the
// watermark keeps bounded. The operators come from the real analysis of a DataFrame join.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { MemoryStream, expr, z, type DataFrame, type Row } from "../../src/index.ts";
import { chain, type Operator } from "../../src/operators/operator.ts";
import { analyze } from "../../src/plan/analyzer.ts";
import type { StateChange } from "../../src/state/types.ts";
import { inProcessSession } from "../helpers/session.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const session = inProcessSession();
after(async () => {
  await session.stop();
});

const impressions = new MemoryStream(session, z.object({ impressionId: z.number().int(), adId: z.number().int(), impressionTime: z.date() }));
const clicks = new MemoryStream(session, z.object({ clickId: z.number().int(), clickAdId: z.number().int(), clickTime: z.date() }));
const CONDITION = "clickAdId = adId AND clickTime >= impressionTime AND clickTime <= impressionTime + interval 1 hour";

type Event = { readonly side: 0 | 1; readonly row: Row } | { readonly watermark: number };

/** The operators of a join query: each side's own steps after its watermark, and the join. */
interface Harness {
  readonly join: Operator;
  feed(event: Event): void;
  readonly output: Row[];
}

function harness(frame: DataFrame, restoreFrom?: { entries: Map<string, unknown>; watermark: number }): Harness {
  const plan = analyze(frame.plan, { outputMode: "append", maxFutureMs: Number.POSITIVE_INFINITY });
  const branches = plan.branches ?? [];
  assert.equal(branches.length, 2);
  const joinStep = plan.steps[0];
  assert.ok(joinStep && joinStep.name === "join");
  const join = joinStep.create("join.p0", 0);
  const output: Row[] = [];
  if (restoreFrom) {
    join.restore?.(restoreFrom.entries);
    join.onWatermark?.(restoreFrom.watermark);
  }
  const into = chain([join], (row) => output.push(row));
  const sides = branches.map((branch) => chain(branch.steps.filter((step) => step.name !== "watermark").map((step, index) => step.create(`side.${index}`, 0)), into));
  return {
    join,
    output,
    feed(event) {
      if ("watermark" in event) join.onWatermark?.(event.watermark);
      else (sides[event.side] as (row: Row) => void)(event.row);
    },
  };
}

interface Generated {
  readonly events: Event[];
  /** Rows that arrived at or below the watermark (late), by side and id. */
  readonly late: Set<string>;
  readonly left: Row[];
  readonly right: Row[];
}

/**
 * Impressions and clicks of a few ads, out of order by up to 8 minutes, with late rows mixed in (times an hour behind),
 * and the watermark raised every few rows to the minimum over the sides of (latest time - delay), as Spark's global one.
 */
function generate(seed: number, count: number, ads = 6): Generated {
  const random = mulberry32(seed);
  const events: Event[] = [];
  const late = new Set<string>();
  const left: Row[] = [];
  const right: Row[] = [];
  const latest = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  const delays = [10 * MINUTE, 20 * MINUTE];
  let watermark = Number.NEGATIVE_INFINITY;
  let clock = 0;
  for (let index = 0; index < count; index++) {
    clock += Math.floor(random() * 2 * MINUTE);
    const side = random() < 0.5 ? 0 : 1;
    const lateRow = random() < 0.05 && Number.isFinite(watermark);
    const time = lateRow ? watermark - Math.floor(random() * HOUR) : clock - Math.floor(random() * 8 * MINUTE);
    const ad = Math.floor(random() * ads);
    const row: Row = side === 0 ? { impressionId: index, adId: ad, impressionTime: time } : { clickId: index, clickAdId: ad, clickTime: time + Math.floor(random() * 40 * MINUTE) };
    const rowTime = (side === 0 ? row.impressionTime : row.clickTime) as number;
    if (rowTime <= watermark) late.add(`${side}:${index}`);
    else (side === 0 ? left : right).push(row);
    events.push({ side, row });
    latest[side] = Math.max(latest[side] as number, rowTime);
    if (index % 7 === 6) {
      const candidate = Math.min((latest[0] as number) - (delays[0] as number), (latest[1] as number) - (delays[1] as number));
      if (candidate > watermark) {
        watermark = candidate;
        events.push({ watermark });
      }
    }
  }
  // The end: a watermark past everything, so every row the watermark can release is released.
  events.push({ watermark: clock + 10 * HOUR });
  return { events, late, left, right };
}

function matches(l: Row, r: Row): boolean {
  const lt = l.impressionTime as number;
  const rt = r.clickTime as number;
  return l.adId === r.clickAdId && rt >= lt && rt <= lt + HOUR;
}

const NULL_LEFT = { impressionId: null, adId: null, impressionTime: null };
const NULL_RIGHT = { clickId: null, clickAdId: null, clickTime: null };

/** What the join should emit, by plain loops over the rows that were not late. */
function oracle(how: string, data: Generated): Row[] {
  const out: Row[] = [];
  if (how === "left_semi") return data.left.filter((l) => data.right.some((r) => matches(l, r)));
  for (const l of data.left) for (const r of data.right) if (matches(l, r)) out.push({ ...l, ...r });
  if (how === "left_outer" || how === "full_outer") for (const l of data.left) if (!data.right.some((r) => matches(l, r))) out.push({ ...l, ...NULL_RIGHT });
  if (how === "right_outer" || how === "full_outer") for (const r of data.right) if (!data.left.some((l) => matches(l, r))) out.push({ ...NULL_LEFT, ...r });
  return out;
}

function sorted(rows: readonly Row[]): string[] {
  return rows.map((row) => JSON.stringify(Object.keys(row).sort().map((key) => [key, row[key]]))).sort();
}

function joined(how: string): DataFrame {
  const left = impressions.toDF().withWatermark("impressionTime", "10 minutes");
  const right = clicks.toDF().withWatermark("clickTime", "20 minutes");
  return left.join(right, expr(CONDITION), how);
}

describe("stream-stream join operator against plain code", () => {
  for (const how of ["inner", "left_outer", "right_outer", "full_outer", "left_semi"]) {
    it(`${how}: out-of-order rows, late rows dropped, every output row once`, () => {
      const data = generate(how.length * 7919, 3000);
      assert.ok(data.late.size > 20, `late rows occur (${data.late.size})`);
      const run = harness(joined(how));
      for (const event of data.events) run.feed(event);
      const expected = oracle(how, data);
      assert.ok(expected.length > 100, `the data has matches (${expected.length})`);
      assert.deepEqual(sorted(run.output), sorted(expected));
      assert.equal((run.join as Operator & { late: Row[] }).late.length, data.late.size, "every late row is counted as late");
      // The final watermark passed every row's last chance: no state is left.
      assert.equal(run.join.stateRows?.(), 0);
    });
  }

  it("outer rows leave only once the watermark proves no match can come", () => {
    const run = harness(joined("left_outer"));
    const at = (minutes: number) => minutes * MINUTE;
    run.feed({ side: 0, row: { impressionId: 1, adId: 1, impressionTime: at(0) } });
    // Watermark 59 minutes: a click at 60 minutes could still match (60 <= 0 + 60).
    run.feed({ watermark: at(59) });
    assert.equal(run.output.length, 0);
    run.feed({ watermark: at(60) });
    assert.equal(run.output.length, 0, "at the watermark, a click at 60 minutes would be late, but the row is kept one more step");
    run.feed({ watermark: at(61) });
    assert.deepEqual(run.output, [{ impressionId: 1, adId: 1, impressionTime: 0, ...NULL_RIGHT }]);
  });

  for (const how of ["inner", "left_outer", "full_outer", "left_semi"]) {
    it(`${how}: a restart from the last snapshot, replaying what came after it, gives the undisturbed output once`, () => {
      // Many ads, so that a buffered row is often matched in an epoch where nothing else of its key changes.
      const data = generate(4242 + how.length, 3000, 60);
      const undisturbed = harness(joined(how));
      for (const event of data.events) undisturbed.feed(event);
      // Snapshots every 25 events; the run dies ten times between two snapshots, and restarts from the last one.
      const random = mulberry32(how.length);
      const kills = new Set(Array.from({ length: 10 }, (_, kill) => (kill * 11 + 3) * 25 + Math.floor(random() * 25)));
      let run = harness(joined(how));
      const store = new Map<string, unknown>();
      let committedOutput = 0;
      let committedAt = 0;
      let committedWatermark = Number.NEGATIVE_INFINITY;
      let watermark = Number.NEGATIVE_INFINITY;
      const kept: Row[] = [];
      for (let index = 0; index < data.events.length; index++) {
        const event = data.events[index] as Event;
        run.feed(event);
        if ("watermark" in event) watermark = event.watermark;
        if (index % 25 === 24) {
          for (const change of run.join.snapshot?.() ?? [] as StateChange[]) {
            if (change.value === null) store.delete(change.key);
            else store.set(change.key, structuredClone(change.value));
          }
          kept.push(...run.output.slice(committedOutput));
          committedOutput = run.output.length;
          committedAt = index + 1;
          committedWatermark = watermark;
        }
        if (kills.delete(index)) {
          run = harness(joined(how), { entries: new Map(store), watermark: committedWatermark });
          committedOutput = 0;
          index = committedAt - 1;
          watermark = committedWatermark;
        }
      }
      kept.push(...run.output.slice(committedOutput));
      assert.equal(kills.size, 0);
      assert.deepEqual(sorted(kept), sorted(undisturbed.output));
      assert.deepEqual(sorted(kept), sorted(oracle(how, data)));
    });
  }

  it("an inner join without watermarks keeps every row, and finds matches however far apart", () => {
    const frame = impressions.toDF().join(clicks.toDF(), expr("clickAdId = adId"));
    const run = harness(frame);
    run.feed({ side: 0, row: { impressionId: 1, adId: 3, impressionTime: 0 } });
    run.feed({ side: 1, row: { clickId: 2, clickAdId: 3, clickTime: 100 * HOUR } });
    run.feed({ side: 1, row: { clickId: 3, clickAdId: 4, clickTime: 0 } });
    run.feed({ watermark: 1000 * HOUR });
    assert.deepEqual(run.output, [{ impressionId: 1, adId: 3, impressionTime: 0, clickId: 2, clickAdId: 3, clickTime: 100 * HOUR }]);
    assert.equal(run.join.stateRows?.(), 3, "no watermark bounds the state (as in Spark)");
  });

  it("joins on a window: a key's rows leave when the watermark passes the window's end", () => {
    const left = impressions.toDF().withWatermark("impressionTime", "10 minutes").selectExpr("adId", "window(impressionTime, '10 minutes') as window", "impressionId");
    const right = clicks.toDF().withWatermark("clickTime", "10 minutes").selectExpr("clickAdId as adId", "window(clickTime, '10 minutes') as window", "clickId");
    const run = harness(left.join(right, ["adId", "window"], "left_outer"));
    const random = mulberry32(77);
    const lefts: Row[] = [];
    const rights: Row[] = [];
    let watermark = Number.NEGATIVE_INFINITY;
    let lateCount = 0;
    for (let index = 0; index < 1500; index++) {
      const time = index * 20_000 - (random() < 0.05 ? HOUR : Math.floor(random() * 5 * MINUTE));
      const ad = Math.floor(random() * 4);
      const side = random() < 0.5 ? 0 : 1;
      const row = side === 0 ? { impressionId: index, adId: ad, impressionTime: time } : { clickId: index, clickAdId: ad, clickTime: time };
      const end = Math.floor(time / (10 * MINUTE)) * 10 * MINUTE + 10 * MINUTE;
      if (end <= watermark) lateCount++;
      else (side === 0 ? lefts : rights).push({ ad, end, id: index });
      run.feed({ side, row });
      if (index % 10 === 9) {
        watermark = Math.max(watermark, index * 20_000 - 10 * MINUTE);
        run.feed({ watermark });
      }
    }
    run.feed({ watermark: 10_000 * HOUR });
    const expected: string[] = [];
    for (const l of lefts) {
      const found = rights.filter((r) => r.ad === l.ad && r.end === l.end);
      if (found.length === 0) expected.push(`${l.id}-null`);
      for (const r of found) expected.push(`${l.id}-${r.id}`);
    }
    assert.ok(lateCount > 0, "late rows occur");
    assert.deepEqual(run.output.map((row) => `${String(row.impressionId)}-${String(row.clickId)}`).sort(), expected.sort());
    assert.equal(run.join.stateRows?.(), 0);
  });

  it("state stays flat over a long run: the buffered rows never exceed what the time range needs", () => {
    const run = harness(joined("full_outer"));
    let peakLate = 0;
    const sizes: number[] = [];
    for (let index = 0; index < 60_000; index++) {
      const time = index * 10_000;
      run.feed({ side: (index % 2) as 0 | 1, row: index % 2 === 0 ? { impressionId: index, adId: index % 50, impressionTime: time } : { clickId: index, clickAdId: index % 50, clickTime: time } });
      if (index % 100 === 99) run.feed({ watermark: time - 20 * MINUTE });
      if (index % 5000 === 4999) sizes.push(run.join.stateRows?.() ?? -1);
      peakLate = Math.max(peakLate, (run.join as Operator & { late: Row[] }).late.length);
    }
    // Rows arrive every 10 s; state holds about the hour of the range plus the 20 minutes of delay (~480 rows) after the
    // first hour, never growing with the 60,000 rows of the run.
    const settled = sizes.slice(2);
    assert.ok(Math.max(...settled) - Math.min(...settled) <= 20, `flat: ${sizes.join(", ")}`);
    assert.ok(Math.max(...settled) < 1000, `bounded: ${sizes.join(", ")}`);
    assert.equal(peakLate, 0);
  });
});
