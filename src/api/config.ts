// Session configuration: the keys Rill reads, their defaults, and their validation (zod, at the edge).
import { z } from "zod";
import { parseDuration } from "../core/duration.ts";
import { ConfigError, closestName } from "../core/errors.ts";

const positiveInt = z.coerce.number().int().positive();

const KEYS = {
  "rill.shuffle.partitions": positiveInt.default(4),
  "rill.chaining": z.enum(["true", "false"]).default("true"),
  "rill.rows.positional": z.preprocess((value) => (typeof value === "string" ? value.toLowerCase() : value), z.enum(["auto", "off"]).default("auto")),
  "rill.transport": z.enum(["nats", "inprocess"]).optional(),
  "rill.nats.url": z.string().optional(),
  "rill.nats.unreachableTimeout": z.string().default("30 seconds"),
  "rill.nats.pingInterval": z.string().default("5 seconds"),
  "rill.subjectPrefix": z.string().regex(/^[A-Za-z0-9_-]+$/).default("rill"),
  // Default by where the actors run: flowWindowFor() below.
  "rill.flow.window": positiveInt.optional(),
  "rill.flow.maxFrameRows": positiveInt.default(1024),
  "rill.deadLetter.subject": z.string().optional(),
  "rill.deadLetter.stream": z.string().regex(/^[A-Za-z0-9_-]+$/, "expected a JetStream stream name (letters, digits, _ and -)").default("RILL_DEADLETTERS"),
  "rill.deadLetter.maxMessages": positiveInt.optional(),
  "rill.deadLetter.maxBytes": positiveInt.optional(),
  "rill.deadLetter.maxAge": z.string().optional(),
  "rill.deadLetter.duplicateWindow": z.string().default("2 minutes"),
  "rill.checkpointLocation": z.string().optional(),
  "rill.recovery.maxRetries": z.coerce.number().int().min(0).default(3),
  "rill.epoch.timeout": z.string().default("2 minutes"),
  "rill.watermark.idleTimeout": z.string().default("10 seconds"),
  "rill.watermark.maxFutureSkew": z.string().default("1 hour"),
  "rill.watermark.multiplePolicy": z.preprocess((value) => (typeof value === "string" ? value.toLowerCase() : value), z.enum(["min", "max"]).default("min")),
  "rill.lateData.subject": z.string().optional(),
  "rill.clock": z.enum(["system", "manual"]).default("system"),
  "rill.workers": z.string().regex(/^(local|cluster|[1-9][0-9]*)$/, "expected 'local', 'cluster' or a number of local worker processes").default("local"),
  "rill.workers.job": z.string().optional(),
  "rill.workers.heartbeatTimeout": z.string().default("3 seconds"),
  "rill.workers.placementTimeout": z.string().default("60 seconds"),
  "rill.workers.slots": positiveInt.default(16),
  "rill.workers.rebalance": z.preprocess((value) => (typeof value === "string" ? value.toLowerCase() : value), z.enum(["on", "off"]).default("on")),
  "rill.workers.rebalanceDelay": z.string().default("1 second"),
  "rill.state.replication": z.enum(["off", "jetstream"]).default("off"),
  "rill.state.replicas": z.coerce.number().int().refine((replicas) => [1, 3, 5].includes(replicas), "expected 1, 3 or 5 (JetStream's replica counts)").default(1),
  "rill.state.snapshotEvery": positiveInt.default(20),
  "rill.params.url": z.string().optional(),
  "rill.params.bucket": z.string().regex(/^[A-Za-z0-9_-]+$/, "a KV bucket name: letters, digits, '_' and '-'").default("rill_params"),
  "rill.params.loadTimeout": z.string().default("5 seconds"),
} as const;

/** Spark's names that mean the same thing. */
const ALIASES: Readonly<Record<string, keyof typeof KEYS>> = {
  "spark.sql.shuffle.partitions": "rill.shuffle.partitions",
  "spark.sql.streaming.checkpointLocation": "rill.checkpointLocation",
  "spark.sql.streaming.multipleWatermarkPolicy": "rill.watermark.multiplePolicy",
};

export interface SessionConfig {
  readonly shufflePartitions: number;
  readonly chaining: boolean;
  /** Operator stages whose whole chain has positional forms run rows by position (`auto`), or every row stays named. */
  readonly rowsPositional: "auto" | "off";
  readonly transport: "nats" | "inprocess" | undefined;
  readonly natsUrl: string | undefined;
  /** NATS down longer than this fails the queries (a checkpointed query then rolls back and retries). */
  readonly unreachableTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly subjectPrefix: string;
  readonly flowWindow: number;
  readonly maxFrameRows: number;
  readonly deadLetterSubject: string | undefined;
  /** The JetStream stream Rill creates for dead letters when none captures their subject, and its limits (src/deadletters). */
  readonly deadLetterStream: { readonly stream: string; readonly maxMessages: number | undefined; readonly maxBytes: number | undefined; readonly maxAgeMs: number | undefined; readonly duplicateWindowMs: number };
  /** Root folder for checkpoints of named queries (`<root>/<queryName>`). */
  readonly checkpointRoot: string | undefined;
  /** Rollbacks to the last committed epoch before a failing query gives up. */
  readonly maxRetries: number;
  /** An epoch open longer than this is a failure (a lost credit or barrier frame). */
  readonly epochTimeoutMs: number;
  /** An input silent this long stops holding the watermark back. */
  readonly idleTimeoutMs: number;
  /** Event times this far ahead of the wall clock do not move a watermark ("off": no limit). */
  readonly maxFutureMs: number;
  /** Several withWatermark in one query: the watermark is their minimum (Spark's default) or maximum. */
  readonly multipleWatermarkPolicy: "min" | "max";
  /** Where records older than the watermark go (besides being counted); none by default. */
  readonly lateDataSubject: string | undefined;
  /** `manual`: triggers and processing-time timeouts follow the session's ManualClock (tests). */
  readonly clock: "system" | "manual";
  /** Where actors run: in this process (`local`), on N local worker processes, or on the workers of the NATS cluster. */
  readonly workers: "local" | "cluster" | number;
  /** The job module local workers build their plans from. */
  readonly workersJob: string | undefined;
  /** A worker silent this long is lost, and its queries roll back. */
  readonly heartbeatTimeoutMs: number;
  /** How long placing a query waits for a worker to be there and to take its actors. */
  readonly placementTimeoutMs: number;
  /** Actors each local worker hosts at most. */
  readonly workerSlots: number;
  /** With `cluster`: a worker that joins is put to use by a handover once none joined for this long; undefined when off. */
  readonly rebalanceDelayMs: number | undefined;
  /** `jetstream`: workers' epoch changes are made durable in a replicated JetStream bucket before they ack. */
  readonly stateReplication: "off" | "jetstream";
  readonly stateReplicas: number;
  /** Committed epochs between two snapshots of the replicated state. */
  readonly snapshotEvery: number;
  /** The NATS server of the parameter bucket (default: the session's); without any, parameters live in the session. */
  readonly paramsUrl: string | undefined;
  readonly paramsBucket: string;
  /** How long start() waits for the bucket's values before it runs with the declared defaults. */
  readonly paramsLoadTimeoutMs: number;
}

export function canonicalKey(key: string): string {
  return ALIASES[key] ?? key;
}

export function checkConfigKey(key: string): void {
  const canonical = canonicalKey(key);
  if (canonical in KEYS || !canonical.startsWith("rill.")) return;
  const hint = closestName(canonical, Object.keys(KEYS));
  throw new ConfigError(`Unknown configuration key '${key}'.${hint ? ` Did you mean '${hint}'?` : ""} Known keys: ${Object.keys(KEYS).join(", ")}.`);
}

export function readConfig(values: ReadonlyMap<string, string>): SessionConfig {
  const read = <K extends keyof typeof KEYS>(key: K): z.output<(typeof KEYS)[K]> => {
    const result = KEYS[key].safeParse(values.get(key));
    if (!result.success) throw new ConfigError(`Configuration '${key}' = '${values.get(key)}' is not valid: ${result.error.issues.map((issue) => issue.message).join("; ")}.`);
    return result.data as z.output<(typeof KEYS)[K]>;
  };
  return {
    shufflePartitions: read("rill.shuffle.partitions"),
    chaining: read("rill.chaining") === "true",
    rowsPositional: read("rill.rows.positional"),
    transport: read("rill.transport"),
    natsUrl: read("rill.nats.url"),
    unreachableTimeoutMs: parseDuration(read("rill.nats.unreachableTimeout"), "rill.nats.unreachableTimeout"),
    pingIntervalMs: parseDuration(read("rill.nats.pingInterval"), "rill.nats.pingInterval"),
    subjectPrefix: read("rill.subjectPrefix"),
    flowWindow: read("rill.flow.window") ?? flowWindowFor(workersOf(read("rill.workers"))),
    maxFrameRows: read("rill.flow.maxFrameRows"),
    deadLetterSubject: read("rill.deadLetter.subject"),
    deadLetterStream: {
      stream: read("rill.deadLetter.stream"),
      maxMessages: read("rill.deadLetter.maxMessages"),
      maxBytes: read("rill.deadLetter.maxBytes"),
      maxAgeMs: optionalDuration(read("rill.deadLetter.maxAge"), "rill.deadLetter.maxAge"),
      duplicateWindowMs: parseDuration(read("rill.deadLetter.duplicateWindow"), "rill.deadLetter.duplicateWindow"),
    },
    checkpointRoot: read("rill.checkpointLocation"),
    maxRetries: read("rill.recovery.maxRetries"),
    epochTimeoutMs: parseDuration(read("rill.epoch.timeout"), "rill.epoch.timeout"),
    idleTimeoutMs: parseDuration(read("rill.watermark.idleTimeout"), "rill.watermark.idleTimeout"),
    maxFutureMs: read("rill.watermark.maxFutureSkew") === "off" ? Number.POSITIVE_INFINITY : parseDuration(read("rill.watermark.maxFutureSkew"), "rill.watermark.maxFutureSkew"),
    multipleWatermarkPolicy: read("rill.watermark.multiplePolicy"),
    lateDataSubject: read("rill.lateData.subject"),
    clock: read("rill.clock"),
    workers: workersOf(read("rill.workers")),
    workersJob: read("rill.workers.job"),
    heartbeatTimeoutMs: parseDuration(read("rill.workers.heartbeatTimeout"), "rill.workers.heartbeatTimeout"),
    placementTimeoutMs: parseDuration(read("rill.workers.placementTimeout"), "rill.workers.placementTimeout"),
    workerSlots: read("rill.workers.slots"),
    rebalanceDelayMs: read("rill.workers.rebalance") === "off" ? undefined : parseDuration(read("rill.workers.rebalanceDelay"), "rill.workers.rebalanceDelay"),
    stateReplication: read("rill.state.replication"),
    stateReplicas: read("rill.state.replicas"),
    snapshotEvery: read("rill.state.snapshotEvery"),
    paramsUrl: read("rill.params.url"),
    paramsBucket: read("rill.params.bucket"),
    paramsLoadTimeoutMs: parseDuration(read("rill.params.loadTimeout"), "rill.params.loadTimeout"),
  };
}

function optionalDuration(value: string | undefined, key: string): number | undefined {
  return value === undefined ? undefined : parseDuration(value, key);
}

/** `rill.flow.window` when it is not set: rows a receiver lets one sender have in flight. */
export const FLOW_WINDOW = { local: 8192, workers: 65_536 } as const;

/**
 * The default flow window. On workers a channel's credit crosses processes: it comes back only after the receiver's
 * process ends its turn (a turn takes the whole mailbox) and the sender's reads it, so a sender blocked on one remote
 * receiver idles while that process works. 8192 rows kept 2 workers at 40% CPU each in scenario (b); a larger window
 * covers that round trip (ARCHITECTURE, decision log). In one process a blocked sender lets the receiver run at once.
 */
export function flowWindowFor(workers: SessionConfig["workers"]): number {
  return workers === "local" ? FLOW_WINDOW.local : FLOW_WINDOW.workers;
}

function workersOf(value: string): SessionConfig["workers"] {
  return value === "local" || value === "cluster" ? value : Number(value);
}
