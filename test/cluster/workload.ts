// What the NATS-cluster tests run and check: replicated input and output streams, a feeder that keeps publishing while
// nodes die, the two queries (a count and sum per user into the transactional JetStream sink, a filter into the JSON
// file sink), and plain code over the input that their outputs must equal.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { committedFiles, z, type Session, type StreamingQuery, type StreamingQueryProgress } from "../../src/index.ts";
import type { NatsCluster } from "../helpers/nats-cluster.ts";

/** The variable a query child process reads the cluster's connection options from (kept off its command line). */
export const CLUSTER_OPTIONS_VARIABLE = "RILL_TEST_NATS_CLUSTER";
export const INPUT_STREAM = "CLUSTER_IN";
export const OUTPUT_STREAM = "CLUSTER_OUT";
const OUTPUT_SUBJECT = "cluster.out";
const USERS = 37;
/** Rows the filter keeps: `x > FILTER_MIN`. */
const FILTER_MIN = 6;

export interface InputRow {
  readonly id: number;
  readonly user: string;
  readonly x: number;
}

export const inputRow = (id: number): InputRow => ({ id, user: `u${id % USERS}`, x: (id * 7) % 11 });

/** The per-user count and sum over rows 0 .. total-1. */
export function expectedTotals(total: number): Map<string, { n: number; total: number }> {
  const totals = new Map<string, { n: number; total: number }>();
  for (let id = 0; id < total; id++) {
    const row = inputRow(id);
    const entry = totals.get(row.user) ?? { n: 0, total: 0 };
    entry.n++;
    entry.total += row.x;
    totals.set(row.user, entry);
  }
  return new Map([...totals].sort(([a], [b]) => a.localeCompare(b)));
}

/** The ids the filter keeps among rows 0 .. total-1, in order. */
export function expectedFiltered(total: number): number[] {
  const ids: number[] = [];
  for (let id = 0; id < total; id++) if (inputRow(id).x > FILTER_MIN) ids.push(id);
  return ids;
}

/** The test's own client of the cluster: creates the replicated streams, publishes the input and reads the output. */
export class ClusterClient {
  private published = 0;

  private constructor(private readonly connection: NatsConnection, private readonly manager: JetStreamManager, private readonly client: JetStreamClient) {}

  /** Connects to every node and creates the input and output streams afresh, each with three replicas. */
  static async open(cluster: NatsCluster): Promise<ClusterClient> {
    // Quick pings: the feeder must leave a frozen node as soon as the queries do, or the input stops with it.
    const connection = await connect({ ...cluster.options, name: "cluster-test", maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 2000, maxPingOut: 2 });
    const manager = await jetstreamManager(connection, { timeout: 10_000 });
    for (const name of [INPUT_STREAM, OUTPUT_STREAM]) await manager.streams.delete(name).catch(() => false);
    await manager.streams.add({ name: INPUT_STREAM, subjects: ["cluster.in.>"], num_replicas: 3 });
    await manager.streams.add({ name: OUTPUT_STREAM, subjects: [OUTPUT_SUBJECT], num_replicas: 3 });
    return new ClusterClient(connection, manager, jetstream(connection, { timeout: 10_000 }));
  }

  get publishedRows(): number {
    return this.published;
  }

  /** The node the stream's Raft group has elected leader (it takes the stream's writes). */
  async streamLeader(stream: string): Promise<string> {
    const info = await this.manager.streams.info(stream);
    const leader = info.cluster?.leader;
    if (!leader) throw new Error(`The stream ${stream} has no leader now`);
    return leader;
  }

  /** Resolves once each stream has a leader and two replicas, both current (a restarted node has caught up). */
  async waitCurrent(streams: readonly string[], timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const stream of streams) {
      for (;;) {
        const info = await this.manager.streams.info(stream).catch(() => undefined);
        const replicas = info?.cluster?.replicas ?? [];
        if (info?.cluster?.leader && replicas.length === 2 && replicas.every((replica) => replica.current && !replica.offline)) break;
        if (Date.now() > deadline) throw new Error(`The replicas of ${stream} were not current within ${timeoutMs} ms: ${JSON.stringify(info?.cluster)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /**
   * Publishes input rows up to `until` (exclusive), each with a msgId: a publish that the cluster did not answer (a
   * node lost, a leader being elected) is sent again, and the stream keeps one copy.
   */
  async publishUntil(until: number): Promise<void> {
    for (; this.published < until; this.published++) {
      const row = inputRow(this.published);
      const payload = JSON.stringify(row);
      for (let attempt = 0; ; attempt++) {
        try {
          await this.client.publish(`cluster.in.${row.id % 3}`, payload, { msgID: `in-${row.id}` });
          break;
        } catch (error) {
          if (attempt === 200) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
  }

  /** Every message of the output stream, in stream order, decoded. */
  async readOutput(): Promise<Array<{ user: string; n: number; total: number }>> {
    const info = await this.manager.streams.info(OUTPUT_STREAM);
    const rows: Array<{ user: string; n: number; total: number }> = [];
    if (info.state.messages === 0) return rows;
    const consumer = await this.manager.consumers.add(OUTPUT_STREAM, { deliver_policy: DeliverPolicy.All, ack_policy: AckPolicy.None, mem_storage: true, num_replicas: 1 });
    try {
      const reader = await this.client.consumers.get(OUTPUT_STREAM, consumer.name);
      while (rows.length < info.state.messages) {
        const messages = await reader.fetch({ max_messages: info.state.messages - rows.length, expires: 5000 });
        for await (const message of messages) rows.push(message.json());
      }
    } finally {
      await this.manager.consumers.delete(OUTPUT_STREAM, consumer.name).catch(() => false);
    }
    return rows;
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

const inputSchema = z.object({ id: z.number().int(), user: z.string(), x: z.number().int() });

/** The two checkpointed queries of one session, over the replicated input stream. */
export async function startQueries(session: Session, folder: string): Promise<{ totals: StreamingQuery; filtered: StreamingQuery }> {
  const input = () => session.readStream.format("jetstream").option("stream", INPUT_STREAM).option("startingOffsets", "earliest").schema(inputSchema).load();
  const totals = await input().groupBy("user").agg("count(*) as n", "sum(x) as total").writeStream.queryName("cluster_totals").outputMode("update")
    .format("jetstream").option("subject", OUTPUT_SUBJECT).option("mode", "transactional")
    .option("checkpointLocation", join(folder, "checkpoints", "totals")).trigger({ continuous: "200 milliseconds" }).start();
  const filtered = await input().where(`x > ${FILTER_MIN}`).select("id", "user", "x").writeStream.queryName("cluster_filtered")
    .format("json").option("path", join(folder, "filtered")).option("checkpointLocation", join(folder, "checkpoints", "filtered"))
    .trigger({ continuous: "200 milliseconds" }).start();
  return { totals, filtered };
}

/** The ids in the filter's committed files, in commit order. */
export async function readFiltered(folder: string): Promise<number[]> {
  const ids: number[] = [];
  for (const path of await committedFiles(join(folder, "filtered"))) {
    for (const line of (await readFile(path, "utf8")).split("\n")) if (line.trim() !== "") ids.push((JSON.parse(line) as InputRow).id);
  }
  return ids;
}

/** Checks the count-and-sum output: per user, no count goes back, and the last row is the oracle's; throws what differs. */
export function lastTotals(rows: ReadonlyArray<{ user: string; n: number; total: number }>): Map<string, { n: number; total: number }> {
  const last = new Map<string, { n: number; total: number }>();
  for (const row of rows) {
    const before = last.get(row.user);
    if (before && row.n < before.n) throw new Error(`The count of ${row.user} went back from ${before.n} to ${row.n}`);
    last.set(row.user, { n: row.n, total: row.total });
  }
  return new Map([...last].sort(([a], [b]) => a.localeCompare(b)));
}

/** Progress reports of a session with the time each arrived; waitFor resolves at the first (past or future) that matches. */
export class ProgressWatch {
  readonly reports: Array<{ at: number; progress: StreamingQueryProgress }> = [];
  private readonly waiters: Array<{ test: (progress: StreamingQueryProgress, at: number) => boolean; resolve: (at: number) => void }> = [];

  constructor(session: Session) {
    session.streams.addListener({
      onQueryProgress: ({ progress }) => {
        const at = Date.now();
        this.reports.push({ at, progress });
        for (const waiter of [...this.waiters]) {
          if (!waiter.test(progress, at)) continue;
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(at);
        }
      },
    });
  }

  /** Resolves with the arrival time of the first report of query `name` after `since` that read input rows. */
  inputAfter(name: string, since: number): Promise<number> {
    const test = (progress: StreamingQueryProgress, at: number) => progress.name === name && at > since && progress.numInputRows > 0;
    const seen = this.reports.find((report) => test(report.progress, report.at));
    if (seen) return Promise.resolve(seen.at);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
}
