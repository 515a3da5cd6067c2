// The chaos run's input: rows generated from the seed, and their publisher, which keeps publishing while the queries are killed.
import type { JetStreamAccess } from "../../../src/actors/jetstream.ts";
import { mulberry32 } from "../../../src/connectors/sources/activity.ts";

export interface InputRow {
  /** Unique, in generation order. */
  readonly id: number;
  /** The grouping key of the aggregation and the running total. */
  readonly key: string;
  readonly value: number;
  /** Event time (ms): rises by STEP_MS a row, with jitter; a duplicate repeats its original's; a late row is far behind. */
  readonly ts: number;
  /** The de-duplication key with `ts`: a duplicate repeats its original's. */
  readonly guid: string;
  /** A copy of an earlier row (new id, same key, value, ts and guid). */
  readonly dup: boolean;
  /** So far behind that every stateful operator must drop it, whatever the batching: LATE_BEHIND_MS older than its place. */
  readonly late: boolean;
}

export const INPUT_STREAM = "CHAOS_IN";
export const INPUT_SUBJECT = "chaos.in";
export const KEYS = 40;
/** Event time per row. Event times are multiples of it, so that a duplicate often meets the watermark exactly. */
export const STEP_MS = 10;
/** Event times run up to this far behind their row's place. */
export const JITTER_MS = 300;
/**
 * The queries' watermark delay. It exceeds the disorder of ordinary rows (jitter, a retried publish batch), so
 * none of them is ever late and every window's expected count is exact.
 */
export const WATERMARK_DELAY_MS = 3000;
/** A near duplicate follows its original within this many rows. */
const NEAR_DUPLICATE = 20;
/**
 * A far duplicate comes about WATERMARK_DELAY_MS of rows later, when the watermark is near its event time: it
 * may be late or not depending on the batching, and must be dropped either way.
 */
const FAR_DUPLICATE = { from: 270, to: 330 };
const DUPLICATE_FRACTION = 0.05;
/**
 * Late rows sit this far behind their place. An actor judges a turn's rows by the watermark of its previous turns,
 * and the child's flow window (FLOW_WINDOW rows) bounds what a turn holds, so a row is late under any batching
 * when it is further behind than two windows of rows plus the delay: 2 x 500 rows x 10 ms + 3 s = 13 s.
 */
const LATE_BEHIND_MS = 30_000;
const LATE_FRACTION = 0.01;
/** Rows before this have no late ones: a watermark needs that much input to be that far ahead. */
const LATE_FROM = 3000;
/** The child's rill.flow.window (and twice its rill.flow.maxFrameRows): what LATE_BEHIND_MS is derived from. */
export const FLOW_WINDOW = 500;
/** Rows published at once; a failed publish is retried after the others, so the stream may reorder a batch. */
export const PUBLISH_BATCH = 20;
const BASE_TIME = Date.UTC(2026, 0, 1);

/** The rows of a run: the same for the same seed. */
export function generateInput(seed: number, count: number): InputRow[] {
  const random = mulberry32(seed ^ 0x5bd1e995);
  const rows: InputRow[] = [];
  for (let id = 0; id < count; id++) {
    const roll = random();
    const distance = roll < DUPLICATE_FRACTION / 2 ? 1 + Math.floor(random() * NEAR_DUPLICATE) : roll < DUPLICATE_FRACTION ? FAR_DUPLICATE.from + Math.floor(random() * (FAR_DUPLICATE.to - FAR_DUPLICATE.from)) : 0;
    const original = distance > 0 && distance <= id ? rows[id - distance] : undefined;
    const late = !original && id >= LATE_FROM && random() < LATE_FRACTION;
    const key = `k${String(Math.floor(random() * KEYS)).padStart(2, "0")}`;
    const value = 1 + Math.floor(random() * 100);
    const ts = BASE_TIME + id * STEP_MS + STEP_MS * Math.floor((random() * JITTER_MS) / STEP_MS) - (late ? LATE_BEHIND_MS : 0);
    rows.push(original ? { ...original, id, dup: true } : { id, key, value, ts, guid: `g${id}`, dup: false, late });
  }
  return rows;
}

/** One bad message (it fails the queries' schema: `value` is text) follows every BAD_EVERY batches of rows. */
export const BAD_EVERY = 5;

/** A message every query's source must send to the dead letter, once, with its id (negative: no row has it) in the letter's raw text. */
export function encodeBad(id: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ id, key: "bad", value: "not a number", ts: new Date(BASE_TIME).toISOString(), guid: `bad${id}`, dup: false, late: false }));
}

export function encodeRow(row: InputRow): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ id: row.id, key: row.key, value: row.value, ts: new Date(row.ts).toISOString(), guid: row.guid, dup: row.dup, late: row.late }));
}

/**
 * Publishes the rows at a steady rate with Nats-Msg-Id `in-<id>`, retrying a failed publish (nats-server down)
 * until it is acked: the stream then holds every row once, in an order the verifier reads back. It publishes no
 * further than `allow()` lets it, so the runner can spread the input over the kill schedule.
 */
export class InputPublisher {
  /** When the first attempt of each row was sent (ms since the epoch): a query cannot have seen a row before. */
  readonly sentAt: number[] = [];
  /** The ids of the bad messages published (acked), in order. */
  readonly badPublished: number[] = [];
  private allowed = 0;
  private total: number;
  private wake: (() => void) | undefined;
  private finished: Promise<void> | undefined;
  retries = 0;

  constructor(private readonly access: () => JetStreamAccess, private readonly rows: readonly InputRow[], private readonly rowsPerSecond: number) {
    this.total = rows.length;
  }

  start(): void {
    this.finished = this.run();
  }

  /** Lets the publisher go on up to `count` rows in all. */
  allow(count: number): void {
    this.allowed = Math.min(this.total, Math.max(this.allowed, count));
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Ends the input at the rows allowed so far; returns their count. */
  truncate(): number {
    this.total = this.allowed;
    return this.total;
  }

  /** Resolves when every row is acked. */
  async done(): Promise<void> {
    this.allow(this.total);
    await this.finished;
  }

  get published(): number {
    return this.sentAt.length;
  }

  private async run(): Promise<void> {
    let paced = Date.now();
    for (let from = 0; from < this.total; from += PUBLISH_BATCH) {
      if (from >= this.allowed) {
        while (from >= this.allowed && from < this.total) await new Promise<void>((resolve) => (this.wake = resolve));
        if (from >= this.total) break;
        paced = Date.now();
      }
      paced += (PUBLISH_BATCH / this.rowsPerSecond) * 1000;
      if (paced > Date.now()) await new Promise((resolve) => setTimeout(resolve, paced - Date.now()));
      const batch = this.rows.slice(from, from + PUBLISH_BATCH);
      for (const _row of batch) this.sentAt.push(Date.now());
      const messages = batch.map((row) => ({ payload: encodeRow(row), msgId: `in-${row.id}` }));
      const batchIndex = from / PUBLISH_BATCH + 1;
      if (batchIndex % BAD_EVERY === 0) {
        const id = -(batchIndex / BAD_EVERY);
        messages.push({ payload: encodeBad(id), msgId: `bad-${-id}` });
        this.badPublished.push(id);
      }
      let pending = messages;
      while (pending.length > 0) {
        const results = await Promise.allSettled(pending.map((message) => this.access().publish(INPUT_SUBJECT, message.payload, { msgId: message.msgId })));
        pending = pending.filter((_message, index) => results[index]?.status === "rejected");
        if (pending.length > 0) {
          this.retries++;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    }
  }
}
