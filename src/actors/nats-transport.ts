// The NATS transport: the one module that imports the NATS client (core NATS and JetStream).
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  JetStreamApiError,
  jetstreamManager,
  StorageType,
  type Consumer,
  type ConsumerConfig,
  type ConsumerInfo,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type MsgRequest,
  type StreamInfo,
} from "@nats-io/jetstream";
import { connect, credsAuthenticator, nanos, NoRespondersError, RequestError, TimeoutError, type NatsConnection } from "@nats-io/transport-node";
import { readFile } from "node:fs/promises";
import { ConfigError, RillError, TransportError } from "../core/errors.ts";
import type {
  JetStreamAccess,
  JetStreamCount,
  JetStreamCursor,
  JetStreamEnd,
  JetStreamMessage,
  JetStreamPublishAck,
  JetStreamStart,
  JetStreamStreamConfig,
  JetStreamStreamInfo,
} from "./jetstream.ts";
import { whileUnavailable } from "./nats-availability.ts";
import { pubLinesFor, type PubLines } from "./pub-lines.ts";
import { redactServerUrl, serverList, splitServerUrl } from "./nats-url.ts";
import { guardHandler, type ConnectedServer, type MessageHandler, type RejectedHandler, type Subscription, type Transport } from "./transport.ts";

/** How to reach a NATS server or cluster; everything but `servers` is passed through to the client. */
export interface NatsOptions {
  /**
   * One URL, a comma-separated list, or an array: the nodes of a cluster (any of them may be down at the start). The
   * client also learns the other nodes from the one it is connected to, and moves to another when its node is lost.
   */
  servers: string | string[];
  user?: string;
  pass?: string;
  token?: string;
  /** Path of a NATS credentials (.creds) file. */
  credsFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  name?: string;
  /**
   * A connection down longer than this is a failure of the transport (default 30 s); JetStream requests that a cluster
   * cannot answer (a lost node's streams electing new leaders) are asked again for as long.
   */
  unreachableTimeoutMs?: number;
  /**
   * How often the client pings its node (default 5 s). A node that answers two pings in a row with nothing (frozen, or
   * cut off by the network with its socket still open) is left for another node of the cluster.
   */
  pingIntervalMs?: number;
}

/** The client's own default is 2 minutes: a frozen node would hold the query that long before the client moved on. */
const DEFAULT_PING_INTERVAL_MS = 5000;

export class NatsTransport implements Transport {
  readonly kind = "nats" as const;
  readonly address: string;
  private readonly failureCallbacks: Array<(error: Error) => void> = [];
  private readonly reconnectCallbacks: Array<(disconnectedAt: number) => void> = [];
  /** When the connection dropped (Date.now()), while it is down. */
  private disconnectedAt: number | undefined;
  private readonly rejectedCallbacks: RejectedHandler[] = [];
  private unreachableTimer: NodeJS.Timeout | undefined;
  /** `PUB` lines from a slab rather than a new ArrayBuffer a message (pub-lines.ts); undefined if the client lacks the members it uses. */
  private readonly pubLines: PubLines | undefined;
  private jetstreamAccess: NatsJetStream | undefined;

  private constructor(private readonly connection: NatsConnection, address: string, private readonly unreachableTimeoutMs: number) {
    this.address = address;
    this.pubLines = process.env.RILL_NATS_PUB_LINES === "client" ? undefined : pubLinesFor(connection);
    void this.watchClosed();
    void this.watchStatus();
  }

  static async connect(options: NatsOptions): Promise<NatsTransport> {
    const urls = serverList(options.servers);
    if (urls.length === 0) throw new ConfigError(`No NATS server URL given (servers: ${JSON.stringify(options.servers)}). Give one, or several separated by commas, e.g. 'nats://host1:4222,nats://host2:4222'.`);
    const split = urls.map(splitServerUrl);
    const servers = split.map((entry) => entry.server);
    const fromUrl = split.find((entry) => Object.keys(entry.credentials).length > 0)?.credentials ?? {};
    const shown = urls.map(redactServerUrl);
    try {
      const connection = await connect({
        servers,
        user: options.user ?? fromUrl.user,
        pass: options.pass ?? fromUrl.pass,
        token: options.token ?? fromUrl.token,
        authenticator: options.credsFile ? credsAuthenticator(await readFile(options.credsFile)) : undefined,
        tls: options.tls,
        name: options.name ?? "rill",
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        pingInterval: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
        maxPingOut: 2,
      });
      return new NatsTransport(connection, shown.join(","), options.unreachableTimeoutMs ?? 30_000);
    } catch (error) {
      throw new TransportError(`Cannot connect to NATS at ${shown.join(", ")}: ${String(error)}. Check that nats-server runs there, or configure no URL to let Rill start a private one.`, { cause: error });
    }
  }

  get maxPayload(): number {
    return this.connection.info?.max_payload ?? 1024 * 1024;
  }

  connectedServer(): ConnectedServer | undefined {
    const info = this.connection.info;
    if (!info || this.connection.isClosed()) return undefined;
    return { name: info.server_name || info.server_id, url: this.connection.getServer() };
  }

  publish(subject: string, payload: Uint8Array): void {
    if (this.pubLines?.publish(subject, payload) !== true) this.connection.publish(subject, payload);
  }

  subscribe(subject: string, handler: MessageHandler): Subscription {
    const guarded = guardHandler(handler, this.rejectedCallbacks);
    // A subject without wildcards receives only messages on itself: the client's `subject` would decode the same
    // string from the message's bytes again, once a frame.
    const literal = !subject.split(".").some((token) => token === "*" || token === ">");
    const subscription = this.connection.subscribe(subject, {
      callback: (error, message) => {
        if (error) {
          this.fail(new TransportError(`Subscription to '${subject}' failed: ${error.message}`, { cause: error }));
          return;
        }
        guarded(message.data, literal ? subject : message.subject);
      },
    });
    return { unsubscribe: () => subscription.unsubscribe() };
  }

  /** Answers requests on `subject` (a driver's leave endpoint): the handler's bytes are the reply; its errors are logged by the caller. */
  serve(subject: string, handler: (payload: Uint8Array) => Promise<Uint8Array>): Subscription {
    const subscription = this.connection.subscribe(subject, {
      callback: (error, message) => {
        if (error) return;
        void handler(message.data).then((reply) => message.respond(reply), () => undefined);
      },
    });
    return { unsubscribe: () => subscription.unsubscribe() };
  }

  async flush(): Promise<void> {
    await this.connection.flush();
  }

  /** One request and its reply; rejects with a TransportError naming the subject after `timeoutMs` or with no responder. */
  async request(subject: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    try {
      const reply = await this.connection.request(subject, payload, { timeout: timeoutMs });
      return reply.data;
    } catch (error) {
      throw new TransportError(`No reply on '${subject}' within ${timeoutMs} ms: ${String(error)}`, { cause: error });
    }
  }

  /**
   * The NATS connection itself, for the worker service (src/workers/service.ts: the NATS services framework), the one
   * other module allowed to use the NATS client. Typed unknown: that package bundles its own copy of the client's types.
   */
  get connectionForServices(): unknown {
    return this.connection;
  }

  /**
   * Runs `action`, a JetStream request made through another client package (the replicated state's key-value bucket),
   * again while the cluster cannot answer it (see isUnavailable), for up to rill.nats.unreachableTimeout, as the
   * JetStream access does its own. Only for a request that may be sent twice: a read, or a write of one value to one key.
   */
  whileJetStreamUnavailable<T>(action: () => Promise<T>): Promise<T> {
    return whileUnavailable(action, (error) => isUnavailable(error, "repeatable"), this.unreachableTimeoutMs, () => !this.connection.isClosed());
  }

  onFailure(callback: (error: Error) => void): void {
    this.failureCallbacks.push(callback);
  }

  onRejected(callback: RejectedHandler): void {
    this.rejectedCallbacks.push(callback);
  }

  /** JetStream on this connection; the server must run with JetStream enabled (`nats-server -js`). */
  jetstream(): JetStreamAccess {
    this.jetstreamAccess ??= new NatsJetStream(this.connection, this.address, this.unreachableTimeoutMs);
    return this.jetstreamAccess;
  }

  async close(): Promise<void> {
    clearTimeout(this.unreachableTimer);
    if (this.connection.isClosed()) return;
    await this.connection.drain().catch(() => this.connection.close());
  }

  onReconnect(callback: (disconnectedAt: number) => void): void {
    this.reconnectCallbacks.push(callback);
  }

  /** A disconnect starts the unreachable clock; a reconnect stops it and tells the queries (frames may be lost). */
  private async watchStatus(): Promise<void> {
    for await (const status of this.connection.status()) {
      if (status.type === "disconnect" && !this.unreachableTimer) {
        this.disconnectedAt = Date.now();
        this.unreachableTimer = setTimeout(() => {
          this.fail(new TransportError(`NATS at ${this.address} has been unreachable for ${this.unreachableTimeoutMs} ms (rill.nats.unreachableTimeout).`));
        }, this.unreachableTimeoutMs);
        this.unreachableTimer.unref();
      } else if (status.type === "reconnect") {
        clearTimeout(this.unreachableTimer);
        this.unreachableTimer = undefined;
        const disconnectedAt = this.disconnectedAt ?? Date.now();
        this.disconnectedAt = undefined;
        for (const callback of this.reconnectCallbacks) callback(disconnectedAt);
      }
    }
  }

  private async watchClosed(): Promise<void> {
    const error = await this.connection.closed();
    if (error) this.fail(new TransportError(`NATS connection to ${this.address} closed: ${error.message}`, { cause: error }));
  }

  private fail(error: Error): void {
    for (const callback of this.failureCallbacks) callback(error);
  }
}

/**
 * How long a JetStream API request (stream info, consumer creation) waits for its answer before it is sent again. A
 * cluster that lost a node places some new consumers on it until it notices (a minute or more), and those requests
 * are never answered: a short wait keeps each such miss short. Publishes keep the client's 5 s.
 */
const API_TIMEOUT_MS = 2000;
/** How long a fetch may wait for messages at least: the client refuses shorter pull requests. */
const MIN_FETCH_WAIT_MS = 1000;
/**
 * Ephemeral consumers the server removes on its own when a reader died without closing them. A
 * reader held back longer than this loses its consumer; its next fetch recreates it.
 */
const CONSUMER_INACTIVE_MS = 5 * 60_000;

/** JetStream through the client's manager (streams, consumers) and client (fetching, publishing with PubAcks). */
class NatsJetStream implements JetStreamAccess {
  private handles: Promise<{ manager: JetStreamManager; client: JetStreamClient }> | undefined;

  constructor(private readonly connection: NatsConnection, private readonly address: string, private readonly patienceMs: number) {}

  async streamInfo(stream: string): Promise<JetStreamStreamInfo | undefined> {
    const { manager } = await this.open();
    try {
      return streamInfoOf(await this.retry(() => manager.streams.info(stream)));
    } catch (error) {
      if (isApiError(error, 10059)) return undefined;
      throw this.failure(`Reading the JetStream stream '${stream}'`, error);
    }
  }

  async findStream(subject: string): Promise<string | undefined> {
    const { manager } = await this.open();
    try {
      return await this.retry(() => manager.streams.find(subject));
    } catch (error) {
      if (isApiError(error, 10059)) return undefined;
      throw this.failure(`Looking up the JetStream stream of subject '${subject}'`, error);
    }
  }

  async addStream(config: JetStreamStreamConfig): Promise<JetStreamStreamInfo> {
    const { manager } = await this.open();
    const settings = {
      subjects: [...config.subjects],
      storage: config.storage === "memory" ? StorageType.Memory : StorageType.File,
      ...(config.duplicateWindowMs === undefined ? {} : { duplicate_window: nanos(config.duplicateWindowMs) }),
      ...(config.maxMessages === undefined ? {} : { max_msgs: config.maxMessages }),
      ...(config.maxBytes === undefined ? {} : { max_bytes: config.maxBytes }),
      ...(config.maxAgeMs === undefined ? {} : { max_age: nanos(config.maxAgeMs) }),
      ...(config.discard === undefined ? {} : { discard: config.discard === "new" ? DiscardPolicy.New : DiscardPolicy.Old }),
    };
    try {
      const exists = (await this.streamInfo(config.name)) !== undefined;
      const info = await this.retry(() => (exists ? manager.streams.update(config.name, settings) : manager.streams.add({ name: config.name, ...settings })));
      return streamInfoOf(info);
    } catch (error) {
      throw this.failure(`Creating the JetStream stream '${config.name}'`, error);
    }
  }

  async deleteStream(stream: string): Promise<boolean> {
    const { manager } = await this.open();
    try {
      return await this.retry(() => manager.streams.delete(stream));
    } catch (error) {
      if (isApiError(error, 10059)) return false;
      throw this.failure(`Deleting the JetStream stream '${stream}'`, error);
    }
  }

  async resolveStart(stream: string, start: JetStreamStart): Promise<number> {
    switch (start.kind) {
      case "earliest":
        return 1;
      case "sequence":
        return start.sequence;
      case "latest":
        return (await this.requireStream(stream)).lastSequence + 1;
      case "time":
        return await this.sequenceAt(stream, start.time);
    }
  }

  async openCursor(stream: string, options: { readonly startSequence: number; readonly filter?: string | undefined }): Promise<JetStreamCursor> {
    const handles = await this.open();
    const cursor = new NatsJetStreamCursor(handles, stream, options.filter, options.startSequence - 1, this.address, this.patienceMs);
    // A first count now (a consumer at the start, with the filter), so that a refused start or filter fails the open, not a later fetch.
    await cursor.end();
    return cursor;
  }

  async publish(subject: string, payload: Uint8Array, options: { readonly msgId?: string } = {}): Promise<JetStreamPublishAck> {
    const { client } = await this.open();
    try {
      // With a msgId a publish that timed out may be sent again: if the first one was stored, the stream drops the second.
      const kind = options.msgId === undefined ? "publish" : "publish with msgId";
      const ack = await this.retry(() => client.publish(subject, payload, options.msgId === undefined ? undefined : { msgID: options.msgId }), kind);
      return { stream: ack.stream, sequence: ack.seq, duplicate: ack.duplicate };
    } catch (error) {
      // With no stream on the subject the server has no responder, which the client reports as "jetstream is not enabled".
      throw this.failure(`Publishing to '${subject}' (is it captured by a JetStream stream?)`, error);
    }
  }

  /** The first sequence stored at or after `time`: where a consumer by start time begins. */
  private async sequenceAt(stream: string, time: Date): Promise<number> {
    await this.requireStream(stream);
    const where = `Finding the first message at ${time.toISOString()} in the JetStream stream '${stream}'`;
    const info = await this.probe(stream, { deliver_policy: DeliverPolicy.StartTime, opt_start_time: time.toISOString() }, where);
    return info.delivered.stream_seq + 1;
  }

  /** Creates a consumer only to read where the server places it, then removes it. */
  private async probe(stream: string, config: Partial<ConsumerConfig>, action: string): Promise<ConsumerInfo> {
    const { manager } = await this.open();
    try {
      return await this.retry(() => probeConsumer(manager, stream, { ...config, ack_policy: AckPolicy.None, mem_storage: true, inactive_threshold: nanos(CONSUMER_INACTIVE_MS) }));
    } catch (error) {
      throw this.failure(action, error);
    }
  }

  private async requireStream(stream: string): Promise<JetStreamStreamInfo> {
    const info = await this.streamInfo(stream);
    if (!info) throw new ConfigError(`The JetStream stream '${stream}' does not exist on ${this.address}. Create it first, e.g. 'nats stream add ${stream} --subjects "${stream.toLowerCase()}.>"'.`);
    return info;
  }

  private open(): Promise<{ manager: JetStreamManager; client: JetStreamClient }> {
    this.handles ??= this.retry(() => jetstreamManager(this.connection, { timeout: API_TIMEOUT_MS })).then(
      (manager) => ({ manager, client: jetstream(this.connection) }),
      (error: unknown) => {
        this.handles = undefined;
        const message = (error as Error).message;
        if (/not enabled/i.test(message)) throw new ConfigError(`JetStream is not enabled on the NATS server at ${this.address} (${message}). Start nats-server with JetStream enabled ('nats-server -js').`, { cause: error });
        throw new TransportError(`Reaching JetStream on ${this.address} failed: ${message}`, { cause: error });
      },
    );
    return this.handles;
  }

  /** Runs a JetStream request, again while the cluster cannot answer it (see isUnavailable), for up to patienceMs. */
  private retry<T>(action: () => Promise<T>, kind: RequestKind = "api"): Promise<T> {
    return whileUnavailable(action, (error) => isUnavailable(error, kind), this.patienceMs, () => !this.connection.isClosed());
  }

  private failure(action: string, error: unknown): RillError {
    if (error instanceof RillError) return error;
    return new TransportError(`${action} failed on ${this.address}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A pull consumer without acks, started at a stream sequence. Whatever goes wrong with it (a gap in
 * its delivery sequence, the server lost or removed it, missed heartbeats), the cursor drops it and
 * the next fetch creates a new one right after the last message handed out: no gap, no repeat.
 */
class NatsJetStreamCursor implements JetStreamCursor {
  private consumer: Consumer | undefined;
  private creating: Promise<Consumer> | undefined;
  /** The delivery sequence the current consumer must send next; anything else is a gap. */
  private nextDelivery = 1;
  /** The running fetch, if any: closed when its consumer turns out lost, rather than waiting for missed heartbeats. */
  private messages: ConsumerMessages | undefined;
  private closed = false;
  private handed = 0;
  /** The stream's leader and replica count as endFacts() last saw them. */
  private streamLeader: { readonly leader: string | undefined; readonly replicas: number } | undefined;

  constructor(
    private readonly handles: { manager: JetStreamManager; client: JetStreamClient },
    private readonly stream: string,
    private readonly filter: string | undefined,
    /** The stream sequence of the last message handed out. */
    private lastHanded: number,
    private readonly address: string,
    private readonly patienceMs: number,
  ) {}

  async fetch(max: number, waitMs: number, onMessage: (message: JetStreamMessage) => void): Promise<void> {
    if (this.closed) return;
    let consumer: Consumer | undefined;
    let messages: ConsumerMessages | undefined;
    try {
      consumer = await this.current();
      if (this.closed) return;
      messages = await consumer.fetch({ max_messages: max, expires: Math.max(MIN_FETCH_WAIT_MS, waitMs) });
      this.messages = messages;
      for await (const message of messages) {
        // A dropped consumer's messages are the next one's to deliver: handing them out too would repeat them.
        if (this.consumer !== consumer) break;
        if (message.info.deliverySequence !== this.nextDelivery) {
          // A message was lost on the way (a slow-consumer drop, a reconnect): start again after the last one handed out.
          this.drop();
          break;
        }
        this.nextDelivery++;
        this.lastHanded = message.seq;
        this.handed++;
        onMessage({ sequence: message.seq, subject: message.subject, payload: message.data });
      }
    } catch (error) {
      if (this.closed) return;
      if (consumer === undefined || this.consumer === consumer) this.drop();
      if (error instanceof RillError) throw error;
      throw new TransportError(`Fetching from the JetStream stream '${this.stream}' on ${this.address} failed (the next fetch starts over after sequence ${this.lastHanded}): ${(error as Error).message}`, { cause: error });
    } finally {
      if (messages !== undefined) {
        if (this.messages === messages) this.messages = undefined;
        if (this.consumer !== consumer || this.closed) await messages.close();
      }
    }
  }

  handedOut(): number {
    return this.handed;
  }

  /**
   * Counted by a probe: a consumer created at the position after the last message handed out, with the
   * same filter, whose num_pending is the answer, removed at once. Not consumer.info() on the reading
   * consumer: on nats-server 2.9, once a filtered consumer has been asked for its info, each later fetch
   * of it is slower than the one before (bench/jetstream-read.ts: 560 rows/s instead of 22,700).
   */
  async end(): Promise<number> {
    return (await this.count()).count;
  }

  /** end(), and the stream leader's last sequence asked for alongside (one STREAM.INFO, answered by the leader). */
  async endFacts(): Promise<JetStreamEnd> {
    const [stream, probe] = await Promise.all([this.leaderState(), this.count()]);
    this.streamLeader = stream;
    return { count: probe.count, countedByLeader: this.byLeader(probe.host), leaderLastSequence: stream.lastSequence };
  }

  async recount(): Promise<JetStreamCount> {
    const probe = await this.count();
    return { count: probe.count, countedByLeader: this.byLeader(probe.host) };
  }

  /** A stream with one replica places the probe on its only peer; without a cluster there is one server. */
  private byLeader(host: string | undefined): boolean {
    const stream = this.streamLeader;
    return stream !== undefined && (stream.replicas <= 1 || stream.leader === undefined || host === stream.leader);
  }

  lastSequence(): number {
    return this.lastHanded;
  }

  async nextAtLeader(): Promise<number | undefined> {
    const after = this.lastHanded;
    // STREAM.MSG.GET goes to the stream leader; next_by_subj (nats-server 2.9+) is not in the client's types for it.
    const query = { seq: after + 1, next_by_subj: this.filter ?? ">" } as unknown as MsgRequest;
    try {
      const message = await this.retry(() => this.handles.manager.streams.getMessage(this.stream, query));
      return message === null ? undefined : message.seq;
    } catch (error) {
      throw new TransportError(`Asking the leader of the JetStream stream '${this.stream}' for the next message after sequence ${after} on ${this.address} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The probe's count, and the node it was placed on (undefined without a cluster). */
  private async count(): Promise<{ count: number; host: string | undefined }> {
    let after = this.lastHanded;
    try {
      // A probe sent while the connection was down, or while the stream elects a leader, times out; a later one may well succeed.
      return await this.retry(async () => {
        const handed = this.handed;
        after = this.lastHanded;
        const info = await probeConsumer(this.handles.manager, this.stream, this.config(after + 1));
        return { count: handed + info.num_pending, host: info.cluster?.leader };
      });
    } catch (error) {
      throw new TransportError(`Counting the messages left in the JetStream stream '${this.stream}' after sequence ${after} on ${this.address} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The stream's last sequence, leader and replica count, as its leader answers. */
  private async leaderState(): Promise<{ lastSequence: number; leader: string | undefined; replicas: number }> {
    try {
      const info = await this.retry(() => this.handles.manager.streams.info(this.stream));
      return { lastSequence: info.state.last_seq, leader: info.cluster?.leader, replicas: info.config.num_replicas };
    } catch (error) {
      throw new TransportError(`Reading the state of the JetStream stream '${this.stream}' on ${this.address} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.messages?.close();
    await this.creating?.catch(leaveToExpiry);
    this.drop();
  }

  /** The consumer to read from, created at the sequence after the last handed out when there is none. */
  private current(): Promise<Consumer> {
    if (this.consumer) return Promise.resolve(this.consumer);
    this.creating ??= this.create().finally(() => (this.creating = undefined));
    return this.creating;
  }

  private async create(): Promise<Consumer> {
    const { manager, client } = this.handles;
    try {
      const info = await this.retry(() => manager.consumers.add(this.stream, this.config(this.lastHanded + 1)));
      this.consumer = client.consumers.getConsumerFromInfo(info);
      this.nextDelivery = 1;
      return this.consumer;
    } catch (error) {
      throw new TransportError(`Creating a consumer on the JetStream stream '${this.stream}' at sequence ${this.lastHanded + 1} on ${this.address} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** A consumer of the stream (with the filter) whose first message is `startSequence`. */
  private config(startSequence: number): Partial<ConsumerConfig> & { opt_start_seq: number } {
    return {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: startSequence,
      ack_policy: AckPolicy.None,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(CONSUMER_INACTIVE_MS),
      ...(this.filter === undefined ? {} : { filter_subject: this.filter }),
    };
  }

  private retry<T>(action: () => Promise<T>): Promise<T> {
    return whileUnavailable(action, (error) => isUnavailable(error, "api"), this.patienceMs, () => !this.closed);
  }

  /** Forgets the current consumer and removes it from the server in the background. */
  private drop(): void {
    const consumer = this.consumer;
    this.consumer = undefined;
    consumer?.delete().catch(leaveToExpiry);
  }
}

/** Creates a consumer only to read what the server says of it (where it starts, what it has pending), then removes it. */
async function probeConsumer(manager: JetStreamManager, stream: string, config: Partial<ConsumerConfig>): Promise<ConsumerInfo> {
  const info = await manager.consumers.add(stream, config);
  await manager.consumers.delete(stream, info.name).catch(leaveToExpiry);
  return info;
}

/** Removing a consumer is tidiness: one the server lost, or one a closed connection could not remove, expires after CONSUMER_INACTIVE_MS. */
function leaveToExpiry(_error: unknown): void {}

function streamInfoOf(info: StreamInfo): JetStreamStreamInfo {
  return {
    name: info.config.name,
    subjects: info.config.subjects ?? [],
    messages: info.state.messages,
    firstSequence: info.state.first_seq,
    lastSequence: info.state.last_seq,
    duplicateWindowMs: Math.round((info.config.duplicate_window ?? 0) / 1e6),
  };
}

/**
 * An API request (never answered by no one in a cluster), a publish, a publish whose msgId makes sending it twice
 * harmless, or a request that is harmless twice anyway (a key-value read, or a put of one value to one key).
 */
type RequestKind = "api" | "publish" | "publish with msgId" | "repeatable";

/** JetStream's "not enabled for this account": a 503 that no waiting changes. */
const NOT_ENABLED_FOR_ACCOUNT = 10039;

/**
 * What a cluster answers while it cannot serve a request for a while: a stream or the meta group electing a leader
 * (503, or no answer: a timeout), a publish whose stream has no leader to take it (no responders). A timeout is not
 * retried for a publish without msgId (it may have been stored), no responders not for an API request (no JetStream).
 */
function isUnavailable(error: unknown, kind: RequestKind): boolean {
  if (error instanceof JetStreamApiError) return error.status === 503 && error.code !== NOT_ENABLED_FOR_ACCOUNT;
  const cause = error instanceof Error && error.name === "JetStreamNotEnabled" ? error.cause : error;
  if ((cause instanceof RequestError && cause.isNoResponders()) || cause instanceof NoRespondersError) return kind !== "api";
  if (error instanceof TimeoutError) return kind !== "publish";
  return false;
}

function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}
