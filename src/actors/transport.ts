// The transport seam: actors see subjects and byte payloads, never the broker behind them.
import type { JetStreamAccess } from "./jetstream.ts";

export type MessageHandler = (payload: Uint8Array, subject: string) => void;

export type RejectedHandler = (subject: string, error: unknown) => void;

/** Wraps a handler so that what it throws goes to the rejection callbacks instead of the caller. */
export function guardHandler(handler: MessageHandler, rejected: readonly RejectedHandler[]): MessageHandler {
  return (payload, subject) => {
    try {
      handler(payload, subject);
    } catch (error) {
      for (const callback of rejected) callback(subject, error);
    }
  };
}

/** A NATS node as its INFO names it: `server_name` (the server id when it has no name) and the URL the client dialled. */
export interface ConnectedServer {
  readonly name: string;
  readonly url: string;
}

export interface Subscription {
  unsubscribe(): void;
}

export interface Transport {
  /** "nats" for a real broker, "inprocess" for the embedded baseline. */
  readonly kind: "nats" | "inprocess";
  /** A description for logs and explain(): the server address or "in-process". */
  readonly address: string;
  /** Largest payload the broker accepts, in bytes (frames are split to stay under it). */
  readonly maxPayload: number;
  publish(subject: string, payload: Uint8Array): void;
  /** Subjects may use NATS wildcards (`*` one token, `>` the rest). */
  subscribe(subject: string, handler: MessageHandler): Subscription;
  /** Resolves when everything published so far has reached the broker. */
  flush(): Promise<void>;
  /** Registers a callback for failures of the transport itself (connection lost for good). */
  onFailure(callback: (error: Error) => void): void;
  /**
   * Registers a callback for messages a handler rejected (it threw: bytes that do not decode, a forged or stray frame).
   * A handler's error never reaches the broker's client, where it would stop delivery for every subscription.
   */
  onRejected(callback: RejectedHandler): void;
  /**
   * Registers a callback for a connection that came back after an interruption: frames in flight may be lost.
   * `disconnectedAt` (Date.now()) is when the connection dropped: only what was in flight then can be lost.
   */
  onReconnect?(callback: (disconnectedAt: number) => void): void;
  /** The broker node the connection is on now (a cluster's clients move between nodes); only a NATS transport has it. */
  connectedServer?(): ConnectedServer | undefined;
  /** JetStream (streams, replayable reads, acknowledged publishing); only a NATS transport has it. */
  jetstream?(): JetStreamAccess;
  close(): Promise<void>;
}
