// Scenario (c), the Yahoo Streaming Benchmark: one point in one mode at one open-loop rate, checked against plain code.
//
// The ad events come from YsbGenerator through a MemoryStream the harness feeds on an open-loop schedule: event i is
// due at start + i / rate, added once due, with event_time = its due time cut to whole ms (YSB stamps an event when
// it is made). The query keeps the views, joins ad_id to the static campaign table (session.createDataFrame), and
// counts per campaign in 10 s tumbling windows with a watermark, in update mode: YSB's own implementations write
// every window's count to Redis as it changes.
import { nowMs } from "../../src/core/clock.ts";
import { LatencyRecorder } from "../../src/core/latency.ts";
import { col, window, type DataFrame, type Row, type Session, type StreamingQuery } from "../../src/index.ts";
import { MemoryStream } from "../../src/api/memory-stream.ts";
import { z } from "zod";
import type { KeyExpectation } from "./expected.ts";
import type { EngineMode } from "./modes.ts";
import { backlogWatch, CpuMeter, endOfRun, measure, openSession, ProgressLog, withTimeout, type PointResult, type PointSettings, type RunContext } from "./point.ts";
import { YSB_WINDOW_MS, YsbGenerator, ysbWindowCounts, type YsbEvent } from "./ysb.ts";

export const YSB_WATERMARK = "10 seconds";

const ysbEventSchema = z.object({
  user_id: z.string(),
  page_id: z.string(),
  ad_id: z.string(),
  ad_type: z.string(),
  event_type: z.string(),
  event_time: z.number().int(),
  ip_address: z.string(),
});

const campaignSchema = z.object({ ad_id: z.string(), campaign_id: z.string() });

export const YSB_QUERY = `where("event_type = 'view'").selectExpr("ad_id", "cast(event_time / 1000 as timestamp) as event_time").withWatermark("event_time", "${YSB_WATERMARK}").join(campaigns, "ad_id").groupBy(window(col("event_time"), "10 seconds"), col("campaign_id")).count(), campaigns = session.createDataFrame(1,000 ads of 100 campaigns)`;

/** The YSB query over `events`, joined with `campaigns` (a static DataFrame). */
export function ysbQuery(events: DataFrame, campaigns: DataFrame): DataFrame {
  return events.where("event_type = 'view'")
    .selectExpr("ad_id", "cast(event_time / 1000 as timestamp) as event_time")
    .withWatermark("event_time", YSB_WATERMARK)
    .join(campaigns, "ad_id")
    .groupBy(window(col("event_time"), `${YSB_WINDOW_MS / 1000} seconds`), col("campaign_id"))
    .count();
}

export function ysbKey(campaign: unknown, windowStart: number): string {
  return `${String(campaign)}|${windowStart}`;
}

/**
 * The sink of a YSB run: the latest count per (campaign, window), and when each count arrived. Complete when the
 * counts add up to every view; right when each count equals plain code's (ysbWindowCounts over the same events).
 */
export class YsbTracker {
  outputRows = 0;
  lastArrival = 0;
  readonly latest = new Map<string, number>();
  private readonly arrivals = new Map<string, { times: number[]; counts: number[] }>();
  private counted = 0;
  private badRows = 0;

  constructor(private readonly totalRows: number, private readonly views: number) {}

  onRow(row: Row): void {
    const now = nowMs();
    this.outputRows++;
    this.lastArrival = now;
    const start = (row.window as { start?: unknown } | null)?.start;
    const count = row.count;
    if (typeof start !== "number" || typeof count !== "number" || typeof row.campaign_id !== "string") {
      this.badRows++;
      return;
    }
    const key = ysbKey(row.campaign_id, start);
    this.counted += count - (this.latest.get(key) ?? 0);
    this.latest.set(key, count);
    let seen = this.arrivals.get(key);
    if (!seen) this.arrivals.set(key, (seen = { times: [], counts: [] }));
    seen.times.push(now);
    seen.counts.push(count);
  }

  inputEquivalent(): number {
    return this.views === 0 ? 0 : (this.counted / this.views) * this.totalRows;
  }

  complete(): boolean {
    return this.counted >= this.views;
  }

  /** What differs from plain code's counts, or undefined. */
  verify(expected: ReadonlyMap<string, number>, droppedByWatermark: number): string | undefined {
    if (this.badRows > 0) return `${this.badRows} output rows lack a numeric window.start, a string campaign_id or a numeric count`;
    if (droppedByWatermark !== 0) return `${droppedByWatermark} rows dropped by the watermark, but every YSB event comes in event-time order`;
    const wrong: string[] = [];
    for (const key of new Set([...this.latest.keys(), ...expected.keys()])) {
      const actual = this.latest.get(key) ?? 0;
      const wanted = expected.get(key) ?? 0;
      if (actual !== wanted) wrong.push(`${key}: ${actual} != ${wanted}`);
    }
    if (wrong.length > 0) return `views per (campaign, window) differ from plain code (actual != expected): ${wrong.slice(0, 5).join(", ")}${wrong.length > 5 ? ` and ${wrong.length - 5} more` : ""}`;
    return undefined;
  }

  /**
   * Per-row latency, reconstructed as scenario (b)'s (reconstructLatency): a view is visible once its key shows a
   * count of at least its rank among the key's views; its latency runs from its due time to then.
   */
  rowLatency(expected: ReadonlyMap<string, KeyExpectation>): LatencyRecorder {
    const recorder = new LatencyRecorder();
    for (const [key, expectation] of expected) {
      const seen = this.arrivals.get(key);
      if (!seen) continue;
      let next = 0;
      for (let rank = 1; rank <= expectation.dues.length; rank++) {
        while (next < seen.counts.length && (seen.counts[next] as number) < rank) next++;
        if (next === seen.counts.length) break;
        recorder.record((seen.times[next] as number) - (expectation.dues[rank - 1] as number), 1);
      }
    }
    return recorder;
  }
}

/** A run's events, made before it starts (the generator's cost stays out of the figures); event_time is set when each is due. */
interface YsbLoad {
  readonly generator: YsbGenerator;
  readonly templates: readonly YsbEvent[];
  readonly views: number;
}

function loadOf(seed: number, totalRows: number): YsbLoad {
  const generator = new YsbGenerator({ seed });
  const templates = Array.from({ length: totalRows }, () => generator.next(0));
  return { generator, templates, views: templates.filter((event) => event.event_type === "view").length };
}

/** Feeds the MemoryStream on the open-loop schedule: every millisecond, the events due by then, until all are sent or stop(). */
function feed(stream: MemoryStream<typeof ysbEventSchema>, load: YsbLoad, rate: number): { readonly start: number; readonly sent: YsbEvent[]; stop(): void } {
  const start = nowMs();
  const sent: YsbEvent[] = [];
  const total = load.templates.length;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const due = Math.min(total, Math.floor(((nowMs() - start) * rate) / 1000) + 1);
    if (due > sent.length) {
      const batch: YsbEvent[] = [];
      for (let index = sent.length; index < due; index++) {
        const event = { ...(load.templates[index] as YsbEvent), event_time: Math.floor(start + (index * 1000) / rate) };
        batch.push(event);
        sent.push(event);
      }
      stream.addData(batch);
    }
    if (sent.length < total) timer = setTimeout(tick, 1);
  };
  tick();
  return { start, sent, stop: () => clearTimeout(timer) };
}

/** Plain code's counts per (campaign, window) and each key's due times in order, for the check and the per-row latency. */
function expectationOf(sent: readonly YsbEvent[], campaignOf: ReadonlyMap<string, string>, start: number, rate: number): { counts: Map<string, number>; byKey: Map<string, KeyExpectation> } {
  const counts = ysbWindowCounts(sent, campaignOf);
  const byKey = new Map<string, KeyExpectation>();
  sent.forEach((event, index) => {
    if (event.event_type !== "view") return;
    const key = ysbKey(campaignOf.get(event.ad_id), event.event_time - (event.event_time % YSB_WINDOW_MS));
    let expectation = byKey.get(key);
    if (!expectation) byKey.set(key, (expectation = { onTime: 0, late: 0, dues: [] }));
    expectation.onTime++;
    expectation.dues.push(start + (index * 1000) / rate);
  });
  return { counts, byKey };
}

/** Scenario (c) in `mode` at `settings.rate` for `settings.seconds`; the run ends when every view is counted. */
export async function runYsbPoint(context: RunContext, mode: EngineMode, settings: PointSettings): Promise<PointResult> {
  const started = nowMs();
  const totalRows = Math.round(settings.rate * settings.seconds);
  const load = loadOf(context.seed, totalRows);
  const tracker = new YsbTracker(totalRows, load.views);
  const session: Session = openSession(context, mode, { id: "c" });
  let query: StreamingQuery | undefined;
  let feeder: ReturnType<typeof feed> | undefined;
  try {
    let markComplete = (): void => undefined;
    const completed = new Promise<void>((resolve) => (markComplete = resolve));
    const stream = new MemoryStream(session, ysbEventSchema, `ysb_${mode.id}`);
    const campaigns = session.createDataFrame(load.generator.campaigns.map((row) => ({ ...row })), campaignSchema);
    const writer = ysbQuery(stream.toDF(), campaigns).writeStream
      .queryName(`bench_c_${mode.id}`)
      .outputMode("update")
      .trigger(mode.trigger)
      .foreach((row) => {
        tracker.onRow(row);
        if (tracker.complete()) markComplete();
      });
    const cpu = await CpuMeter.start(context);
    query = await writer.start();
    const progress = new ProgressLog(query);
    // The schedule begins once an epoch has gone through every actor (the static table loaded, the stages up), as
    // the activity source's begins when its actor starts: the start-up is not counted as the first rows' latency.
    await query.processAllAvailable();
    feeder = feed(stream, load, settings.rate);
    const budgetMs = settings.seconds * 1000 + mode.intervalMs + context.slackMs;
    const failed = query.awaitTermination().then(() => "failed" as const, () => "failed" as const);
    const outcome = await endOfRun(completed, failed, budgetMs, backlogWatch(settings, totalRows, feeder.start, () => tracker.inputEquivalent()));
    const endedAt = outcome === "complete" ? tracker.lastArrival : nowMs();
    feeder.stop();
    if (outcome === "complete") await withTimeout(query.processAllAvailable().catch(() => undefined), 3000);
    const cpuCores = await cpu.cores();
    progress.stop();
    const dropped = progress.droppedByWatermark();
    const complete = outcome === "complete";
    const expected = complete ? expectationOf(feeder.sent, load.generator.campaignOf, feeder.start, settings.rate) : undefined;
    const failure = query.exception();
    return {
      ...measure(tracker, expected && tracker.rowLatency(expected.byKey), settings, totalRows, feeder.start, endedAt, mode.intervalMs),
      scenario: "c",
      mode: mode.id,
      expectedOutputRows: undefined,
      complete,
      outcome,
      error: failure ? failure.message : expected ? tracker.verify(expected.counts, dropped) : undefined,
      latency: query.latency(),
      droppedByWatermark: dropped,
      rowsPerFrame: undefined,
      creditWaits: 0,
      ...(cpuCores === undefined ? {} : { cpuCores }),
      wallMs: nowMs() - started,
    };
  } finally {
    feeder?.stop();
    await session.stop();
  }
}
