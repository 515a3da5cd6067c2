// session.ui(): one HTTP server for the live dashboard (`/`, pushed over Server-Sent Events), `/metrics`, and the JSON endpoints.
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { z } from "zod";
import { ConfigError } from "../core/errors.ts";
import { DashboardState, type DashboardAlert, type DashboardUpdate, type QueryView } from "./dashboard-state.ts";
import type { QueryDirectory, QueryMetrics } from "./metrics.ts";
import { allowedHosts, refuseRequest } from "./request-guard.ts";

export type { DashboardAlert } from "./dashboard-state.ts";

export interface DashboardOptions {
  /** 0 (the default) takes a free port. */
  readonly port?: number;
  /** The address to listen on (default 127.0.0.1; "0.0.0.0" to be reached from other machines). */
  readonly host?: string;
}

export interface Dashboard {
  readonly url: string;
  readonly port: number;
  /** Shows an alert on the page (the alert rules call this, once when it fires and once when it clears). */
  publishAlert(alert: DashboardAlert): void;
  close(): Promise<void>;
}

export interface DashboardSources {
  readonly title: string;
  readonly directory: QueryDirectory;
  readonly metrics: QueryMetrics;
  readonly log: (message: string) => void;
  /** The parameters of the session's queries (src/params): values in force and their history, for /api/params. */
  readonly parameters?: () => readonly ParameterView[];
}

/** One query's parameters as the dashboard shows them (SessionParams.views()). */
export interface ParameterView {
  readonly query: string;
  readonly status: { readonly connected: boolean; readonly message?: string; readonly revision: number; readonly values: Readonly<Record<string, unknown>> };
  readonly history: ReadonlyArray<{ readonly name: string; readonly value: unknown; readonly revision: number; readonly fromEpoch: number; readonly time: string; readonly origin: string }>;
}

const alertSchema = z.object({
  query: z.string().min(1),
  rule: z.string().min(1),
  state: z.enum(["firing", "cleared"]),
  message: z.string(),
  at: z.string().refine((value) => !Number.isNaN(Date.parse(value)), "an ISO time"),
});

const MAX_BODY = 64 * 1024;
/** A client that has not read this much of the stream is dropped; its EventSource reconnects and gets a fresh snapshot. */
const MAX_BACKLOG = 1024 * 1024;
const HEARTBEAT_MS = 15_000;

type StreamMessage = DashboardUpdate | { readonly type: "snapshot"; readonly queries: QueryView[]; readonly alerts: ReturnType<DashboardState["alertsView"]> };

interface Asset {
  readonly type: string;
  readonly body: string;
}

export async function startDashboard(sources: DashboardSources, options: DashboardOptions = {}): Promise<Dashboard> {
  const assets = await loadAssets(sources.title);
  const state = new DashboardState(sources.directory);
  const clients = new Set<ServerResponse>();
  let hosts: ReadonlySet<string> | "any" = new Set<string>();
  const server = createServer((request, response) => {
    const refusal = refuseRequest(request, hosts);
    if (refusal) {
      request.resume();
      return send(response, refusal.status, "text/plain; charset=utf-8", refusal.message);
    }
    route(request, response).catch((error: unknown) => {
      sources.log(`rill: the dashboard failed to answer ${request.method ?? "?"} ${request.url ?? "?"}: ${String(error)}`);
      if (!response.headersSent) send(response, 500, "text/plain; charset=utf-8", `Internal error: ${String(error)}\n`);
      else response.destroy();
    });
  });

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? "/", "http://dashboard").pathname;
    if (path === "/api/alerts" && request.method === "POST") return await postAlert(request, response, state);
    if (request.method !== "GET" && request.method !== "HEAD") return send(response, 405, "text/plain; charset=utf-8", "Only GET (and POST /api/alerts) are served.\n");
    const asset = assets.get(path);
    if (asset) return send(response, 200, asset.type, asset.body);
    switch (path) {
      case "/metrics": return send(response, 200, sources.metrics.contentType, await sources.metrics.text());
      case "/api/queries": return sendJson(response, { queries: state.views({ recent: true }) });
      case "/api/alerts": return sendJson(response, state.alertsView());
      case "/api/params": return sendJson(response, { parameters: sources.parameters?.() ?? [] });
      case "/events": return openStream(response, state, clients);
      default: return send(response, 404, "text/plain; charset=utf-8", `Nothing at ${path}. Try / (dashboard), /metrics, /api/queries, /api/alerts, /api/params or /events.\n`);
    }
  }

  const heartbeat = setInterval(() => {
    for (const client of clients) client.write(": heartbeat\n\n");
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const port = await listen(server, options.port ?? 0, options.host ?? "127.0.0.1").catch((error: unknown) => {
    clearInterval(heartbeat);
    state.close();
    throw error;
  });
  hosts = allowedHosts(options.host ?? "127.0.0.1", port);
  const host = options.host === undefined || options.host === "0.0.0.0" || options.host === "::" ? "127.0.0.1" : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    publishAlert: (alert) => state.publishAlert(alert),
    close: () => (closing ??= (async () => {
      clearInterval(heartbeat);
      state.close();
      for (const client of clients) client.end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    })()),
  };
}

function openStream(response: ServerResponse, state: DashboardState, clients: Set<ServerResponse>): void {
  response.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" });
  response.write("retry: 2000\n\n");
  clients.add(response);
  const push = (message: StreamMessage): void => {
    if (response.writableLength > MAX_BACKLOG) {
      response.end();
      return;
    }
    response.write(`data: ${JSON.stringify(message)}\n\n`);
  };
  push({ type: "snapshot", queries: state.views(), alerts: state.alertsView() });
  const unsubscribe = state.subscribe(push);
  response.on("close", () => {
    unsubscribe();
    clients.delete(response);
  });
}

async function postAlert(request: IncomingMessage, response: ServerResponse, state: DashboardState): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return send(response, 413, "text/plain; charset=utf-8", `An alert is at most ${MAX_BODY} bytes.\n`);
    chunks.push(chunk);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (error) {
    return send(response, 400, "text/plain; charset=utf-8", `The body is not JSON (${String(error)}). Send {"query","rule","state":"firing"|"cleared","message","at"}.\n`);
  }
  const parsed = alertSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; ");
    return send(response, 400, "text/plain; charset=utf-8", `Not an alert: ${problems}. Send {"query","rule","state":"firing"|"cleared","message","at"}.\n`);
  }
  state.publishAlert(parsed.data);
  send(response, 202, "text/plain; charset=utf-8", "accepted\n");
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { "content-type": type, "cache-control": "no-store", "content-length": Buffer.byteLength(body) });
  response.end(response.req.method === "HEAD" ? undefined : body);
}

function sendJson(response: ServerResponse, value: unknown): void {
  send(response, 200, "application/json; charset=utf-8", JSON.stringify(value));
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const fail = (error: Error): void => reject(new ConfigError(`Cannot serve the dashboard on ${host}:${port}: ${error.message}. Pick another port, or 0 for a free one.`, { cause: error }));
    server.once("error", fail);
    server.listen(port, host, () => {
      server.off("error", fail);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** The page, its script and style, and uPlot from node_modules: read once, served from memory. */
async function loadAssets(title: string): Promise<Map<string, Asset>> {
  const require = createRequire(import.meta.url);
  const local = (name: string): URL => new URL(`./ui/${name}`, import.meta.url);
  const [page, script, style, chart, chartStyle] = await Promise.all([
    readFile(local("index.html"), "utf8"),
    readFile(local("dashboard.js"), "utf8"),
    readFile(local("dashboard.css"), "utf8"),
    readFile(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
    readFile(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
  ]);
  return new Map<string, Asset>([
    ["/", { type: "text/html; charset=utf-8", body: page.replaceAll("{{title}}", escapeHtml(title)) }],
    ["/ui/dashboard.js", { type: "text/javascript; charset=utf-8", body: script }],
    ["/ui/dashboard.css", { type: "text/css; charset=utf-8", body: style }],
    ["/vendor/uPlot.iife.min.js", { type: "text/javascript; charset=utf-8", body: chart }],
    ["/vendor/uPlot.min.css", { type: "text/css; charset=utf-8", body: chartStyle }],
  ]);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
