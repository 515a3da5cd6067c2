// What the JetStream connectors need from a NATS transport: streams, a cursor over a stream, and acknowledged publishing.
//
// Types only: the NATS transport implements them (it is the one module that imports the client);
// the in-process transport does not, so `Transport.jetstream` is optional.

/** A stream as the connectors see it. Sequences are the stream's own (1-based; 0 when it never held a message). */
export interface JetStreamStreamInfo {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly messages: number;
  readonly firstSequence: number;
  readonly lastSequence: number;
  /** How long the stream remembers a Nats-Msg-Id to drop a duplicate publish (ms). */
  readonly duplicateWindowMs: number;
}

export interface JetStreamStreamConfig {
  readonly name: string;
  readonly subjects: readonly string[];
  /** Default: the server's (2 minutes). */
  readonly duplicateWindowMs?: number;
  /** Default: "file". */
  readonly storage?: "file" | "memory";
  /** Limits (default: none); with `discard` "new" a full stream refuses a publish instead of dropping its oldest message. */
  readonly maxMessages?: number;
  readonly maxBytes?: number;
  readonly maxAgeMs?: number;
  /** Default: "old" (the server's). */
  readonly discard?: "old" | "new";
}

/** Where a cursor starts, before it is resolved to a stream sequence. */
export type JetStreamStart =
  | { readonly kind: "earliest" }
  | { readonly kind: "latest" }
  | { readonly kind: "sequence"; readonly sequence: number }
  | { readonly kind: "time"; readonly time: Date };

export interface JetStreamMessage {
  readonly sequence: number;
  readonly subject: string;
  readonly payload: Uint8Array;
}

/** A cursor's count, and whether it can be short. */
export interface JetStreamCount {
  /** As end(): the count handedOut() reaches once every message the counting replica holds is handed out. */
  readonly count: number;
  /** The count was made by the stream leader (or the stream has one replica): it cannot be short. */
  readonly countedByLeader: boolean;
}

/** What a cursor's end() came from. */
export interface JetStreamEnd extends JetStreamCount {
  /** The stream leader's last sequence, asked for with the count (any subject, the filter aside). */
  readonly leaderLastSequence: number;
}

/** Reads one stream in sequence order (optionally filtered), from a start sequence on; one fetch at a time. */
export interface JetStreamCursor {
  /**
   * Asks for up to `max` messages and hands each to `onMessage` as it arrives; resolves when `max`
   * arrived, when `waitMs` passed, or when the cursor is closed.
   */
  fetch(max: number, waitMs: number, onMessage: (message: JetStreamMessage) => void): Promise<void>;
  /** Messages handed to onMessage so far, over the cursor's whole life. */
  handedOut(): number;
  /**
   * The count handedOut() reaches once every message the stream holds now (matching the filter) is
   * handed out. It is absolute, not a number left to read: messages handed out while the answer is on
   * its way are counted once, whenever the caller looks.
   */
  end(): Promise<number>;
  /**
   * end() with what tells a short count from a true one: a cluster places the counting consumer on any replica of the
   * stream, and one still catching up (a node restarted after a crash) counts only what it holds.
   */
  endFacts(): Promise<JetStreamEnd>;
  /** A new count without asking the stream's state again: whether the leader made it is judged by the leader endFacts() saw. */
  recount(): Promise<JetStreamCount>;
  /** The stream sequence of the last message handed out (the one before the start while none was). */
  lastSequence(): number;
  /**
   * The sequence of the first message matching the filter after lastSequence(), as the stream leader says (undefined
   * when it holds none): deleted, expired and purged messages are not answered.
   */
  nextAtLeader(): Promise<number | undefined>;
  /** Ends a running fetch and removes the consumer from the server. */
  close(): Promise<void>;
}

export interface JetStreamPublishAck {
  readonly stream: string;
  readonly sequence: number;
  /** The stream dropped the message: its msgId was seen within the duplicate window. */
  readonly duplicate: boolean;
}

export interface JetStreamAccess {
  /** The stream, or undefined when there is none of that name. */
  streamInfo(stream: string): Promise<JetStreamStreamInfo | undefined>;
  /** The name of the stream that captures `subject`, or undefined when none does. */
  findStream(subject: string): Promise<string | undefined>;
  /** Creates the stream, or updates it to `config` when it exists. */
  addStream(config: JetStreamStreamConfig): Promise<JetStreamStreamInfo>;
  /** Deletes the stream; false when there was none. */
  deleteStream(stream: string): Promise<boolean>;
  /**
   * The first stream sequence a cursor starting at `start` reads: earliest is 1, latest the one after
   * the last, a time the first message stored at or after it (the one after the last when none is).
   */
  resolveStart(stream: string, start: JetStreamStart): Promise<number>;
  /** A cursor over `stream` from sequence `startSequence` on, limited to subjects matching `filter` when given. */
  openCursor(stream: string, options: { readonly startSequence: number; readonly filter?: string | undefined }): Promise<JetStreamCursor>;
  /** Publishes and resolves with the stream's ack; `msgId` sets Nats-Msg-Id, which the stream de-duplicates on. */
  publish(subject: string, payload: Uint8Array, options?: { readonly msgId?: string }): Promise<JetStreamPublishAck>;
}
