// Triggers, written as pyspark's keyword arguments: continuous (default), processingTime, once, availableNow.
import { parseDuration } from "../core/duration.ts";
import { ConfigError } from "../core/errors.ts";

export type Trigger =
  | { continuous: string | number }
  | { processingTime: string | number }
  | { once: true }
  | { availableNow: true };

export interface ResolvedTrigger {
  readonly kind: "continuous" | "processingTime" | "once" | "availableNow";
  /** Epoch length: the checkpoint interval (continuous) or the micro-batch interval (processingTime). */
  readonly intervalMs: number | undefined;
  readonly microBatch: boolean;
}

export const DEFAULT_TRIGGER: Trigger = { continuous: "1 second" };

export function resolveTrigger(trigger: Trigger): ResolvedTrigger {
  const keys = Object.keys(trigger);
  if (keys.length !== 1) throw new ConfigError(`trigger() takes exactly one of continuous, processingTime, once, availableNow; got {${keys.join(", ")}}.`);
  if ("continuous" in trigger) return { kind: "continuous", intervalMs: positive(parseDuration(trigger.continuous, "trigger({ continuous })"), "continuous"), microBatch: false };
  if ("processingTime" in trigger) return { kind: "processingTime", intervalMs: positive(parseDuration(trigger.processingTime, "trigger({ processingTime })"), "processingTime"), microBatch: true };
  if ("once" in trigger && trigger.once === true) return { kind: "once", intervalMs: undefined, microBatch: true };
  if ("availableNow" in trigger && trigger.availableNow === true) return { kind: "availableNow", intervalMs: undefined, microBatch: false };
  throw new ConfigError(`Unknown trigger ${JSON.stringify(trigger)}: use { continuous: "1 second" }, { processingTime: "5 seconds" }, { once: true } or { availableNow: true }.`);
}

function positive(milliseconds: number, name: string): number {
  if (milliseconds <= 0) throw new ConfigError(`trigger({ ${name} }) must be longer than 0 ms.`);
  return milliseconds;
}
