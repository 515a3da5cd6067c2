// The Yahoo Streaming Benchmark's workload: its ad-event generator and campaign table, and its result computed in plain code.
//
// Written from the benchmark's published description (Chintapalli et al., "Benchmarking Streaming
// Computation Engines at Yahoo!", 2016, and the yahoo/streaming-benchmarks data generator): 100
// campaigns of 10 ads each; every event is a JSON object with user_id, page_id, ad_id (UUIDs),
// ad_type (banner, modal, sponsored-search, mail, mobile), event_type (view, click, purchase, equally
// likely), event_time (ms since the epoch) and ip_address. The query: keep the views, project
// ad_id and event_time, join ad_id to its campaign, count per campaign in 10-second windows.
// Scenario (c) of `npm run bench` runs that query on these events (bench/e2e/ysb-point.ts) and
// checks its counts against ysbWindowCounts.
//
// @example
//   const ysb = new YsbGenerator({ seed: 7 });
//   const event = ysb.next(Date.now());           // { user_id, page_id, ad_id, ad_type, event_type, event_time, ip_address }
//   const counts = ysbWindowCounts(events, ysb.campaignOf);
import { mulberry32 } from "../../src/connectors/sources/activity.ts";

export const YSB_AD_TYPES = ["banner", "modal", "sponsored-search", "mail", "mobile"] as const;
export const YSB_EVENT_TYPES = ["view", "click", "purchase"] as const;
export const YSB_WINDOW_MS = 10_000;

export interface YsbEvent {
  readonly user_id: string;
  readonly page_id: string;
  readonly ad_id: string;
  readonly ad_type: (typeof YSB_AD_TYPES)[number];
  readonly event_type: (typeof YSB_EVENT_TYPES)[number];
  /** Milliseconds since the epoch (the original writes it as a string of digits). */
  readonly event_time: number;
  readonly ip_address: string;
}

export interface YsbCampaignRow {
  readonly ad_id: string;
  readonly campaign_id: string;
}

export interface YsbOptions {
  /** Default 1. The same seed gives the same campaigns, ads and events. */
  readonly seed?: number;
  /** Default 100, as the original. */
  readonly campaigns?: number;
  /** Default 10, as the original. */
  readonly adsPerCampaign?: number;
  /** Distinct user_id and page_id values; default 100 each, as the original. */
  readonly users?: number;
  readonly pages?: number;
}

/** Makes YSB ad events one at a time; the caller chooses each event's time (open loop). */
export class YsbGenerator {
  /** The campaign table the query joins against (ad_id -> campaign_id). */
  readonly campaigns: readonly YsbCampaignRow[];
  readonly campaignOf: ReadonlyMap<string, string>;
  private readonly random: () => number;
  private readonly ads: readonly string[];
  private readonly users: readonly string[];
  private readonly pages: readonly string[];

  constructor(options: YsbOptions = {}) {
    this.random = mulberry32((options.seed ?? 1) ^ 0x5bd1e995);
    const campaignIds = this.uuids(options.campaigns ?? 100);
    const adsPerCampaign = options.adsPerCampaign ?? 10;
    const table: YsbCampaignRow[] = [];
    for (const campaign_id of campaignIds) for (const ad_id of this.uuids(adsPerCampaign)) table.push({ ad_id, campaign_id });
    this.campaigns = table;
    this.campaignOf = new Map(table.map((row) => [row.ad_id, row.campaign_id]));
    this.ads = table.map((row) => row.ad_id);
    this.users = this.uuids(options.users ?? 100);
    this.pages = this.uuids(options.pages ?? 100);
  }

  next(eventTimeMs: number): YsbEvent {
    return {
      user_id: this.pick(this.users),
      page_id: this.pick(this.pages),
      ad_id: this.pick(this.ads),
      ad_type: this.pick(YSB_AD_TYPES),
      event_type: this.pick(YSB_EVENT_TYPES),
      event_time: Math.floor(eventTimeMs),
      ip_address: "1.2.3.4",
    };
  }

  private pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.random() * values.length)] as T;
  }

  private uuids(count: number): string[] {
    return Array.from({ length: count }, () => this.uuid());
  }

  /** A version-4 UUID drawn from the seeded generator (the original uses random UUIDs). */
  private uuid(): string {
    const hex = (digits: number): string => {
      let text = "";
      for (let index = 0; index < digits; index++) text += Math.floor(this.random() * 16).toString(16);
      return text;
    };
    const variant = (8 + Math.floor(this.random() * 4)).toString(16);
    return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
  }
}

/** `count` events spaced at `eventsPerSecond` from `startMs`; deterministic for a seed. */
export function generateYsb(count: number, options: YsbOptions & { startMs?: number; eventsPerSecond?: number } = {}): { events: YsbEvent[]; generator: YsbGenerator } {
  const generator = new YsbGenerator(options);
  const startMs = options.startMs ?? 1_700_000_000_000;
  const eventsPerSecond = options.eventsPerSecond ?? 10_000;
  const events = Array.from({ length: count }, (_, index) => generator.next(startMs + (index * 1000) / eventsPerSecond));
  return { events, generator };
}

/** The YSB result in plain code: views per campaign per 10-second tumbling window, keyed `campaign_id|windowStartMs`. */
export function ysbWindowCounts(events: Iterable<YsbEvent>, campaignOf: ReadonlyMap<string, string>, windowMs = YSB_WINDOW_MS): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) {
    if (event.event_type !== "view") continue;
    const campaign = campaignOf.get(event.ad_id);
    if (campaign === undefined) throw new Error(`YSB event with ad_id ${event.ad_id} has no campaign: the generator and the table disagree`);
    const key = `${campaign}|${event.event_time - (event.event_time % windowMs)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Checks the generator against its description; returns what is wrong, or undefined. */
export function checkYsbGenerator(sample = 30_000): string | undefined {
  const { events, generator } = generateYsb(sample, { seed: 3 });
  if (generator.campaigns.length !== 1000 || new Set(generator.campaigns.map((row) => row.campaign_id)).size !== 100) return "expected 100 campaigns of 10 ads";
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const types = new Map<string, number>();
  for (const event of events) {
    if (!uuid.test(event.ad_id) || !uuid.test(event.user_id) || !uuid.test(event.page_id)) return `not a UUID in ${JSON.stringify(event)}`;
    types.set(event.event_type, (types.get(event.event_type) ?? 0) + 1);
  }
  for (const type of YSB_EVENT_TYPES) {
    const share = (types.get(type) ?? 0) / sample;
    if (Math.abs(share - 1 / 3) > 0.02) return `event_type ${type} is ${(share * 100).toFixed(1)}% of events, expected about 33%`;
  }
  const views = [...ysbWindowCounts(events, generator.campaignOf).values()].reduce((sum, count) => sum + count, 0);
  if (views !== types.get("view")) return `window counts add up to ${views}, views are ${types.get("view")}`;
  return undefined;
}
