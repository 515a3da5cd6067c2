// Credentials written into a NATS server URL (nats://user:pass@host:port or nats://token@host:port): taken out of the
// URL for the client, which takes them as options, and never printed: what is shown is `user:***@host:port`.

export interface UrlCredentials {
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
}

const WITH_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)?([^@/]*)@(.*)$/i;

/** The URL without its credentials, and the credentials it held (none when it held none). */
export function splitServerUrl(url: string): { server: string; credentials: UrlCredentials } {
  const match = WITH_CREDENTIALS.exec(url);
  if (!match) return { server: url, credentials: {} };
  const [, scheme = "", userInfo = "", rest = ""] = match;
  const server = `${scheme}${rest}`;
  const colon = userInfo.indexOf(":");
  if (colon === -1) return { server, credentials: { token: decodeURIComponent(userInfo) } };
  return { server, credentials: { user: decodeURIComponent(userInfo.slice(0, colon)), pass: decodeURIComponent(userInfo.slice(colon + 1)) } };
}

/** The URL as it may be shown in errors, logs and explain(): `nats://user:***@host:port`, `nats://***@host:port`. */
export function redactServerUrl(url: string): string {
  const match = WITH_CREDENTIALS.exec(url);
  if (!match) return url;
  const [, scheme = "", userInfo = "", rest = ""] = match;
  const colon = userInfo.indexOf(":");
  return `${scheme}${colon === -1 ? "***" : `${userInfo.slice(0, colon)}:***`}@${rest}`;
}

/**
 * The servers of a cluster, one URL each: `servers` may be a comma-separated list (`rill.nats.url`, `--nats-url`), an
 * array, or an array of such lists. White space around each URL is dropped, empty entries are skipped.
 */
export function serverList(servers: string | readonly string[]): string[] {
  const entries = typeof servers === "string" ? [servers] : servers;
  return entries.flatMap((entry) => entry.split(",")).map((url) => url.trim()).filter((url) => url !== "");
}
