// Which HTTP requests the dashboard answers: a Host it is known by (against DNS rebinding), no other site's Origin, and
// JSON for a POST (a cross-site form or text/plain POST is refused, so another page cannot raise alerts).
import type { IncomingMessage } from "node:http";

export interface Refusal {
  readonly status: number;
  readonly message: string;
}

const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"];
const WILDCARD_HOSTS = new Set(["0.0.0.0", "::"]);

/**
 * The `Host` values a dashboard listening on `host:port` answers: the loopback names, and the configured host.
 * Bound to every interface (0.0.0.0 or ::), it is reached by names it cannot know, so any Host is taken then.
 */
export function allowedHosts(host: string, port: number): ReadonlySet<string> | "any" {
  if (WILDCARD_HOSTS.has(host)) return "any";
  const names = [...LOOPBACK_NAMES, host.includes(":") ? `[${host}]` : host];
  return new Set(names.map((name) => `${name}:${port}`.toLowerCase()));
}

/** Why a request is refused, or undefined when it may be answered. */
export function refuseRequest(request: IncomingMessage, hosts: ReadonlySet<string> | "any"): Refusal | undefined {
  const host = (request.headers.host ?? "").toLowerCase();
  if (hosts !== "any" && !hosts.has(host)) {
    return { status: 403, message: `The dashboard does not answer for Host '${host}': use ${[...hosts][0] ?? "127.0.0.1"}.\n` };
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) {
    return { status: 403, message: "The dashboard does not answer requests from other sites (Origin mismatch).\n" };
  }
  if (request.method === "POST") {
    const type = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    if (type !== "application/json") return { status: 415, message: "A POST must be Content-Type: application/json.\n" };
  }
  return undefined;
}
