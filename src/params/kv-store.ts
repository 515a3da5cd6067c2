// Parameter values in a NATS KV bucket: read once, then watched, so a change made anywhere is seen within moments.
//
// The store has its own connection, which reconnects forever: the broker going away never fails a query. While it is
// away the last values known stay in force and status() says so; the watch picks up where it was when it returns.
import { Kvm, type KV } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { redactServerUrl, serverList, splitServerUrl } from "../actors/nats-url.ts";
import { ConfigError, TransportError } from "../core/errors.ts";
import type { ParamEntry, ParamStore, ParamStoreStatus } from "./store.ts";
import { decodeValue, encodeValue, PARAM_NAME, PARAM_TYPES, type ParamType, type ParamValue } from "./types.ts";

const TYPE_PREFIX = "_type.";
/** Revisions kept per key: `rill param` and the dashboard show this much history. */
const HISTORY = 64;

/** How to reach the bucket's server: URLs (credentials may be written into them) and, optionally, credentials and TLS. */
export interface ParamConnection {
  readonly servers: string | readonly string[];
  readonly user?: string | undefined;
  readonly pass?: string | undefined;
  readonly token?: string | undefined;
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string } | undefined;
}

export class KvParamStore implements ParamStore {
  readonly description: string;
  private readonly values = new Map<string, ParamEntry>();
  private readonly declared = new Map<string, ParamType>();
  private readonly listeners: Array<() => void> = [];
  private connection: NatsConnection | undefined;
  private bucket: KV | undefined;
  private connected = false;
  private message: string | undefined;
  private closed = false;
  /** Resolves once the bucket's values have been read (or never, while it cannot be reached). */
  readonly loaded: Promise<void>;

  constructor(private readonly connectionOptions: ParamConnection, private readonly bucketName: string) {
    const urls = serverList(connectionOptions.servers);
    if (urls.length === 0) throw new ConfigError("No NATS server URL given for the parameter bucket.");
    this.description = `NATS KV bucket '${bucketName}' at ${urls.map(redactServerUrl).join(",")}`;
    this.message = `connecting to ${this.description}`;
    this.loaded = this.open();
    // A failure is kept in status(); the loaded promise never rejects into the void.
    this.loaded.catch((error: unknown) => {
      this.message = `cannot open ${this.description}: ${error instanceof Error ? error.message : String(error)}`;
    });
  }

  private async open(): Promise<void> {
    const connection = await this.connectUntilClosed();
    if (!connection) return;
    if (this.closed) {
      await connection.close();
      return;
    }
    this.connection = connection;
    this.connected = true;
    this.message = undefined;
    void this.followStatus(connection);
    const bucket = await new Kvm(connection).create(this.bucketName, { history: HISTORY });
    this.bucket = bucket;
    // The watch first delivers every key's last value (the last of them with nothing pending), then each change.
    const status = await bucket.status();
    let markRead = (): void => undefined;
    const read = new Promise<void>((resolve) => {
      markRead = resolve;
    });
    if (status.values === 0) markRead();
    const watch = await bucket.watch({ key: ">" });
    const following = (async () => {
      for await (const entry of watch) {
        this.apply(entry.key, entry.operation, entry.value, entry.revision, entry.created);
        if (entry.delta === 0) markRead();
      }
    })();
    following.catch((error: unknown) => {
      this.message = `the watch of ${this.description} ended: ${error instanceof Error ? error.message : String(error)}`;
      markRead();
    });
    await read;
  }

  /** Tries again (0.25 s, doubling to 2 s) until the server answers or the store is closed: never a failure. */
  private async connectUntilClosed(): Promise<NatsConnection | undefined> {
    const options = this.connectionOptions;
    const split = serverList(options.servers).map(splitServerUrl);
    const fromUrl = split.find((entry) => Object.keys(entry.credentials).length > 0)?.credentials ?? {};
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        return await connect({
          servers: split.map((entry) => entry.server),
          user: options.user ?? fromUrl.user,
          pass: options.pass ?? fromUrl.pass,
          token: options.token ?? fromUrl.token,
          ...(options.tls ? { tls: { ...options.tls } } : {}),
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          name: "rill-params",
        });
      } catch (error) {
        // Counted in status(): the query runs on with the values it has, and this loop tries again.
        this.message = `${this.description} is unreachable (${error instanceof Error ? error.message : String(error)}); the last values known stay in force`;
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 250 * 2 ** attempt)).unref());
      }
    }
    return undefined;
  }

  private async followStatus(connection: NatsConnection): Promise<void> {
    for await (const status of connection.status()) {
      if (status.type === "disconnect") {
        this.connected = false;
        this.message = `${this.description} is unreachable; the last values known stay in force`;
      } else if (status.type === "reconnect") {
        this.connected = true;
        this.message = undefined;
      }
    }
  }

  private apply(key: string, operation: string, bytes: Uint8Array, revision: number, created: Date): void {
    if (key.startsWith(TYPE_PREFIX)) {
      const name = key.slice(TYPE_PREFIX.length);
      const type = new TextDecoder().decode(bytes);
      if (operation === "PUT" && (PARAM_TYPES as readonly string[]).includes(type)) this.declared.set(name, type as ParamType);
      else this.declared.delete(name);
      return;
    }
    if (!PARAM_NAME.test(key)) return;
    const known = this.values.get(key);
    if (known && known.revision >= revision) return;
    if (operation !== "PUT") {
      this.values.delete(key);
    } else {
      const value = decodeValue(bytes);
      if (value === undefined) {
        this.message = `the entry '${key}' (revision ${revision}) of ${this.description} is not a JSON number, string or boolean; the value before it stays in force`;
        return;
      }
      this.values.set(key, { name: key, value, revision, time: created.toISOString() });
    }
    for (const listener of this.listeners) listener();
  }

  entries(): ReadonlyMap<string, ParamEntry> {
    return this.values;
  }

  types(): ReadonlyMap<string, ParamType> {
    return this.declared;
  }

  async put(name: string, value: ParamValue): Promise<number> {
    const bucket = this.requireBucket();
    const revision = await bucket.put(name, encodeValue(value));
    // Seen here at once (the watch brings the same entry again, and it is then skipped by its revision).
    this.apply(name, "PUT", encodeValue(value), revision, new Date());
    return revision;
  }

  async declareType(name: string, type: ParamType): Promise<void> {
    if (this.declared.get(name) === type || !this.bucket || !this.connected) return;
    await this.bucket.put(`${TYPE_PREFIX}${name}`, new TextEncoder().encode(type));
  }

  /** Every revision the bucket keeps of one parameter, oldest first. */
  async history(name: string): Promise<ParamEntry[]> {
    const bucket = this.requireBucket();
    const entries: ParamEntry[] = [];
    for await (const entry of await bucket.history({ key: name })) {
      const value = entry.operation === "PUT" ? decodeValue(entry.value) : undefined;
      if (value !== undefined) entries.push({ name, value, revision: entry.revision, time: entry.created.toISOString() });
    }
    return entries;
  }

  status(): ParamStoreStatus {
    return this.message === undefined ? { connected: this.connected } : { connected: this.connected, message: this.message };
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connection?.close();
  }

  private requireBucket(): KV {
    if (!this.bucket || !this.connected) throw new TransportError(`Cannot write to ${this.description}: ${this.message ?? "it is not reachable"}.`);
    return this.bucket;
  }
}
