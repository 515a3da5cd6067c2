// The uplink outbox: a durable FIFO of messages in LMDB, filled by epoch commits and emptied by a forwarder after the far end acked.
//
// Layout: ["attempt", epoch, token] names a query attempt that prepared an epoch, and ["prepared-by", epoch, token, index]
// holds its messages between the barrier and the commit (each attempt's apart, so a stalled attempt that resumes and
// prepares an epoch again never replaces what the committing attempt prepared; ["prepared", epoch, index] is the layout
// of a Rill before attempts, read as token ""); ["queued", seq] the committed ones in order, each with the time its
// epoch was queued (for the queue's oldest age); ["meta"] the next sequence number, the last epoch moved in, and the queue's size.
// Moving an epoch in is one transaction and a no-op for an epoch at or below the last one, so a commit repeated
// after a crash queues nothing twice: the queue is exactly-once with respect to the query's checkpoint.
import { mkdirSync } from "node:fs";
import { open, type RootDatabase } from "lmdb";
import type { PreparedBy } from "../connectors/sinks/prepared-epochs.ts";
import { CheckpointWriteError } from "../core/errors.ts";
import { messageBytes, type OutboxMessage } from "./outbox-message.ts";

export { messageBytes, type OutboxMessage };

export interface QueuedMessage extends OutboxMessage {
  readonly seq: number;
  /** When the message's epoch committed into the queue (ms, Date.now()); absent in a queue written before it was kept. */
  readonly queuedAt?: number;
}

export interface OutboxLevel {
  readonly messages: number;
  readonly bytes: number;
  /** When the oldest queued message was queued (ms, Date.now()); undefined when the queue is empty. */
  readonly oldestQueuedAt: number | undefined;
}

interface Meta {
  nextSeq: number;
  lastEpoch: number;
  messages: number;
  bytes: number;
}

type Key = (string | number)[];
const META: Key = ["meta"];

export class Outbox {
  private constructor(private readonly db: RootDatabase<unknown, Key>, readonly path: string) {}

  static open(path: string): Outbox {
    mkdirSync(path, { recursive: true });
    const db = open<unknown, Key>({ path, compression: false, noSubdir: false, eventTurnBatching: false });
    return new Outbox(db, path);
  }

  private meta(): Meta {
    return (this.db.get(META) as Meta | undefined) ?? { nextSeq: 0, lastEpoch: -1, messages: 0, bytes: 0 };
  }

  level(): OutboxLevel {
    const meta = this.meta();
    return { messages: meta.messages, bytes: meta.bytes, oldestQueuedAt: meta.messages > 0 ? this.peek(1)[0]?.queuedAt : undefined };
  }

  get lastEpoch(): number {
    return this.meta().lastEpoch;
  }

  /** Epochs prepared and not moved in, oldest first. */
  preparedEpochs(): number[] {
    const epochs = new Set<number>();
    for (const prefix of ["prepared", "attempt"]) {
      for (const key of this.db.getKeys({ start: [prefix, -1], end: [prefix, Number.MAX_SAFE_INTEGER] })) epochs.add((key as Key)[1] as number);
    }
    return [...epochs].sort((a, b) => a - b);
  }

  /** The attempts that prepared `epoch`: token "" (attempt undefined) for a preparation of a Rill before attempts. */
  preparations(epoch: number): Array<{ readonly token: string; readonly attempt: PreparedBy | undefined }> {
    const found: Array<{ token: string; attempt: PreparedBy | undefined }> = [];
    for (const _legacy of this.db.getKeys({ start: ["prepared", epoch, -1], end: ["prepared", epoch, Number.MAX_SAFE_INTEGER], limit: 1 })) found.push({ token: "", attempt: undefined });
    for (const { key, value } of this.db.getRange({ start: ["attempt", epoch, ""], end: ["attempt", epoch, "\uffff"] })) found.push({ token: (key as Key)[2] as string, attempt: value as PreparedBy });
    return found;
  }

  /** Writes an epoch's messages durably, not queued yet, as `attempt`'s (`token`) preparation, replacing only that attempt's. */
  async prepare(epoch: number, token: string, attempt: PreparedBy, messages: readonly OutboxMessage[]): Promise<void> {
    await this.write(`the messages of epoch ${epoch}`, () => this.db.transaction(() => {
      for (const key of [...this.db.getKeys(preparedRange(epoch, token))] as Key[]) this.db.remove(key);
      this.db.put(["attempt", epoch, token], attempt);
      messages.forEach((message, index) => this.db.put(["prepared-by", epoch, token, index], message));
    }));
  }

  /**
   * Moves `token`'s preparation of an epoch to the end of the queue and removes every preparation of the epoch; an
   * epoch at or below the last one moved is dropped instead.
   */
  async commit(epoch: number, token: string): Promise<void> {
    await this.write(`the commit of epoch ${epoch}`, () => this.db.transaction(() => {
      const meta = this.meta();
      const prepared = [...this.db.getRange(token === "" ? legacyRange(epoch) : preparedRange(epoch, token))];
      this.removePrepared(epoch);
      if (epoch <= meta.lastEpoch) return;
      const queuedAt = Date.now();
      for (const { value } of prepared) {
        const message = value as OutboxMessage;
        this.db.put(["queued", meta.nextSeq++], { ...message, queuedAt });
        meta.messages++;
        meta.bytes += messageBytes(message);
      }
      meta.lastEpoch = epoch;
      this.db.put(META, meta);
    }));
  }

  /**
   * Forgets the preparations of epochs above `epoch` (never committed) that `removed` picks by their attempt (every
   * one by default; undefined: a Rill before attempts), and sets the last epoch no higher than it (a new checkpoint).
   */
  async discardAfter(epoch: number, removed: (attempt: PreparedBy | undefined) => boolean = () => true): Promise<void> {
    await this.write(`the removal of epochs after ${epoch}`, () => this.db.transaction(() => {
      for (const prepared of this.preparedEpochs()) {
        if (prepared <= epoch) continue;
        for (const { token, attempt } of this.preparations(prepared)) if (removed(attempt)) this.removePreparation(prepared, token);
      }
      const meta = this.meta();
      if (meta.lastEpoch > epoch) this.db.put(META, { ...meta, lastEpoch: epoch });
    }));
  }

  /** The oldest `limit` queued messages, in order. */
  peek(limit: number): QueuedMessage[] {
    const out: QueuedMessage[] = [];
    for (const { key, value } of this.db.getRange({ start: ["queued", -1], end: ["queued", Number.MAX_SAFE_INTEGER], limit })) {
      out.push({ ...(value as OutboxMessage), seq: (key as Key)[1] as number });
    }
    return out;
  }

  /** Prepared messages (an epoch between its barrier and its commit), every attempt's, oldest epoch first: for inspection. */
  prepared(): OutboxMessage[] {
    return this.preparedEpochs().flatMap((epoch) => [
      ...[...this.db.getRange(legacyRange(epoch))].map(({ value }) => value as OutboxMessage),
      ...[...this.db.getRange({ start: ["prepared-by", epoch, ""], end: ["prepared-by", epoch, "\uffff"] })].map(({ value }) => value as OutboxMessage),
    ]);
  }

  /** Removes delivered messages (the far end acked them). */
  async remove(delivered: readonly QueuedMessage[]): Promise<void> {
    await this.write("the removal of delivered messages", () => this.db.transaction(() => {
      const meta = this.meta();
      for (const message of delivered) {
        if (this.db.get(["queued", message.seq]) === undefined) continue;
        this.db.remove(["queued", message.seq]);
        meta.messages--;
        meta.bytes -= messageBytes(message);
      }
      this.db.put(META, meta);
    }));
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** Removes every attempt's preparation of `epoch` (the range read whole first: removing under a cursor skips entries). */
  private removePrepared(epoch: number): void {
    const keys = [
      ...this.db.getKeys(legacyRange(epoch)),
      ...this.db.getKeys({ start: ["attempt", epoch, ""], end: ["attempt", epoch, "\uffff"] }),
      ...this.db.getKeys({ start: ["prepared-by", epoch, ""], end: ["prepared-by", epoch, "\uffff"] }),
    ] as Key[];
    for (const key of keys) this.db.remove(key);
  }

  /** Removes one attempt's preparation of `epoch` (token "": the layout of a Rill before attempts). */
  private removePreparation(epoch: number, token: string): void {
    const keys = token === "" ? [...this.db.getKeys(legacyRange(epoch))] : [["attempt", epoch, token], ...this.db.getKeys(preparedRange(epoch, token))];
    for (const key of keys as Key[]) this.db.remove(key);
  }

  private async write(what: string, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      throw new CheckpointWriteError(`Cannot write ${what} to the store-and-forward queue at '${this.path}': ${String(error)}`, { cause: error });
    }
  }
}

/** The messages one attempt prepared for an epoch. */
function preparedRange(epoch: number, token: string): { start: Key; end: Key } {
  return { start: ["prepared-by", epoch, token, -1], end: ["prepared-by", epoch, token, Number.MAX_SAFE_INTEGER] };
}

/** An epoch's messages in the layout of a Rill before attempts. */
function legacyRange(epoch: number): { start: Key; end: Key } {
  return { start: ["prepared", epoch, -1], end: ["prepared", epoch, Number.MAX_SAFE_INTEGER] };
}
