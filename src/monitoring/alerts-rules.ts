// Alert rules (seed 23.4): their zod schemas, checked once when a rule is added, and the condition each one watches.
import { z } from "zod";
import type { QueryTerminatedEvent } from "../api/listener.ts";
import type { StreamingQueryProgress } from "../api/progress.ts";
import { parseDuration } from "../core/duration.ts";
import { ConfigError, closestName } from "../core/errors.ts";

const DURATION_HINT = "expected a duration such as \"30 seconds\" or \"500 ms\", or a number of milliseconds";

const duration = z
  .union([z.number().nonnegative(), z.string()], { error: (issue) => (issue.input === undefined ? "required" : DURATION_HINT) })
  .transform((value, context): number => {
    try {
      return parseDuration(value, "duration");
    } catch (error) {
      // parseDuration's ConfigError becomes a zod issue, so the rule's error names the field.
      context.addIssue({ code: "custom", message: `${DURATION_HINT}, got '${String(value)}'`, input: value, params: { cause: String(error) } });
      return z.NEVER;
    }
  });

const epochs = z.number().int().positive();

const common = {
  /** Names the rule in alerts; default `<kind>` or `<kind>:<query>`; unique within an engine. */
  name: z.string().regex(/^[A-Za-z0-9_.:-]+$/, "use letters, digits and '_', '-', '.', ':'").optional(),
  /** A query's name or id; omitted (or "*"): every query of the session. */
  query: z.string().min(1).optional(),
  severity: z.enum(["warning", "critical"]).optional(),
  /** Epochs in a row with the condition false before a firing alert clears. */
  clearAfterEpochs: epochs.default(1),
};

const alertRuleSchema = z.discriminatedUnion("kind", [
  /** The query terminated with an exception; clears when a run of the same query completes `clearAfterEpochs` epochs. */
  z.strictObject({ kind: z.literal("queryFailed"), ...common }),
  /** processedRowsPerSecond < ratio x inputRowsPerSecond for `forEpochs` epochs in a row: the query falls behind. */
  z.strictObject({ kind: z.literal("processingBelowInput"), ...common, forEpochs: epochs.default(3), ratio: z.number().positive().max(1).default(0.9) }),
  /** Progress time minus eventTime.watermark above `max`; epochs without a watermark change nothing. */
  z.strictObject({ kind: z.literal("watermarkLag"), ...common, max: duration, forEpochs: epochs.default(1) }),
  /** The epoch's ingest-to-sink latency percentile above `max`; epochs with no rows at the sink change nothing. */
  z.strictObject({ kind: z.literal("latency"), ...common, max: duration, percentile: z.enum(["p50", "p99", "p999", "max"]).default("p99"), forEpochs: epochs.default(1) }),
  /** The query rolled back to its last committed epoch (numRecoveries grew), or failed with CHECKPOINT or EPOCH_TIMEOUT. */
  z.strictObject({ kind: z.literal("checkpointFailing"), ...common }),
]);

/** A rule as written by the user (durations as "30 seconds" or milliseconds; defaults may be left out). */
export type AlertRule = z.input<typeof alertRuleSchema>;
export type AlertKind = AlertRule["kind"];
export type AlertSeverity = "warning" | "critical";
/** A rule after validation: defaults filled in, durations in milliseconds. */
export type ResolvedAlertRule = z.output<typeof alertRuleSchema> & { readonly name: string; readonly severity: AlertSeverity };

const CHECKPOINT_CODES: ReadonlySet<string> = new Set(["CHECKPOINT", "EPOCH_TIMEOUT"]);

/** Validates a rule and fills in its defaults; a bad rule throws a ConfigError naming the field. */
export function resolveAlertRule(input: AlertRule): ResolvedAlertRule {
  const result = alertRuleSchema.safeParse(input);
  if (!result.success) {
    const label = typeof input === "object" && input !== null && "name" in input && typeof input.name === "string" ? `'${input.name}'` : JSON.stringify(input);
    throw new ConfigError(`Alert rule ${label} is not valid: ${result.error.issues.map((issue) => describeIssue(issue, input)).join("; ")}.`);
  }
  const rule = result.data;
  const name = rule.name ?? (rule.query === undefined || rule.query === "*" ? rule.kind : `${rule.kind}:${rule.query}`);
  const severity = rule.severity ?? (rule.kind === "queryFailed" || rule.kind === "checkpointFailing" ? "critical" : "warning");
  return { ...rule, name, severity };
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === "unrecognized_keys") {
    const kind = typeof input === "object" && input !== null && "kind" in input ? String(input.kind) : "";
    const known = alertRuleSchema.options.find((option) => option.shape.kind.value === kind)?.keyof().options ?? [];
    return issue.keys.map((key) => {
      const hint = closestName(key, known) ?? known.find((field) => key.toLowerCase().startsWith(field.toLowerCase()));
      return `'${key}' is not a field of a ${kind} rule${hint ? `; did you mean '${hint}'?` : ""} (fields: ${known.join(", ")})`;
    }).join("; ");
  }
  const field = issue.path.map(String).join(".") || "rule";
  return `field '${field}': ${issue.message}`;
}

/** Whether a rule watches the query with this id and name. */
export function ruleMatches(rule: ResolvedAlertRule, id: string, name: string | null): boolean {
  return rule.query === undefined || rule.query === "*" || rule.query === id || rule.query === name;
}

/** Epochs in a row the condition must hold before the rule fires. */
export function epochsToFire(rule: ResolvedAlertRule): number {
  return "forEpochs" in rule ? rule.forEpochs : 1;
}

/** What one event says about a rule's condition: it holds, it does not, or the query ended and it cannot be measured. */
export interface Observation {
  readonly outcome: "breach" | "pass" | "ended";
  readonly message: string;
  /** The measured figure (rows/s, ms, recoveries), when there is one. */
  readonly value: number | null;
  readonly threshold: number | null;
}

/** Facts about one epoch, beyond its progress report. */
export interface EpochFacts {
  readonly progress: StreamingQueryProgress;
  readonly label: string;
  /** Rollbacks of the query before this epoch and now (equal when unknown). */
  readonly recoveriesBefore: number;
  readonly recoveriesNow: number;
}

/** The rule's condition at the end of an epoch; undefined when this epoch cannot tell (no watermark, no rows). */
export function observeEpoch(rule: ResolvedAlertRule, facts: EpochFacts): Observation | undefined {
  const { progress, label } = facts;
  switch (rule.kind) {
    case "queryFailed":
      return { outcome: "pass", message: `Query ${label} is running (epoch ${progress.batchId} completed).`, value: null, threshold: null };
    case "processingBelowInput": {
      const processed = progress.processedRowsPerSecond;
      const bound = round(rule.ratio * progress.inputRowsPerSecond);
      const below = processed < bound;
      return {
        outcome: below ? "breach" : "pass", value: processed, threshold: bound,
        message: `Query ${label} processed ${processed} rows/s ${below ? "below" : "against"} an input rate of ${progress.inputRowsPerSecond} rows/s in epoch ${progress.batchId} (bound ${bound} rows/s${below ? `, ${rule.forEpochs} epochs in a row fire` : ""}).`,
      };
    }
    case "watermarkLag": {
      const watermark = progress.eventTime.watermark;
      if (watermark === undefined) return undefined;
      const lag = Date.parse(progress.timestamp) - Date.parse(watermark);
      return {
        outcome: lag > rule.max ? "breach" : "pass", value: lag, threshold: rule.max,
        message: `Watermark of query ${label} is ${watermark}, ${lag} ms behind the clock at epoch ${progress.batchId} (bound ${rule.max} ms).`,
      };
    }
    case "latency": {
      if (progress.latencyMs.count === 0) return undefined;
      const value = progress.latencyMs[rule.percentile];
      return {
        outcome: value > rule.max ? "breach" : "pass", value, threshold: rule.max,
        message: `${rule.percentile} latency of query ${label} is ${value} ms over ${progress.latencyMs.count} rows in epoch ${progress.batchId} (bound ${rule.max} ms).`,
      };
    }
    case "checkpointFailing": {
      const rolledBack = facts.recoveriesNow > facts.recoveriesBefore;
      return {
        outcome: rolledBack ? "breach" : "pass", value: facts.recoveriesNow, threshold: null,
        message: rolledBack
          ? `Query ${label} rolled back to its last committed epoch (${facts.recoveriesNow} recoveries so far, ${facts.recoveriesNow - facts.recoveriesBefore} new) before epoch ${progress.batchId}.`
          : `Query ${label} committed epoch ${progress.batchId} without a rollback (${facts.recoveriesNow} recoveries in this run).`,
      };
    }
  }
}

/** The rule's condition when the query terminates; undefined when the termination changes nothing for this rule. */
export function observeTermination(rule: ResolvedAlertRule, event: QueryTerminatedEvent, label: string, recoveriesBefore: number, recoveriesNow: number): Observation | undefined {
  const failure = event.exception === null ? undefined : `${event.exception} (${event.errorClassOnException ?? "QUERY_FAILED"})`;
  switch (rule.kind) {
    case "queryFailed":
      return failure === undefined ? undefined : { outcome: "breach", message: `Query ${label} failed: ${failure}`, value: null, threshold: null };
    case "checkpointFailing": {
      if (failure !== undefined && CHECKPOINT_CODES.has(event.errorClassOnException ?? "")) {
        return { outcome: "breach", message: `Query ${label} failed to complete or commit an epoch: ${failure}`, value: recoveriesNow, threshold: null };
      }
      if (recoveriesNow > recoveriesBefore) {
        return { outcome: "breach", message: `Query ${label} rolled back ${recoveriesNow - recoveriesBefore} time(s) before it ended${failure ? `: ${failure}` : ""}.`, value: recoveriesNow, threshold: null };
      }
      return undefined;
    }
    default:
      return { outcome: "ended", message: `Query ${label} ${failure === undefined ? "stopped" : "failed"}; the ${rule.kind} condition is no longer measured.`, value: null, threshold: null };
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
