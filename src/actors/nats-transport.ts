// The NATS transport: the one module that imports the NATS client.
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { readFile } from "node:fs/promises";
import { TransportError } from "../core/errors.ts";
import type { MessageHandler, Subscription, Transport } from "./transport.ts";

/** How to reach a NATS server or cluster; everything but `servers` is passed through to the client. */
export interface NatsOptions {
  servers: string | string[];
  user?: string;
  pass?: string;
  token?: string;
  /** Path of a NATS credentials (.creds) file. */
  credsFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  name?: string;
}

export class NatsTransport implements Transport {
  readonly kind = "nats" as const;
  readonly address: string;
  private readonly failureCallbacks: Array<(error: Error) => void> = [];

  private constructor(private readonly connection: NatsConnection, address: string) {
    this.address = address;
    void this.watchClosed();
  }

  static async connect(options: NatsOptions): Promise<NatsTransport> {
    const servers = Array.isArray(options.servers) ? options.servers : [options.servers];
    try {
      const connection = await connect({
        servers,
        user: options.user,
        pass: options.pass,
        token: options.token,
        authenticator: options.credsFile ? credsAuthenticator(await readFile(options.credsFile)) : undefined,
        tls: options.tls,
        name: options.name ?? "rill",
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
      });
      return new NatsTransport(connection, servers.join(","));
    } catch (error) {
      throw new TransportError(`Cannot connect to NATS at ${servers.join(", ")}: ${String(error)}. Check that nats-server runs there, or configure no URL to let Rill start a private one.`, { cause: error });
    }
  }

  get maxPayload(): number {
    return this.connection.info?.max_payload ?? 1024 * 1024;
  }

  publish(subject: string, payload: Uint8Array): void {
    this.connection.publish(subject, payload);
  }

  subscribe(subject: string, handler: MessageHandler): Subscription {
    const subscription = this.connection.subscribe(subject, {
      callback: (error, message) => {
        if (error) {
          this.fail(new TransportError(`Subscription to '${subject}' failed: ${error.message}`, { cause: error }));
          return;
        }
        handler(message.data, message.subject);
      },
    });
    return { unsubscribe: () => subscription.unsubscribe() };
  }

  async flush(): Promise<void> {
    await this.connection.flush();
  }

  onFailure(callback: (error: Error) => void): void {
    this.failureCallbacks.push(callback);
  }

  async close(): Promise<void> {
    if (this.connection.isClosed()) return;
    await this.connection.drain().catch(() => this.connection.close());
  }

  private async watchClosed(): Promise<void> {
    const error = await this.connection.closed();
    if (error) this.fail(new TransportError(`NATS connection to ${this.address} closed: ${error.message}`, { cause: error }));
  }

  private fail(error: Error): void {
    for (const callback of this.failureCallbacks) callback(error);
  }
}
