// Where alerts go: the Alert record, the notifier seam, and the console, NATS, webhook and callback notifiers.
import type { Transport } from "../actors/transport.ts";
import { ConfigError, TransportError } from "../core/errors.ts";
import type { AlertKind, AlertSeverity } from "./alerts-rules.ts";

/** One notification: an incident starts (`firing`) or ends (`resolved`). Each incident sends exactly these two. */
export interface Alert {
  /** The rule's name. */
  readonly rule: string;
  readonly kind: AlertKind;
  readonly severity: AlertSeverity;
  readonly state: "firing" | "resolved";
  /** The same for the firing and the resolved alert of one incident: `<rule>/<query>/<since>`. */
  readonly incident: string;
  readonly query: { readonly id: string; readonly runId: string; readonly name: string | null };
  readonly message: string;
  /** The measured figure (rows/s, ms, recoveries) when the alert was sent, if the rule has one. */
  readonly value: number | null;
  readonly threshold: number | null;
  /** The epoch that fired or cleared the alert; null when a termination did. */
  readonly batchId: number | null;
  /** ISO time the incident started. */
  readonly since: string;
  /** ISO time of this notification's cause (the epoch's end, or when the termination was seen). */
  readonly timestamp: string;
}

/** Receives alerts. A notifier that throws or rejects is reported and counted; the others still get the alert. */
export interface AlertNotifier {
  readonly name: string;
  notify(alert: Alert): void | Promise<void>;
}

/** One readable line per alert: `rill alert FIRING [warning] latency:orders on 'orders': ...`. */
export function formatAlert(alert: Alert): string {
  const query = alert.query.name ?? alert.query.id;
  return `rill alert ${alert.state.toUpperCase()} [${alert.severity}] ${alert.rule} on '${query}' at ${alert.timestamp}: ${alert.message}`;
}

/** Writes each alert as one line (default: stderr). */
export function consoleNotifier(write: (line: string) => void = (line) => console.error(line)): AlertNotifier {
  return { name: "console", notify: (alert) => write(formatAlert(alert)) };
}

/** Calls `fn` with each alert; a returned promise is awaited before the engine handles its next event. */
export function callbackNotifier(fn: (alert: Alert) => void | Promise<void>, name = "callback"): AlertNotifier {
  return { name, notify: fn };
}

const SUBJECT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Publishes each alert as JSON to `subject` (default `rill.alerts`) through a session's transport, and flushes, so the
 * alert has reached the broker when the notifier returns.
 *
 * @example
 * engine.addNotifier(natsNotifier(session, { subject: "ops.alerts" }));
 */
export function natsNotifier(target: { readonly transport: Transport }, options: { readonly subject?: string } = {}): AlertNotifier {
  const subject = options.subject ?? "rill.alerts";
  if (!SUBJECT.test(subject)) {
    throw new ConfigError(`natsNotifier option 'subject' = '${subject}' is not a subject to publish to: write dot-separated tokens of letters, digits, '_' and '-', without wildcards, e.g. 'rill.alerts'.`);
  }
  const encoder = new TextEncoder();
  return {
    name: `nats:${subject}`,
    notify: async (alert) => {
      target.transport.publish(subject, encoder.encode(JSON.stringify(alert)));
      await target.transport.flush();
    },
  };
}

export interface WebhookOptions {
  /** Extra request headers, e.g. an authorization token. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Abort a request that takes longer (default 5 seconds). */
  readonly timeoutMs?: number;
}

/** POSTs each alert as JSON to `url` with node's fetch; an answer other than 2xx counts as a failed delivery. */
export function webhookNotifier(url: string, options: WebhookOptions = {}): AlertNotifier {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ConfigError(`webhookNotifier url '${url}' is not a URL: write it as http://host:port/path or https://...`, { cause: error });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ConfigError(`webhookNotifier url '${url}' must use http or https, not ${parsed.protocol}`);
  }
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!(timeoutMs > 0)) throw new ConfigError(`webhookNotifier option 'timeoutMs' must be a positive number of milliseconds, got ${timeoutMs}.`);
  const where = `${parsed.origin}${parsed.pathname}`;
  return {
    name: `webhook:${where}`,
    notify: async (alert) => {
      let response: Response;
      try {
        response = await fetch(parsed, {
          method: "POST",
          headers: { "content-type": "application/json", ...options.headers },
          body: JSON.stringify(alert),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw new TransportError(`Webhook ${where} could not be reached within ${timeoutMs} ms: ${String(error)}`, { cause: error });
      }
      // Read the body so the connection can be reused; its text explains a refusal.
      const text = await response.text();
      if (!response.ok) throw new TransportError(`Webhook ${where} answered ${response.status} ${response.statusText}: ${text.slice(0, 200)}`);
    },
  };
}

/** Shows alerts on a dashboard started by `session.ui()`: firing, then cleared when the incident resolves. */
export function dashboardNotifier(dashboard: { publishAlert(alert: { query: string; rule: string; state: "firing" | "cleared"; message: string; at: string }): void }): AlertNotifier {
  return callbackNotifier((alert) => {
    dashboard.publishAlert({ query: alert.query.name ?? alert.query.id, rule: alert.rule, state: alert.state === "firing" ? "firing" : "cleared", message: alert.message, at: alert.timestamp });
  }, "dashboard");
}
