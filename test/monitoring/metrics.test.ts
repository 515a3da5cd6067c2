// The Prometheus endpoint: counters equal the known input, gauges hold the last epoch, and the exposition parses.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStream, activitySchema, col, generateActivity, window, z, type Session, type StreamingQuery } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses Prometheus text exposition 0.0.4 strictly enough to catch a malformed line. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (comment) {
      if (comment[1] === "TYPE") types.set(comment[2] as string, comment[3] as string);
      else helps.add(comment[2] as string);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(sample, `a sample line: ${line}`);
    const body = sample[2] ?? "";
    assert.match(body, /^(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*$/, `labels parse: ${body}`);
    const labels: Record<string, string> = {};
    for (const match of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[match[1] as string] = match[2] as string;
    const name = sample[1] as string;
    assert.ok(types.has(name) && helps.has(name), `${name} has HELP and TYPE`);
    samples.push({ name, labels, value: Number(sample[3]) });
  }
  return { samples, types };
}

function value(samples: readonly Sample[], name: string, labels: Record<string, string>): number | undefined {
  const found = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted));
  assert.ok(found.length <= 1, `one series of ${name} for ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

describe("Prometheus metrics", () => {
  let session: Session;
  let url: string;
  before(async () => {
    session = inProcessSession({ "rill.shuffle.partitions": 2 });
    url = (await session.ui({ port: 0 })).url;
  });
  after(async () => {
    await session.stop();
  });

  async function scrape(query: StreamingQuery): Promise<Sample[]> {
    await session.metrics.waitForEpoch(query.id, query.lastProgress?.batchId ?? 0);
    const response = await fetch(`${url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return parseExposition(await response.text()).samples;
  }

  it("counts every input row, dead letter and epoch, per query and per stage, and marks the query ended when it stops", async () => {
    const input = new MemoryStream(session, activitySchema);
    // An hour between checkpoints: only processAllAvailable() ends an epoch, so the last epoch's gauges are known.
    const query = await input.toDF().groupBy("gt").count().writeStream.queryName("metered").format("memory").outputMode("complete")
      .trigger({ continuous: "1 hour" }).start();
    const rows = generateActivity({ seed: 3, count: 1200 });
    for (const batch of [rows.slice(0, 500), rows.slice(500, 900), rows.slice(900)]) {
      input.addData(batch);
      await query.processAllAvailable();
    }
    input.addData([{ bogus: 1 } as never, { Index: "not a number" } as never]);
    await query.processAllAvailable();
    const samples = await scrape(query);
    const labels = { query: "metered", id: query.id };
    assert.equal(value(samples, "rill_query_input_rows_total", labels), 1200);
    assert.equal(value(samples, "rill_stage_input_rows_total", { ...labels, stage: "s0-source-memory" }), 1200);
    assert.equal(value(samples, "rill_stage_input_rows_total", { ...labels, stage: "s1-aggregate" }), 1200);
    assert.equal(value(samples, "rill_stage_partitions", { ...labels, stage: "s1-aggregate" }), 2);
    assert.equal(value(samples, "rill_query_dead_letters_total", labels), 2);
    assert.equal(value(samples, "rill_query_epochs_total", labels), 4);
    const groups = new Set(rows.map((row) => row.gt)).size;
    assert.equal(value(samples, "rill_query_state_rows", labels), groups);
    assert.equal(value(samples, "rill_stage_state_rows", { ...labels, stage: "s1-aggregate" }), groups);
    assert.equal(value(samples, "rill_query_rows_dropped_by_watermark_total", labels), 0);
    assert.equal(value(samples, "rill_query_recoveries_total", labels), 0);
    assert.equal(value(samples, "rill_query_active", labels), 1);
    assert.equal(value(samples, "rill_query_failed", labels), 0);
    const last = query.lastProgress;
    assert.ok(last);
    assert.equal(value(samples, "rill_query_epoch_duration_seconds", labels), last.durationMs.epoch / 1000);
    assert.equal(value(samples, "rill_query_input_rows_per_second", labels), last.inputRowsPerSecond);
    assert.equal(value(samples, "rill_query_processed_rows_per_second", labels), last.processedRowsPerSecond);
    const p50 = value(samples, "rill_query_latency_seconds", { ...labels, quantile: "0.5" }) ?? -1;
    const p99 = value(samples, "rill_query_latency_seconds", { ...labels, quantile: "0.99" }) ?? -1;
    const max = value(samples, "rill_query_latency_seconds", { ...labels, quantile: "1" }) ?? -1;
    assert.ok(p50 > 0 && p50 <= p99 && p99 <= max, `latency p50 ${p50} <= p99 ${p99} <= max ${max}`);
    assert.ok((value(samples, "rill_query_credit_waits_total", labels) ?? -1) >= 0);

    let ended = (): void => undefined;
    const terminated = new Promise<void>((resolve) => (ended = resolve));
    session.streams.addListener({ onQueryTerminated: (event) => (event.id === query.id ? ended() : undefined) });
    await query.stop();
    await terminated;
    const text = await session.metrics.text();
    const afterStop = parseExposition(text).samples;
    assert.equal(value(afterStop, "rill_query_active", labels), 0);
    assert.equal(value(afterStop, "rill_query_failed", labels), 0);
    assert.equal(value(afterStop, "rill_query_input_rows_total", labels), 1200, "counters keep their totals after the query ends");
  });

  it("reports rows dropped by the watermark, the watermark, and its lag from now", async () => {
    const words = z.object({ timestamp: z.date(), word: z.string() });
    const at = (time: string): Date => new Date(`2026-01-01T${time}:00Z`);
    const input = new MemoryStream(session, words);
    const query = await input.toDF().withWatermark("timestamp", "10 minutes")
      .groupBy(window(col("timestamp"), "10 minutes", "5 minutes"), col("word")).count()
      .writeStream.queryName("late_words").format("memory").outputMode("update").start();
    const batches = [
      [["12:07", "dog"], ["12:08", "owl"]],
      [["12:14", "dog"], ["12:09", "cat"]],
      [["12:15", "cat"], ["12:08", "dog"], ["12:13", "owl"], ["12:21", "owl"]],
      [["12:17", "owl"], ["12:04", "donkey"]],
    ] as const;
    for (const batch of batches) {
      input.addData(batch.map(([time, word]) => ({ timestamp: at(time), word })));
      await query.processAllAvailable();
      await query.processAllAvailable();
    }
    const before = Date.now();
    const samples = await scrape(query);
    const labels = { query: "late_words", id: query.id };
    assert.equal(value(samples, "rill_query_input_rows_total", labels), 10);
    assert.equal(value(samples, "rill_query_rows_dropped_by_watermark_total", labels), 2, "12:04 donkey falls into two closed windows");
    assert.equal(value(samples, "rill_stage_rows_dropped_by_watermark_total", { ...labels, stage: "s1-aggregate" }), 2);
    const watermark = at("12:11").getTime();
    assert.equal(value(samples, "rill_query_watermark_seconds", labels), watermark / 1000);
    const lag = value(samples, "rill_query_watermark_lag_seconds", labels) ?? -1;
    assert.ok(lag >= (before - watermark) / 1000 && lag <= (Date.now() - watermark) / 1000, `lag ${lag} is now minus the watermark`);
    assert.ok((value(samples, "rill_stage_watermark_lag_seconds", { ...labels, stage: "s1-aggregate" }) ?? -1) > 0);
    await query.stop();
  });
});
