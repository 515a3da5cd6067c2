// What driver and workers say to each other: subjects, message shapes (checked with zod at the edge), the plan fingerprint.
import { createHash } from "node:crypto";
import { Packr } from "msgpackr";
import { z } from "zod";
import type { ExecutionGraph } from "../actors/runtime.ts";
import { sanitizeToken } from "../actors/subjects.ts";
import { TransportError } from "../core/errors.ts";
import { describeGraph } from "../plan/physical.ts";

/** The NATS services framework name every worker registers under (`$SRV.PING.rill-worker` finds them all). */
export const SERVICE_NAME = "rill-worker";

export interface WorkerSubjects {
  /** Each worker publishes its heartbeat here; the driver watches the wildcard. */
  heartbeat(worker: string): string;
  readonly heartbeats: string;
  /** The worker's service endpoints: place actors, stop them. */
  place(worker: string): string;
  stop(worker: string): string;
  /** Each driver publishes its liveness here while it has queries on workers; workers watch the wildcard. */
  driver(driver: string): string;
  readonly drivers: string;
  /** A driver's endpoint where a worker that closes gracefully asks it to hand its actors over first (handover.ts). */
  leave(driver: string): string;
}

export function workerSubjects(prefix: string): WorkerSubjects {
  return {
    heartbeat: (worker) => `${prefix}.workers.heartbeat.${sanitizeToken(worker)}`,
    heartbeats: `${prefix}.workers.heartbeat.*`,
    place: (worker) => `${prefix}.workers.${sanitizeToken(worker)}.place`,
    stop: (worker) => `${prefix}.workers.${sanitizeToken(worker)}.stop`,
    driver: (driver) => `${prefix}.drivers.heartbeat.${sanitizeToken(driver)}`,
    drivers: `${prefix}.drivers.heartbeat.*`,
    leave: (driver) => `${prefix}.drivers.${sanitizeToken(driver)}.leave`,
  };
}

export const heartbeatSchema = z.object({
  name: z.string(),
  pid: z.number().int(),
  host: z.string(),
  slots: z.number().int().positive(),
  intervalMs: z.number().positive(),
  /** Actor names hosted now, per query run (`<subjectName>/<runId>`). */
  hosted: z.record(z.string(), z.array(z.string())),
  cpuUserMicros: z.number(),
  cpuSystemMicros: z.number(),
  rssBytes: z.number(),
  at: z.number(),
  /** Sent once by a worker that stops on purpose. */
  leaving: z.boolean().optional(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export const placeRequestSchema = z.object({
  /** The query name in the job module. */
  query: z.string(),
  queryId: z.string(),
  subjectName: z.string(),
  runId: z.string(),
  /** Rollbacks of the run so far: each attempt has its own subjects (src/actors/subjects.ts). */
  attempt: z.number().int().min(0),
  /** The attempt's sequence number on the driver's checkpoint (src/state/fence.ts), for the sinks; absent without one. */
  attemptSequence: z.number().int().min(0).optional(),
  subjectPrefix: z.string(),
  /** The driver's session configuration, so the worker's plan uses the same partitions, chaining and policies. */
  config: z.record(z.string(), z.string()),
  fingerprint: z.string(),
  plan: z.array(z.string()),
  actors: z.array(z.string()).min(1),
  /**
   * Which of the run's actors these are: `actors` (operators and sinks, placed first, so they listen) or `sources`
   * (placed once every other actor listens, since an open source sends rows at once). A worker hosts each group apart.
   */
  group: z.enum(["actors", "sources"]),
  /** The driver's session (its liveness subject): a worker drops the run once that driver is silent for `driverTimeoutMs`. */
  driver: z.string(),
  driverTimeoutMs: z.number().positive(),
  checkpoint: z.string().nullable(),
  /** The last commit; `offsets` (msgpack, base64) are the committed source offsets, which source actors seek to. */
  resume: z.object({ lastCommittedEpoch: z.number().int(), offsets: z.string() }).nullable(),
  flow: z.object({ window: z.number().int().positive(), maxFrameRows: z.number().int().positive() }),
  epochTimeoutMs: z.number().positive(),
  idleTimeoutMs: z.number().positive(),
  lateDataSubject: z.string().nullable(),
  /** The type of each parameter the query uses (src/params), as the driver compiled param() with: the worker does too. */
  paramTypes: z.record(z.string(), z.string()).optional(),
  /** The parameter values of the run's first epoch (recorded ones on a replay); later ones travel with the barriers. */
  params: z.object({ revision: z.number().int(), values: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])) }).nullable().optional(),
});
export type PlaceRequest = z.infer<typeof placeRequestSchema>;

export const stopRequestSchema = z.object({ subjectName: z.string(), runId: z.string(), attempt: z.number().int().min(0) });
export type StopRequest = z.infer<typeof stopRequestSchema>;

/** A worker that closes gracefully, to each driver whose actors it hosts: move them elsewhere, then I go. */
export const leaveRequestSchema = z.object({ worker: z.string() });
export type LeaveRequest = z.infer<typeof leaveRequestSchema>;

export const replySchema = z.union([z.object({ ok: z.literal(true) }), z.object({ ok: z.literal(false), code: z.string(), error: z.string() })]);
export type Reply = z.infer<typeof replySchema>;

/** The key a worker files a placement under: one attempt of one query run. */
export function runKey(subjectName: string, runId: string, attempt: number): string {
  return `${subjectName}/${runId.slice(0, 8)}/a${attempt}`;
}

export const driverHeartbeatSchema = z.object({ driver: z.string(), pid: z.number().int(), host: z.string(), at: z.number() });
export type DriverHeartbeat = z.infer<typeof driverHeartbeatSchema>;

/** The run a hosted placement belongs to, as a worker compares two of them. */
export interface HostedRunIdentity {
  readonly queryId: string;
  readonly runId: string;
  readonly attempt: number;
}

/**
 * Whether a new placement supersedes a run a worker hosts: the same query (same id, so the same checkpoint) in another
 * run (a driver restarted on the checkpoint: the old driver is gone or fenced) or an earlier attempt of the same run
 * (a rollback whose stop did not reach this worker). Either way the old actors must go before the new ones restore.
 */
export function supersedes(placed: HostedRunIdentity, hosted: HostedRunIdentity): boolean {
  if (placed.queryId !== hosted.queryId) return false;
  if (placed.runId !== hosted.runId) return true;
  return hosted.attempt < placed.attempt;
}

const offsetPackr = new Packr({ useRecords: false });

/** Source offsets travel in the (JSON) placement as msgpack in base64, as the coordinator's acks carry them. */
export function encodeOffsets(offsets: Readonly<Record<string, unknown>>): string {
  return Buffer.from(offsetPackr.pack(offsets)).toString("base64");
}

export function decodeOffsets(text: string): Record<string, unknown> {
  const value: unknown = offsetPackr.unpack(Buffer.from(text, "base64"));
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new TransportError(`Malformed source offsets in a placement: ${text.slice(0, 80)}`);
  return value as Record<string, unknown>;
}

/** The physical plan as lines a person can compare: stages, partitions, operators, exchanges, sink, modes, query id. */
export function planLines(graph: ExecutionGraph): string[] {
  const stages = describeGraph(undefined, graph, () => "-").split("\n");
  return [`query ${graph.queryName} id ${graph.queryId}`, `output mode ${graph.outputMode}, ${graph.microBatch ? "micro-batch" : "continuous"}, watermark policy ${graph.multipleWatermarkPolicy ?? "min"}`, ...stages];
}

export function fingerprint(lines: readonly string[]): string {
  return createHash("sha256").update(lines.join("\n")).digest("hex").slice(0, 16);
}

/** The first line where two plans differ, for an error a person can act on. */
export function planDifference(driver: readonly string[], worker: readonly string[]): string {
  const length = Math.max(driver.length, worker.length);
  for (let index = 0; index < length; index++) {
    if (driver[index] !== worker[index]) return `line ${index + 1}: the driver has '${(driver[index] ?? "(nothing)").trim()}', the worker has '${(worker[index] ?? "(nothing)").trim()}'`;
  }
  return "the plans print the same but their fingerprints differ";
}

/** JSON in, JSON out: the messages are small and per placement, never per record. */
export function encodeMessage(message: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message));
}

export function decodeMessage<T>(schema: z.ZodType<T>, payload: Uint8Array, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(payload));
  } catch (error) {
    throw new TransportError(`Malformed ${what}: not JSON (${String(error)})`, { cause: error });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new TransportError(`Malformed ${what}: ${parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`);
  return parsed.data;
}
