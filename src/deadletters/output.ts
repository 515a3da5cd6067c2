// The dead-letter output: publishes letters into a JetStream stream (created when none captures the subject), each
// committed letter with its Nats-Msg-Id, or as core NATS messages where there is no JetStream. A letter is never dropped
// here: a publish the stream refuses (full, unreachable) is tried again with back-off and reported, and a committed
// letter leaves the checkpoint only once its publish was acknowledged.
import type { JetStreamAccess } from "../actors/jetstream.ts";
import type { Subscription, Transport } from "../actors/transport.ts";
import { decodeControl } from "../actors/control.ts";
import { faultPoint } from "../core/fault-points.ts";
import type { CheckpointStorage } from "../state/lmdb-storage.ts";
import { LETTERS_KEY_GROUP, LETTERS_STATE_ID, decideLetters, letterKey, letterMessageId, parseLetterKey, retryDelayMs, type LetterAddress } from "./protocol.ts";

/** Where letters go, and the stream Rill creates for them when no stream captures the subject. */
export interface DeadLetterSettings {
  readonly subject: string;
  /** The name of the stream Rill creates (rill.deadLetter.stream). */
  readonly stream: string;
  /** The subjects that stream captures: every query's default letter subject (`<prefix>.*.deadletter`), or the configured one. */
  readonly streamSubjects: readonly string[];
  readonly maxMessages?: number | undefined;
  readonly maxBytes?: number | undefined;
  readonly maxAgeMs?: number | undefined;
  readonly duplicateWindowMs?: number | undefined;
}

/** What query.status reports about the dead-letter output. */
export interface DeadLetterOutputStatus {
  /** "jetstream" (the stream holds the letters), "core" (plain NATS messages: only as durable as their subscriber), or not known before the first letter. */
  readonly target: "jetstream" | "core" | "unknown";
  readonly stream: string | undefined;
  /** Letters to publish that the stream has not acknowledged yet (committed ones stay in the checkpoint meanwhile). */
  readonly waiting: number;
  readonly published: number;
  /** Publishes the stream dropped as duplicates: a letter published again after a crash between its publish and its removal. */
  readonly duplicates: number;
  /** Publishes that failed and were tried again. */
  readonly retries: number;
  readonly lastError: string | undefined;
}

/** How many committed letters are published before the acknowledged ones are removed from the checkpoint. */
const BATCH = 64;
/** How long a stop lets the publishing under way go on. */
const DRAIN_MS = 5000;

export class DeadLetterOutput {
  private access: JetStreamAccess | undefined;
  private target: "jetstream" | "core" | undefined;
  /** The target last resolved, for the status while a refused letter makes the output look for its stream again. */
  private lastTarget: "jetstream" | "core" | undefined;
  private stream: string | undefined;
  private stopped = false;
  /** Back-off pauses under way (letters of a batch retry side by side); stop() ends them. */
  private readonly pauses = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  /** Letters sent at once (no checkpoint), in order. */
  private immediate: Promise<void> = Promise.resolve();
  private round: Promise<void> | undefined;
  private roundAgain = false;
  private commitSubscription: Subscription | undefined;
  private waitingNow = 0;
  private waitingCommitted = 0;
  private published = 0;
  private duplicates = 0;
  private retries = 0;
  private lastError: string | undefined;

  constructor(private readonly transport: Transport, private readonly settings: DeadLetterSettings, private readonly log: (line: string) => void = () => undefined) {}

  get subject(): string {
    return this.settings.subject;
  }

  status(): DeadLetterOutputStatus {
    return { target: this.target ?? this.lastTarget ?? "unknown", stream: this.stream, waiting: this.waitingNow + this.waitingCommitted, published: this.published, duplicates: this.duplicates, retries: this.retries, lastError: this.lastError };
  }

  /** A letter of a query without a checkpoint (nothing to replay, so nothing to hold): published now, after those before it. */
  publishNow(payload: Uint8Array): void {
    this.waitingNow++;
    this.immediate = this.immediate.then(async () => {
      if (await this.deliver(payload, undefined)) this.waitingNow--;
      else this.log(`rill: a dead letter for '${this.settings.subject}' was not published before the query stopped (it had no checkpoint to keep it in): ${new TextDecoder().decode(payload).slice(0, 200)}`);
    });
  }

  /** Resolves once every letter given to `publishNow` so far has been acknowledged (or the output stopped). */
  async drained(): Promise<void> {
    await this.immediate;
  }

  /**
   * On the driver of a checkpointed query: publishes the committed letters the checkpoint still holds (a crash may have
   * left some), then again after every `commit N` on the control subject.
   */
  watchCommits(controlSubject: string, storage: CheckpointStorage, queryId: string): void {
    this.commitSubscription = this.transport.subscribe(controlSubject, (payload) => {
      if (decodeControl(payload).type === "commit") void this.publishCommitted(storage, queryId);
    });
    void this.publishCommitted(storage, queryId);
  }

  /** Publishes every committed letter in the checkpoint; a call while a round runs makes one more round after it. */
  publishCommitted(storage: CheckpointStorage, queryId: string): Promise<void> {
    if (this.round) {
      this.roundAgain = true;
      return this.round;
    }
    const round = (async () => {
      do {
        this.roundAgain = false;
        await this.publishFromCheckpoint(storage, queryId);
      } while (this.roundAgain && !this.stopped);
    })().catch((error: unknown) => {
      // A failed removal (the checkpoint cannot be written) leaves the letters there: the next commit or run publishes them again, with their ids.
      this.lastError = String(error);
      this.log(`rill: publishing the committed dead letters of '${this.settings.subject}' stopped: ${String(error)}; they stay in the checkpoint and are published after the next commit`);
    }).finally(() => {
      this.round = undefined;
    });
    this.round = round;
    return round;
  }

  /**
   * Stops publishing. What is under way may finish for up to DRAIN_MS (a graceful stop's last commit is published then);
   * past that, retries end and committed letters stay in the checkpoint, which the next run publishes with their ids.
   */
  async stop(): Promise<void> {
    this.commitSubscription?.unsubscribe();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([this.round, this.immediate]), new Promise<void>((resolve) => (timer = setTimeout(resolve, DRAIN_MS)))]);
    clearTimeout(timer);
    this.stopped = true;
    for (const pause of this.pauses) {
      clearTimeout(pause.timer);
      pause.resolve();
    }
    this.pauses.clear();
    await this.round;
    await this.immediate;
  }

  private async publishFromCheckpoint(storage: CheckpointStorage, queryId: string): Promise<void> {
    const payloads = new Map<string, Uint8Array>();
    const committed: LetterAddress[] = [];
    for (const [key, value] of storage.readState(LETTERS_STATE_ID, () => true)) {
      const address = parseLetterKey(key);
      if (!address || !(value instanceof Uint8Array)) continue;
      payloads.set(key, value);
      committed.push(address);
    }
    const { publish } = decideLetters({ lastCommittedEpoch: Number.POSITIVE_INFINITY, committed, pending: [] });
    this.waitingCommitted = publish.length;
    for (let start = 0; start < publish.length && !this.stopped; start += BATCH) {
      const batch = publish.slice(start, start + BATCH);
      const keys = batch.map(letterKey);
      const delivered = await Promise.all(batch.map(async (address, index) => {
        const acked = await this.deliver(payloads.get(keys[index] as string) as Uint8Array, letterMessageId(queryId, address));
        if (acked) this.waitingCommitted--;
        return acked;
      }));
      if (delivered.includes(false)) return;
      faultPoint("deadletter-published");
      await storage.removeState(LETTERS_STATE_ID, LETTERS_KEY_GROUP, keys);
    }
  }

  /** Publishes one letter, trying again with back-off until it is acknowledged; false when the output stopped first. */
  private async deliver(payload: Uint8Array, msgId: string | undefined): Promise<boolean> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.publishOnce(payload, msgId);
        this.published++;
        return true;
      } catch (error) {
        // The stream may be gone or changed: find or create it again before the next attempt.
        this.target = undefined;
        this.retries++;
        this.lastError = error instanceof Error ? error.message : String(error);
        if ((attempt & (attempt - 1)) === 0) this.log(`rill: the dead-letter output '${this.settings.subject}' refused a letter (attempt ${attempt}; trying again with back-off, nothing is dropped): ${this.lastError}`);
        await this.wait(retryDelayMs(attempt));
      }
    }
    return false;
  }

  private async publishOnce(payload: Uint8Array, msgId: string | undefined): Promise<void> {
    if ((await this.resolveTarget()) === "core") {
      this.transport.publish(this.settings.subject, payload);
      return;
    }
    const ack = await (this.access as JetStreamAccess).publish(this.settings.subject, payload, msgId === undefined ? {} : { msgId });
    if (ack.duplicate) this.duplicates++;
  }

  /** JetStream when the transport has it (the stream that captures the subject, created if none does); core NATS otherwise. */
  private async resolveTarget(): Promise<"jetstream" | "core"> {
    if (this.target) return this.target;
    if (!this.transport.jetstream) return this.useCore(`the ${this.transport.kind} transport has no JetStream`);
    this.access ??= this.transport.jetstream();
    let stream: string | undefined;
    try {
      stream = await this.access.findStream(this.settings.subject);
    } catch (error) {
      if (jetstreamMissing(error)) return this.useCore(`JetStream is not enabled on ${this.transport.address}`);
      throw error;
    }
    this.stream = stream ?? (await this.createStream(this.access));
    this.target = this.lastTarget = "jetstream";
    return this.target;
  }

  private async createStream(access: JetStreamAccess): Promise<string> {
    const { stream, streamSubjects, maxMessages, maxBytes, maxAgeMs, duplicateWindowMs } = this.settings;
    const existing = await access.streamInfo(stream);
    const subjects = [...new Set([...(existing?.subjects ?? []), ...streamSubjects])];
    // Discard "new": a full stream refuses a letter (which is kept and tried again) instead of dropping its oldest one.
    await access.addStream({ name: stream, subjects, maxMessages, maxBytes, maxAgeMs, duplicateWindowMs, discard: "new" });
    this.log(`rill: ${existing ? "extended" : "created"} the JetStream stream '${stream}' (subjects ${subjects.join(", ")}) for dead letters`);
    return stream;
  }

  private useCore(why: string): "core" {
    this.log(`rill: ${why}, so dead letters on '${this.settings.subject}' go out as core NATS messages (a query's after their epoch commits): they are only as durable as their subscriber.`);
    this.target = this.lastTarget = "core";
    return this.target;
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const pause = {
        timer: setTimeout(() => {
          this.pauses.delete(pause);
          resolve();
        }, ms),
        resolve,
      };
      this.pauses.add(pause);
    });
  }
}

/** A server without JetStream: no responder for the JetStream API, which the client reports as "not enabled". */
function jetstreamMissing(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) if (/jetstream (is )?not enabled|no responders/i.test(cause.message) || cause.name === "JetStreamNotEnabled") return true;
  return false;
}
