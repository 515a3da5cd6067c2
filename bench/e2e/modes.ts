// The modes compared side by side: Rill continuous and micro-batch, NATS and in-process, chained and not, checkpoints on and off, and raw NATS.
import type { Trigger } from "../../src/index.ts";

export interface EngineMode {
  readonly kind: "engine";
  readonly id: string;
  readonly label: string;
  readonly transport: "nats" | "inprocess";
  /** `rill.chaining`: stateless operators run in the actor before them, or each in its own actor. */
  readonly chaining: boolean;
  /** A fresh checkpoint location per run (removed after it): state and offsets committed to LMDB at every epoch. */
  readonly checkpoint: boolean;
  readonly trigger: Trigger;
  /** Micro-batch interval: rows wait up to this long by design, so latency bounds and rates allow for it. */
  readonly intervalMs: number;
}

/** A plain NATS publisher and subscriber moving the same rows in the same frames, no engine. */
export interface RawMode {
  readonly kind: "raw";
  readonly id: string;
  readonly label: string;
  readonly intervalMs: 0;
  /**
   * "query": the records scenario (a)'s source actor sends to its sink (the publisher keeps the stairs rows
   * and their four columns in plain code); "input": every generated row with all ten columns.
   */
  readonly records: "query" | "input";
}

export type Mode = EngineMode | RawMode;

export const CONTINUOUS = "continuous-nats";
export const CHECKPOINTS = "continuous-nats-checkpoints";
export const MICRO_BATCH_100MS = "microbatch-100ms";
export const MICRO_BATCH_1S = "microbatch-1s";
export const IN_PROCESS = "continuous-inprocess";
export const UNCHAINED = "continuous-nats-unchained";
export const RAW_NATS = "raw-nats";
export const RAW_NATS_INPUT = "raw-nats-input";

export const MODES: readonly Mode[] = [
  { kind: "engine", id: CONTINUOUS, label: "Rill continuous, NATS", transport: "nats", chaining: true, checkpoint: false, trigger: { continuous: "1 second" }, intervalMs: 0 },
  { kind: "engine", id: CHECKPOINTS, label: "Rill continuous, NATS, checkpoints every 1 s", transport: "nats", chaining: true, checkpoint: true, trigger: { continuous: "1 second" }, intervalMs: 0 },
  { kind: "engine", id: MICRO_BATCH_100MS, label: "Rill micro-batch 100 ms, NATS", transport: "nats", chaining: true, checkpoint: false, trigger: { processingTime: "100 milliseconds" }, intervalMs: 100 },
  { kind: "engine", id: MICRO_BATCH_1S, label: "Rill micro-batch 1 s, NATS", transport: "nats", chaining: true, checkpoint: false, trigger: { processingTime: "1 second" }, intervalMs: 1000 },
  { kind: "engine", id: IN_PROCESS, label: "Rill continuous, in-process", transport: "inprocess", chaining: true, checkpoint: false, trigger: { continuous: "1 second" }, intervalMs: 0 },
  { kind: "engine", id: UNCHAINED, label: "Rill continuous, NATS, every operator its own actor", transport: "nats", chaining: false, checkpoint: false, trigger: { continuous: "1 second" }, intervalMs: 0 },
  { kind: "raw", id: RAW_NATS, label: "raw NATS, (a)'s records (plain pub/sub, no engine)", intervalMs: 0, records: "query" },
];

/** Modes only `--full` (or `--modes`) runs. */
export const EXTRA_MODES: readonly Mode[] = [
  { kind: "raw", id: RAW_NATS_INPUT, label: "raw NATS, every input row (plain pub/sub, no engine)", intervalMs: 0, records: "input" },
];

export function modeById(id: string): Mode {
  const all = [...MODES, ...EXTRA_MODES];
  const mode = all.find((candidate) => candidate.id === id);
  if (!mode) throw new Error(`Unknown mode '${id}'. Modes: ${all.map((candidate) => candidate.id).join(", ")}`);
  return mode;
}
