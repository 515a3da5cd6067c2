// Messages between the coordinator and the actors (acks, failures, barriers to sources).
import { Packr } from "msgpackr";
import type { ReadLimit } from "../connectors/sources/source.ts";
import { TransportError } from "../core/errors.ts";
import type { LatencyPercentiles } from "../core/latency.ts";
import type { EpochParams } from "../core/param-values.ts";

/** What an actor did during one epoch; the coordinator sums these into progress. */
export interface ActorEpochStats {
  rowsIn: number;
  rowsOut: number;
  framesIn: number;
  framesOut: number;
  creditWaits: number;
  deadLetters: number;
  stateRows: number;
  /** Records older than the watermark, dropped (and sent to the late-data output when there is one). */
  droppedByWatermark: number;
  /** State rows written (changed or added) and removed in the epoch (Spark's numRowsUpdated, numRowsRemoved). */
  rowsUpdated: number;
  rowsRemoved: number;
  /** Rows dropped by dropDuplicates (Spark's numDroppedDuplicateRows). */
  droppedDuplicates: number;
  /** Event times seen by withWatermark in the epoch: min, max and sum over count (Spark's eventTime min, max, avg). */
  eventTimeCount: number;
  eventTimeSum: number;
  eventTimeMin?: number;
  eventTimeMax?: number;
  /** The actor's input watermark at the barrier (ms), when it has one. */
  watermark?: number;
  /** Sink only: ingest-to-sink latency of the epoch's rows, and the encoded histogram to merge. */
  latency?: LatencyPercentiles;
  latencyHistogram?: string;
}

export type ControlMessage =
  /** `params`: the values of the epoch after `epoch` (src/params), when the query uses parameters. */
  | { readonly type: "barrier"; readonly epoch: number; readonly final: boolean; readonly readLimit: ReadLimit; readonly params?: EpochParams }
  | { readonly type: "ack"; readonly actor: string; readonly epoch: number; readonly stats: ActorEpochStats; readonly sourceOffset?: unknown; readonly dataLeft?: boolean }
  | { readonly type: "commit"; readonly epoch: number }
  | { readonly type: "committed"; readonly actor: string; readonly epoch: number }
  | { readonly type: "failed"; readonly actor: string; readonly error: string; readonly code: string };

const packr = new Packr({ useRecords: false });

export function encodeControl(message: ControlMessage): Uint8Array {
  return packr.pack(message);
}

/** Decodes a control message; bytes that are not one (garbage, a forged or foreign message) throw a TransportError. */
export function decodeControl(bytes: Uint8Array): ControlMessage {
  let message: unknown;
  try {
    message = packr.unpack(bytes);
  } catch (error) {
    throw new TransportError(`A control message does not decode (${bytes.length} bytes).`, { cause: error });
  }
  if (!isControlMessage(message)) throw new TransportError(`A control message has an unknown shape (${bytes.length} bytes).`);
  return message;
}

function isControlMessage(value: unknown): value is ControlMessage {
  if (typeof value !== "object" || value === null) return false;
  const message = value as Record<string, unknown>;
  const epochOk = Number.isSafeInteger(message.epoch) && (message.epoch as number) >= 0;
  switch (message.type) {
    case "barrier": return epochOk && typeof message.final === "boolean" && (message.params === undefined || isEpochParams(message.params));
    case "commit": return epochOk;
    case "committed": return epochOk && typeof message.actor === "string";
    case "ack": return epochOk && typeof message.actor === "string" && typeof message.stats === "object" && message.stats !== null;
    case "failed": return typeof message.actor === "string" && typeof message.error === "string" && typeof message.code === "string";
    default: return false;
  }
}

function isEpochParams(value: unknown): value is EpochParams {
  if (typeof value !== "object" || value === null) return false;
  const params = value as Record<string, unknown>;
  return Number.isSafeInteger(params.revision) && typeof params.values === "object" && params.values !== null;
}

export function emptyStats(): ActorEpochStats {
  return {
    rowsIn: 0, rowsOut: 0, framesIn: 0, framesOut: 0, creditWaits: 0, deadLetters: 0, stateRows: 0, droppedByWatermark: 0,
    rowsUpdated: 0, rowsRemoved: 0, droppedDuplicates: 0, eventTimeCount: 0, eventTimeSum: 0,
  };
}
