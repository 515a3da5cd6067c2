// A transport whose real target is set when the session connects; lets sources be configured before that.
import { ConfigError, TransportError } from "../core/errors.ts";
import type { JetStreamAccess } from "./jetstream.ts";
import type { ConnectedServer, MessageHandler, RejectedHandler, Subscription, Transport } from "./transport.ts";

export class LazyTransport implements Transport {
  private target: Transport | undefined;

  get kind(): Transport["kind"] {
    return this.connected().kind;
  }

  get address(): string {
    return this.target?.address ?? "not connected";
  }

  get maxPayload(): number {
    return this.connected().maxPayload;
  }

  get isConnected(): boolean {
    return this.target !== undefined;
  }

  connect(target: Transport): void {
    this.target = target;
  }

  publish(subject: string, payload: Uint8Array): void {
    this.connected().publish(subject, payload);
  }

  subscribe(subject: string, handler: MessageHandler): Subscription {
    return this.connected().subscribe(subject, handler);
  }

  flush(): Promise<void> {
    return this.connected().flush();
  }

  onFailure(callback: (error: Error) => void): void {
    this.connected().onFailure(callback);
  }

  onRejected(callback: RejectedHandler): void {
    this.connected().onRejected(callback);
  }

  onReconnect(callback: (disconnectedAt: number) => void): void {
    this.connected().onReconnect?.(callback);
  }

  connectedServer(): ConnectedServer | undefined {
    return this.target?.connectedServer?.();
  }

  /** Forwards to the connected transport, which must be a NATS one. */
  jetstream(): JetStreamAccess {
    const target = this.connected();
    if (!target.jetstream) throw new ConfigError(`JetStream needs a NATS transport, but the session runs on the ${target.kind} transport. Configure NATS (rill.nats.url, or leave rill.transport unset with nats-server installed).`);
    return target.jetstream();
  }

  async close(): Promise<void> {
    const target = this.target;
    this.target = undefined;
    await target?.close();
  }

  private connected(): Transport {
    if (!this.target) throw new TransportError("The session is not connected yet: the transport is set up by the first writeStream...start().");
    return this.target;
  }
}
