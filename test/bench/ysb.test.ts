// Scenario (c) of the benchmark, the Yahoo Streaming Benchmark: the real query against plain code, and a check that fails on a wrong count.
import assert from "node:assert/strict";
import { test } from "node:test";
import { modeById, IN_PROCESS, type EngineMode } from "../../bench/e2e/modes.ts";
import type { RunContext } from "../../bench/e2e/point.ts";
import { runYsbPoint, YsbTracker, ysbKey } from "../../bench/e2e/ysb-point.ts";
import { generateYsb, ysbWindowCounts } from "../../bench/e2e/ysb.ts";

// In-process transport: the NATS address is never dialled.
const context: RunContext = { nats: { servers: "nats://127.0.0.1:1" }, seed: 5, numPartitions: 2, slackMs: 60_000, log: () => undefined };

test("the YSB query (filter, join with the static campaign table, 10 s windows) equals plain code", async () => {
  const mode = modeById(IN_PROCESS) as EngineMode;
  const point = await runYsbPoint(context, mode, { rate: 2000, seconds: 1 });
  assert.equal(point.outcome, "complete");
  assert.equal(point.error, undefined);
  assert.equal(point.droppedByWatermark, 0);
  assert.ok(point.outputRows > 0);
  assert.ok(point.rowLatency !== undefined && point.rowLatency.count > 0);
});

test("the YSB check names a count that differs from plain code, a missing key and rows dropped by the watermark", () => {
  const { events, generator } = generateYsb(3000, { seed: 9, startMs: 1_700_000_005_000, eventsPerSecond: 500 });
  const expected = ysbWindowCounts(events, generator.campaignOf);
  const views = [...expected.values()].reduce((sum, count) => sum + count, 0);
  const rows = [...expected].map(([key, count]) => {
    const bar = key.indexOf("|");
    return { campaign_id: key.slice(0, bar), window: { start: Number(key.slice(bar + 1)), end: Number(key.slice(bar + 1)) + 10_000 }, count };
  });
  const right = new YsbTracker(events.length, views);
  for (const row of rows) right.onRow(row);
  assert.equal(right.complete(), true);
  assert.equal(right.verify(expected, 0), undefined);
  assert.match(right.verify(expected, 3) ?? "", /3 rows dropped by the watermark/);

  const [first, ...rest] = rows;
  assert.ok(first);
  const offByOne = new YsbTracker(events.length, views);
  for (const row of [{ ...first, count: first.count - 1 }, ...rest]) offByOne.onRow(row);
  const key = ysbKey(first.campaign_id, first.window.start);
  assert.equal(offByOne.verify(expected, 0), `views per (campaign, window) differ from plain code (actual != expected): ${key}: ${first.count - 1} != ${first.count}`);

  const missing = new YsbTracker(events.length, views);
  for (const row of rest) missing.onRow(row);
  assert.equal(missing.complete(), false);
  assert.match(missing.verify(expected, 0) ?? "", new RegExp(`${key}: 0 != ${first.count}`));
});
