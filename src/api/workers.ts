// Workers as users see them: startWorker() (what `rill worker` runs) and job modules, which define queries given a session.
import { hostname } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { NatsTransport, type NatsOptions } from "../actors/nats-transport.ts";
import type { ExecutionGraph } from "../actors/runtime.ts";
import type { Transport } from "../actors/transport.ts";
import { ConfigError } from "../core/errors.ts";
import type { PlaceRequest } from "../workers/protocol.ts";
import type { StreamingQuery } from "./query.ts";
import { Session } from "./session.ts";
import type { DataStreamWriter } from "./writer.ts";

/**
 * A job module's default export: defines the queries given a session and returns their writers, not started. The
 * driver starts them (runJob); a worker builds the same plans from them and hosts the actors the driver places on it.
 *
 * ```ts
 * export default (session: Session) => session.readStream.json("in").groupBy("user").count()
 *   .writeStream.queryName("counts").outputMode("update").format("json").option("path", "out");
 * ```
 */
export type Job = (session: Session) => DataStreamWriter | DataStreamWriter[] | Promise<DataStreamWriter | DataStreamWriter[]>;

export interface WorkerOptions {
  /** The NATS server or cluster the drivers use. */
  readonly nats: NatsOptions;
  /** Unique on the cluster; default `<host>-<pid>`. */
  readonly name?: string;
  /** Actors this worker hosts at most (default 16). */
  readonly slots?: number;
  /** Path of the job module (the same file the driver runs). */
  readonly job: string;
  /** Heartbeat interval in ms (default 1000); drivers declare a worker lost after rill.workers.heartbeatTimeout. */
  readonly heartbeatIntervalMs?: number;
  /** The subject prefix of the drivers' sessions (rill.subjectPrefix, default `rill`). */
  readonly subjectPrefix?: string;
  /**
   * This machine's folder for the local working stores of queries that replicate their state (rill.state.replication =
   * jetstream); default `<tmp>/rill-worker-<name>`. Losing it loses nothing: the state is in the NATS cluster.
   */
  readonly stateDir?: string;
  /**
   * How long close() (and SIGTERM on `rill worker`) waits for the drivers to hand this worker's actors over at an epoch
   * boundary, without a rollback, before it stops them anyway (default 60000 ms; 0: do not ask, each driver rolls back).
   */
  readonly leaveTimeoutMs?: number;
  readonly log?: (message: string) => void;
}

export interface Worker {
  readonly name: string;
  /** Actors hosted now, by query run. */
  hosted(): Record<string, string[]>;
  /**
   * Asks the drivers whose actors it hosts to hand them over (no rollback; leaveTimeoutMs), then stops what is still
   * hosted (their epoch writes settle), leaves the service, closes the connection.
   */
  close(): Promise<void>;
}

/** Loads a job module: its default export (or an export named `job`) must be a function of a session. */
export async function loadJob(path: string): Promise<Job> {
  const module = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown; job?: unknown };
  const job = module.default ?? module.job;
  if (typeof job !== "function") throw new ConfigError(`The job module '${path}' has no default export (or export 'job') that is a function of a session; it exports ${Object.keys(module).join(", ") || "nothing"}.`);
  return job as Job;
}

/** Runs a job module on the driver: starts every query it defines on `session`. */
export async function runJob(session: Session, path: string): Promise<StreamingQuery[]> {
  const writers = await writersOf(await loadJob(path), session);
  const queries: StreamingQuery[] = [];
  for (const writer of writers) queries.push(await writer.start());
  return queries;
}

/** Starts a worker: connects to NATS, announces itself (service `rill-worker`), hosts what drivers place on it. */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const job = await loadJob(options.job);
  const name = options.name ?? `${hostname()}-${process.pid}`;
  const log = options.log ?? ((message: string) => console.error(message));
  const transport = await NatsTransport.connect({ ...options.nats, name: `rill-worker ${name}` });
  // The worker's side (its service, replicated state, LMDB) loads only in a process that runs a worker.
  const { WorkerHost } = await import("../workers/host.ts");
  const host = await WorkerHost.start({
    transport,
    name,
    slots: options.slots ?? 16,
    subjectPrefix: options.subjectPrefix ?? "rill",
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
    ...(options.leaveTimeoutMs === undefined ? {} : { leaveTimeoutMs: options.leaveTimeoutMs }),
    planner: (request, connected) => planFromJob(job, request, connected, log),
    log,
  });
  return {
    name,
    hosted: () => host.hosted(),
    close: async () => {
      await host.close();
      await transport.close();
    },
  };
}

/** The worker side of a placement: the job's query of that name, planned with the driver's configuration. */
async function planFromJob(job: Job, request: PlaceRequest, transport: Transport, log: (message: string) => void): Promise<ExecutionGraph> {
  const session = new Session(`worker for ${request.query}`, new Map(Object.entries(request.config)), undefined, log);
  session.transport.connect(transport);
  const writers = await writersOf(job, session);
  const writer = writers.find((candidate) => candidate.configuredName === request.query);
  if (!writer) throw new ConfigError(`the job module defines no query named '${request.query}'; it defines ${writers.map((candidate) => `'${candidate.configuredName ?? "(unnamed)"}'`).join(", ") || "none"}.`);
  return writer.graphForWorker(request.queryId, request.subjectName, undefined, request.paramTypes);
}

async function writersOf(job: Job, session: Session): Promise<DataStreamWriter[]> {
  const result = await job(session);
  return Array.isArray(result) ? result : [result];
}
