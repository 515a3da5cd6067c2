// The replicated state store's NATS edge: one JetStream key-value bucket per query, replicated by the cluster. Thin:
// lists, reads and writes names built in keys.ts; every decision about them is in decisions.ts.
import { DeliverPolicy, jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { TimeoutError } from "@nats-io/transport-node";
import type { NatsTransport } from "../../actors/nats-transport.ts";
import { CheckpointWriteError, TransportError } from "../../core/errors.ts";
import type { AttemptMarker, Listing } from "./decisions.ts";
import { groupKeys } from "./decisions.ts";
import { bucketOf, chunkKey, markerKey, parseKey, type StoreName } from "./keys.ts";
import { decodeEntries, decodeManifest, encodeEntries, encodeManifest, type StoredEntry } from "./payload.ts";

/** The connection type @nats-io/kv takes; the transport hands its connection out as unknown (src/workers/service.ts). */
type KvConnection = ConstructorParameters<typeof Kvm>[0];

export interface StateStoreOptions {
  /** The driver creates the bucket with its replicas; a worker opens the one the driver made. */
  readonly create?: { readonly replicas: number };
}

/**
 * How long a read of the bucket (a get, the consumer that lists the keys) waits for its answer before it is asked
 * again: a cluster that lost a node places some new consumers on it until it notices (a minute or more), and those
 * requests are never answered. Writes keep the client's 5 s (a chunk is up to 256 KiB).
 */
const READ_TIMEOUT_MS = 2000;

/** Written by each listing, read back as its end (see keys()); no name of the store (keys.ts) starts with `listing`. */
const LISTING_MARK_KEY = "listing";
const EMPTY = new Uint8Array(0);

/** A listing whose consumer delivers nothing for this long (placed on a lost node, say) is given up and asked again. */
const LIST_STALL_MS = 5000;

export class StateStore {
  private constructor(private readonly kv: KV, private readonly reads: KV, readonly bucket: string, private readonly transport: NatsTransport, private readonly js: JetStreamClient) {}

  static async open(transport: NatsTransport, queryId: string, options: StateStoreOptions = {}): Promise<StateStore> {
    const bucket = bucketOf(queryId);
    const manager = new Kvm(transport.connectionForServices as KvConnection);
    const readManager = new Kvm(jetstream(transport.connectionForServices as Parameters<typeof jetstream>[0], { timeout: READ_TIMEOUT_MS }));
    try {
      // A worker opens the bucket while a lost node's streams elect leaders (a restore after the loss): it asks again.
      const kv = options.create ? await manager.create(bucket, { replicas: options.create.replicas, history: 1 }) : await transport.whileJetStreamUnavailable(() => manager.open(bucket));
      const reads = await transport.whileJetStreamUnavailable(() => readManager.open(bucket));
      return new StateStore(kv, reads, bucket, transport, jetstream(transport.connectionForServices as Parameters<typeof jetstream>[0], { timeout: READ_TIMEOUT_MS }));
    } catch (error) {
      throw new TransportError(`Cannot ${options.create ? `create the replicated state bucket '${bucket}' with ${options.create.replicas} replicas` : `open the replicated state bucket '${bucket}'`}: ${String(error)}. The NATS server must run JetStream (a cluster of at least as many nodes as rill.state.replicas).`, { cause: error });
    }
  }

  /** Every name in the bucket, grouped; the markers with their epochs and revisions. */
  async listing(): Promise<Listing> {
    const names: StoreName[] = [];
    for (const key of await this.io("list the keys", () => this.keys())) {
      const name = parseKey(key);
      if (name) names.push(name);
    }
    const markers: AttemptMarker[] = [];
    for (const name of names) {
      if (name.kind !== "marker") continue;
      const entry = await this.io(`read the attempt marker ${name.key}`, () => this.reads.get(name.key));
      if (!entry || entry.operation !== "PUT") continue;
      const { afterEpoch } = entry.json<{ afterEpoch: number }>();
      markers.push({ key: name.key, runId: name.runId, attempt: name.attempt, afterEpoch, revision: entry.revision });
    }
    return groupKeys(names, markers);
  }

  /**
   * The bucket's keys as of one point of its stream at or after the last write acknowledged when asked: what a restore
   * or a compaction plans from must be the state of one moment (a compaction writes its snapshot before it removes what
   * it covers). The client's keys() is not that: it ends early on an idle heartbeat, and its consumer may sit on a
   * replica still catching up after a node was lost, which reports nothing pending. Nor is a STREAM.INFO's last
   * sequence a bound: while the stream has no leader every replica answers it from its own state, a lagging one too.
   * So the listing first writes a mark key: the leader acknowledges it after every write acknowledged before it, and
   * the consumer's messages (last per key in stream order, then every later one; PUT adds a key, DEL and PURGE remove
   * it) are read until one at or past the mark's sequence arrives (the mark itself, or a newer mark another listing
   * wrote). The mark key is no name of the store (parseKey ignores it); the bucket keeps one copy.
   */
  private async keys(): Promise<string[]> {
    const stream = `KV_${this.bucket}`;
    const prefix = `$KV.${this.bucket}.`;
    const mark = await this.kv.put(LISTING_MARK_KEY, EMPTY);
    const consumer = await this.js.consumers.get(stream, { filter_subjects: `${prefix}>`, deliver_policy: DeliverPolicy.LastPerSubject, headers_only: true });
    const messages = await consumer.consume();
    const live = new Set<string>();
    let stalled = false;
    let timer = setTimeout(() => undefined, 0);
    const watch = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        void messages.close();
      }, LIST_STALL_MS);
    };
    watch();
    try {
      for await (const message of messages) {
        watch();
        const key = message.subject.slice(prefix.length);
        const operation = message.headers?.get("KV-Operation");
        if (operation === "DEL" || operation === "PURGE") live.delete(key);
        else live.add(key);
        if (message.seq >= mark) {
          live.delete(LISTING_MARK_KEY);
          return [...live];
        }
      }
    } finally {
      clearTimeout(timer);
      await messages.close();
      // Left alone, the ordered consumer stays on the server for its five minutes of inactivity: one per listing.
      await consumer.delete().catch(() => false);
    }
    throw new TimeoutError({ cause: new Error(`listing ${stream} ${stalled ? `delivered nothing for ${LIST_STALL_MS} ms` : "ended"} before the listing mark's sequence ${mark}`) });
  }

  /** Written by the driver before the attempt's actors are placed: from now on this attempt's changes are the ones that count. */
  async putMarker(runId: string, attempt: number, afterEpoch: number): Promise<void> {
    const key = markerKey(runId, attempt);
    await this.write(`write the attempt marker ${key}`, () => this.kv.put(key, new TextEncoder().encode(JSON.stringify({ runId, attempt, afterEpoch }))));
  }

  /** Chunks first (in parallel), then the manifest: the object exists for readers only once all of it is stored. */
  async putObject(manifestKey: string, entries: readonly StoredEntry[]): Promise<number> {
    const { manifest, chunks } = encodeEntries(entries);
    await this.write(`write ${manifestKey}`, async () => {
      await Promise.all(chunks.map((chunk, index) => this.kv.put(chunkKey(manifestKey, index), chunk)));
      await this.kv.put(manifestKey, encodeManifest(manifest));
    });
    return manifest.bytes;
  }

  /** Undefined when the manifest is gone (compaction removed it since the listing). */
  async readObject(manifestKey: string): Promise<StoredEntry[] | undefined> {
    const stored = await this.io(`read ${manifestKey}`, () => this.reads.get(manifestKey));
    if (!stored || stored.operation !== "PUT") return undefined;
    const manifest = decodeManifest(stored.value, manifestKey);
    const chunks = await this.io(`read the chunks of ${manifestKey}`, () => Promise.all(Array.from({ length: manifest.chunks }, (_, index) => this.reads.get(chunkKey(manifestKey, index)))));
    if (chunks.some((chunk) => !chunk || chunk.operation !== "PUT")) return undefined;
    return decodeEntries(manifest, chunks.map((chunk) => chunk?.value ?? new Uint8Array(0)), manifestKey);
  }

  /** The store's revision (write order) of a key, undefined when it is gone: for tests and `rill` inspection. */
  async revisionOf(key: string): Promise<number | undefined> {
    const entry = await this.io(`read ${key}`, () => this.reads.get(key));
    return entry && entry.operation === "PUT" ? entry.revision : undefined;
  }

  /** Removes the manifests, then the rest (purged: no history left behind), 64 at a time. */
  async remove(manifests: readonly string[], rest: readonly string[]): Promise<void> {
    for (const keys of [manifests, rest]) {
      for (let start = 0; start < keys.length; start += 64) await this.write("remove superseded keys", () => Promise.all(keys.slice(start, start + 64).map((key) => this.kv.purge(key))));
    }
  }

  /**
   * A write the cluster cannot take for a while (the bucket's stream electing a leader after a NATS node was lost: a
   * timeout, a 503, no responders) is sent again, for up to rill.nats.unreachableTimeout: every write here puts one
   * value under one key, so sending it twice stores the same thing. One that still fails is a CheckpointWriteError, as a
   * failed LMDB write is: the query rolls back and retries, with back-off, until a write succeeds.
   */
  private async write<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await this.transport.whileJetStreamUnavailable(operation);
    } catch (error) {
      throw new CheckpointWriteError(`The replicated state bucket '${this.bucket}' could not ${what}: ${String(error)}. The query rolls back to its last committed epoch and retries until the write succeeds.`, { cause: error });
    }
  }

  /** A read, asked again while the cluster cannot answer it (a lost node's consumers and leaders), as a write is. */
  private async io<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await this.transport.whileJetStreamUnavailable(operation);
    } catch (error) {
      throw new TransportError(`The replicated state bucket '${this.bucket}' could not ${what}: ${String(error)}`, { cause: error });
    }
  }
}
