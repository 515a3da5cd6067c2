// The alert engine (seed 23.4): a listener that checks each query event against rules and notifies once per incident.
import type { QueryProgressEvent, QueryStartedEvent, QueryTerminatedEvent, StreamingQueryListener } from "../api/listener.ts";
import type { Session } from "../api/session.ts";
import { ConfigError } from "../core/errors.ts";
import type { Alert, AlertNotifier } from "./alerts-notifiers.ts";
import { epochsToFire, observeEpoch, observeTermination, resolveAlertRule, ruleMatches, type AlertRule, type Observation, type ResolvedAlertRule } from "./alerts-rules.ts";

/** What the engine reads from a running query besides its events (`session.streams.get(id)` gives it). */
export interface AlertQueryHandle {
  readonly numRecoveries: number;
}

export interface AlertEngineOptions {
  readonly rules?: readonly AlertRule[];
  readonly notifiers?: readonly AlertNotifier[];
  /** Finds a running query by id, for its recoveries (`session.streams`); without it checkpointFailing sees only failures. */
  readonly queries?: { get(id: string): AlertQueryHandle | undefined };
  /** Where failed deliveries are reported (default: stderr). */
  readonly log?: (message: string) => void;
}

const SEPARATOR = "\u0000";

interface Incident {
  breaches: number;
  passes: number;
  firing: Alert | undefined;
}

interface TrackedQuery {
  readonly id: string;
  runId: string;
  name: string | null;
  handle: AlertQueryHandle | undefined;
  recoveries: number;
}

/**
 * Checks every query event against its rules and tells its notifiers when an incident starts and when it ends: a rule
 * fires after its condition held `forEpochs` epochs in a row, and clears after it failed `clearAfterEpochs` epochs in
 * a row. Incidents are kept per rule and query (by name, so a restarted query continues its incident). As a listener
 * it runs off the query's path; a slow notifier delays only the engine.
 *
 * @example
 * const alerts = AlertEngine.attach(session, { notifiers: [consoleNotifier(), webhookNotifier("http://ops/hook")] });
 * alerts.add({ kind: "latency", query: "orders", max: "250 ms" });
 * alerts.add({ kind: "processingBelowInput", forEpochs: 5 });
 */
export class AlertEngine implements StreamingQueryListener {
  private readonly ruleList: ResolvedAlertRule[] = [];
  private readonly notifierList: AlertNotifier[];
  private readonly incidents = new Map<string, Incident>();
  private readonly queries = new Map<string, TrackedQuery>();
  private readonly lookup: AlertEngineOptions["queries"];
  private readonly log: (message: string) => void;
  private failures = 0;
  private detachFrom: (() => void) | undefined;

  constructor(options: AlertEngineOptions = {}) {
    this.notifierList = [...(options.notifiers ?? [])];
    this.lookup = options.queries;
    this.log = options.log ?? ((message) => console.error(message));
    for (const rule of options.rules ?? []) this.add(rule);
  }

  /** Creates an engine that watches every query of the session, and adds it to `session.streams` as a listener. */
  static attach(session: Pick<Session, "streams" | "log">, options: AlertEngineOptions = {}): AlertEngine {
    const engine = new AlertEngine({ queries: session.streams, log: session.log, ...options });
    session.streams.addListener(engine);
    engine.detachFrom = () => session.streams.removeListener(engine);
    return engine;
  }

  /** Stops watching the session it was attached to. */
  detach(): void {
    this.detachFrom?.();
    this.detachFrom = undefined;
  }

  /** Validates and adds a rule; throws a ConfigError naming the bad field, or when the name is taken. */
  add(rule: AlertRule): ResolvedAlertRule {
    const resolved = resolveAlertRule(rule);
    if (this.ruleList.some((existing) => existing.name === resolved.name)) {
      throw new ConfigError(`An alert rule named '${resolved.name}' already exists. Give the new rule another 'name'. Rules: ${this.ruleList.map((existing) => existing.name).join(", ")}.`);
    }
    this.ruleList.push(resolved);
    return resolved;
  }

  /** Removes a rule and forgets its incidents (a firing alert of it is not resolved). */
  remove(name: string): boolean {
    const index = this.ruleList.findIndex((rule) => rule.name === name);
    if (index < 0) return false;
    this.ruleList.splice(index, 1);
    for (const key of this.incidents.keys()) if (key.startsWith(`${name}${SEPARATOR}`)) this.incidents.delete(key);
    return true;
  }

  get rules(): readonly ResolvedAlertRule[] {
    return [...this.ruleList];
  }

  /** Adds a notifier; it receives alerts sent from now on (`active` has the ones already firing). */
  addNotifier(notifier: AlertNotifier): void {
    if (!this.notifierList.includes(notifier)) this.notifierList.push(notifier);
  }

  removeNotifier(notifier: AlertNotifier): void {
    const index = this.notifierList.indexOf(notifier);
    if (index >= 0) this.notifierList.splice(index, 1);
  }

  get notifiers(): readonly AlertNotifier[] {
    return [...this.notifierList];
  }

  /** The alerts firing now, oldest first. */
  get active(): Alert[] {
    return [...this.incidents.values()].flatMap((incident) => (incident.firing ? [incident.firing] : [])).sort((a, b) => a.since.localeCompare(b.since));
  }

  /** Deliveries that a notifier failed (each also reported to the log). */
  get failedNotifications(): number {
    return this.failures;
  }

  onQueryStarted(event: QueryStartedEvent): void {
    const handle = this.lookup?.get(event.id);
    this.queries.set(event.id, { id: event.id, runId: event.runId, name: event.name, handle, recoveries: handle?.numRecoveries ?? 0 });
  }

  async onQueryProgress(event: QueryProgressEvent): Promise<void> {
    const progress = event.progress;
    const query = this.track(progress.id, progress.runId, progress.name);
    const recoveriesBefore = query.recoveries;
    const recoveriesNow = Math.max(recoveriesBefore, query.handle?.numRecoveries ?? recoveriesBefore);
    query.recoveries = recoveriesNow;
    const facts = { progress, label: labelOf(query), recoveriesBefore, recoveriesNow };
    const alerts: Alert[] = [];
    for (const rule of this.ruleList) {
      if (!ruleMatches(rule, query.id, query.name)) continue;
      const observation = observeEpoch(rule, facts);
      const alert = observation && this.step(rule, query, observation, progress.timestamp, progress.batchId);
      if (alert) alerts.push(alert);
    }
    await this.deliver(alerts);
  }

  async onQueryTerminated(event: QueryTerminatedEvent): Promise<void> {
    const query = this.queries.get(event.id) ?? { id: event.id, runId: event.runId, name: null, handle: undefined, recoveries: 0 };
    this.queries.delete(event.id);
    const recoveriesNow = Math.max(query.recoveries, query.handle?.numRecoveries ?? 0);
    const at = new Date().toISOString();
    const alerts: Alert[] = [];
    for (const rule of this.ruleList) {
      if (!ruleMatches(rule, query.id, query.name)) continue;
      const observation = observeTermination(rule, event, labelOf(query), query.recoveries, recoveriesNow);
      const alert = observation && this.step(rule, query, observation, at, null);
      if (alert) alerts.push(alert);
    }
    // Counters of incidents that are not firing end with the run; firing ones wait for a new run to clear them.
    const suffix = `${SEPARATOR}${queryKey(query)}`;
    for (const [key, incident] of this.incidents) if (key.endsWith(suffix) && !incident.firing) this.incidents.delete(key);
    await this.deliver(alerts);
  }

  private track(id: string, runId: string, name: string | null): TrackedQuery {
    let query = this.queries.get(id);
    if (!query) {
      // First seen mid-run (the engine was added after the start): rollbacks before now are history, not an incident.
      const handle = this.lookup?.get(id);
      query = { id, runId, name, handle, recoveries: handle?.numRecoveries ?? 0 };
      this.queries.set(id, query);
    }
    query.runId = runId;
    query.name = name;
    return query;
  }

  /** Advances one incident by one observation; returns the alert to send when it starts or ends. */
  private step(rule: ResolvedAlertRule, query: TrackedQuery, observation: Observation, at: string, batchId: number | null): Alert | undefined {
    const key = `${rule.name}${SEPARATOR}${queryKey(query)}`;
    const incident = this.incidents.get(key) ?? { breaches: 0, passes: 0, firing: undefined };
    this.incidents.set(key, incident);
    const alert = (state: Alert["state"], since: string): Alert => ({
      rule: rule.name, kind: rule.kind, severity: rule.severity, state, incident: `${rule.name}/${queryKey(query)}/${since}`,
      query: { id: query.id, runId: query.runId, name: query.name }, message: observation.message,
      value: observation.value, threshold: observation.threshold, batchId, since, timestamp: at,
    });
    if (observation.outcome === "ended") {
      this.incidents.delete(key);
      return incident.firing ? alert("resolved", incident.firing.since) : undefined;
    }
    if (observation.outcome === "breach") {
      incident.passes = 0;
      incident.breaches++;
      if (incident.firing || incident.breaches < epochsToFire(rule)) return undefined;
      incident.firing = alert("firing", at);
      return incident.firing;
    }
    incident.breaches = 0;
    incident.passes++;
    if (!incident.firing || incident.passes < rule.clearAfterEpochs) return undefined;
    const resolved = alert("resolved", incident.firing.since);
    incident.firing = undefined;
    return resolved;
  }

  /** Sends each alert to every notifier at once, alert after alert, so a resolved alert never overtakes its firing one. */
  private async deliver(alerts: readonly Alert[]): Promise<void> {
    for (const alert of alerts) {
      const notifiers = [...this.notifierList];
      const results = await Promise.allSettled(notifiers.map(async (notifier) => await notifier.notify(alert)));
      results.forEach((result, index) => {
        if (result.status === "fulfilled") return;
        this.failures++;
        this.log(`rill: alert notifier '${notifiers[index]?.name ?? "?"}' could not deliver the ${alert.state} alert '${alert.rule}' of query ${alert.query.name ?? alert.query.id}: ${String(result.reason)}`);
      });
    }
  }
}

/** Incidents are kept per rule and query name (the id for an unnamed query), so a restarted query continues its own. */
function queryKey(query: TrackedQuery): string {
  return query.name ?? query.id;
}

function labelOf(query: TrackedQuery): string {
  return query.name ? `'${query.name}'` : `[id = ${query.id}]`;
}
