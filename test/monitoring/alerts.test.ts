// Alert rules fire once per incident and clear once: on real queries (failure, watermark lag, rollback) and on driven reports.
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { connect } from "@nats-io/transport-node";
import {
  AlertEngine, ConfigError, MemoryStream, activitySchema, callbackNotifier, consoleNotifier, generateActivity, natsNotifier, webhookNotifier, z,
  type Alert, type AlertEngineOptions, type AlertRule, type QueryProgressEvent, type QueryTerminatedEvent, type Session, type StreamingQuery, type StreamingQueryProgress,
} from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { inProcessSession, natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ONLY_REQUESTED_EPOCHS = { continuous: "1 hour" } as const;

/** An engine that lets a test await the moment it has handled a given epoch or termination of a query run. */
class ObservedEngine extends AlertEngine {
  readonly received: Alert[] = [];
  private readonly handled = new Set<string>();
  private readonly waiters = new Map<string, () => void>();

  constructor(options: AlertEngineOptions) {
    super(options);
    this.addNotifier(callbackNotifier((alert) => void this.received.push(alert)));
  }

  override async onQueryProgress(event: QueryProgressEvent): Promise<void> {
    await super.onQueryProgress(event);
    this.mark(`${event.progress.runId}:${event.progress.batchId}`);
  }

  override async onQueryTerminated(event: QueryTerminatedEvent): Promise<void> {
    await super.onQueryTerminated(event);
    this.mark(`${event.runId}:end`);
  }

  async seen(query: StreamingQuery, epoch: number | "end" = query.lastProgress?.batchId ?? -1): Promise<void> {
    const key = `${query.runId}:${epoch}`;
    if (!this.handled.has(key)) await new Promise<void>((resolve) => this.waiters.set(key, resolve));
  }

  private mark(key: string): void {
    this.handled.add(key);
    this.waiters.get(key)?.();
  }
}

/** A progress report of query `orders` with the given figures; epoch n ends n seconds after 2026-01-01T00:00:00Z. */
function report(batchId: number, figures: Partial<StreamingQueryProgress> = {}, name = "orders"): StreamingQueryProgress {
  return {
    id: `${name}-id`, runId: `${name}-run`, name, timestamp: new Date(Date.parse("2026-01-01T00:00:00Z") + batchId * 1000).toISOString(), batchId,
    numInputRows: 100, inputRowsPerSecond: 1000, processedRowsPerSecond: 1000, durationMs: { epoch: 5, sincePreviousEpoch: 1000 },
    latencyMs: { count: 100, p50: 2, p99: 5, p999: 6, max: 7 }, numDeadLetters: 0, numRecoveries: 0, numRowsDroppedByWatermark: 0, eventTime: {},
    stateOperators: [], sources: [], sink: { description: "MemorySink[orders]", numOutputRows: 100 }, stages: [], ...figures,
  };
}

function driven(rules: AlertRule[]) {
  const alerts: Alert[] = [];
  const engine = new AlertEngine({ rules, notifiers: [callbackNotifier((alert) => void alerts.push(alert))] });
  engine.onQueryStarted({ id: "orders-id", runId: "orders-run", name: "orders", timestamp: "2026-01-01T00:00:00.000Z" });
  const epoch = async (batchId: number, figures: Partial<StreamingQueryProgress> = {}, name?: string) => await engine.onQueryProgress({ progress: report(batchId, figures, name) });
  return { engine, alerts, epoch };
}

const summary = (alerts: readonly Alert[]) => alerts.map((alert) => `${alert.rule} ${alert.state} ${String(alert.batchId)}`);

describe("alert rules are checked when added", () => {
  const rejects = (rule: unknown, pattern: RegExp) => assert.throws(() => new AlertEngine().add(rule as AlertRule), (error: unknown) => error instanceof ConfigError && pattern.test(error.message));

  it("throws a ConfigError naming the bad field", () => {
    rejects({ kind: "latency", max: "soon" }, /field 'max': expected a duration such as "30 seconds".*got 'soon'/);
    rejects({ kind: "latency" }, /field 'max': required/);
    rejects({ kind: "processingBelowInput", forEpochs: 0 }, /field 'forEpochs'/);
    rejects({ kind: "processingBelowInput", ratio: 2 }, /field 'ratio'/);
    rejects({ kind: "watermarkLag", maxLag: "1 minute" }, /'maxLag' is not a field of a watermarkLag rule; did you mean 'max'\?/);
    rejects({ kind: "latency", max: 100, percentile: "p95" }, /field 'percentile'/);
    rejects({ kind: "lagging" }, /field 'kind'.*queryFailed/);
    rejects({ kind: "queryFailed", name: "has space" }, /Alert rule 'has space' is not valid: field 'name'/);
  });

  it("fills in defaults and refuses a second rule of the same name", () => {
    const engine = new AlertEngine();
    const rate = engine.add({ kind: "processingBelowInput" });
    assert.deepEqual({ ...rate }, { kind: "processingBelowInput", name: "processingBelowInput", severity: "warning", forEpochs: 3, ratio: 0.9, clearAfterEpochs: 1 });
    const latency = engine.add({ kind: "latency", query: "orders", max: "250 ms" });
    assert.equal(latency.name, "latency:orders");
    assert.equal(latency.kind === "latency" && latency.max, 250);
    assert.equal(engine.add({ kind: "queryFailed" }).severity, "critical");
    assert.throws(() => engine.add({ kind: "latency", query: "orders", max: 10 }), /'latency:orders' already exists/);
    assert.equal(engine.remove("latency:orders"), true);
    assert.deepEqual(engine.rules.map((rule) => rule.name), ["processingBelowInput", "queryFailed"]);
  });
});

describe("alert rules driven by progress reports", () => {
  it("processingBelowInput fires after N epochs in a row below the input rate, once, and clears after M epochs above it", async () => {
    const { alerts, epoch } = driven([{ kind: "processingBelowInput", forEpochs: 3, clearAfterEpochs: 2 }]);
    const processed = [500, 500, 950, 500, 500, 500, 400, 950, 500, 950, 950, 950];
    for (const [batchId, rate] of processed.entries()) await epoch(batchId, { processedRowsPerSecond: rate });
    assert.deepEqual(summary(alerts), ["processingBelowInput firing 5", "processingBelowInput resolved 10"]);
    const [firing, resolved] = alerts;
    assert.equal(firing?.value, 500);
    assert.equal(firing?.threshold, 900);
    assert.match(firing?.message ?? "", /'orders' processed 500 rows\/s below an input rate of 1000 rows\/s/);
    assert.equal(firing?.since, report(5).timestamp);
    assert.equal(resolved?.since, firing?.since);
    assert.equal(resolved?.incident, firing?.incident);
    assert.equal(resolved?.timestamp, report(10).timestamp);
    assert.deepEqual(firing?.query, { id: "orders-id", runId: "orders-run", name: "orders" });
  });

  it("latency fires when the epoch's p99 passes the bound, ignores epochs with no rows, and watches only its query", async () => {
    const { engine, alerts, epoch } = driven([{ kind: "latency", query: "orders", max: "100 ms" }, { kind: "latency", query: "payments", max: "1 ms" }]);
    await epoch(0, { latencyMs: { count: 10, p50: 5, p99: 20, p999: 20, max: 20 } });
    await epoch(1, { latencyMs: { count: 10, p50: 50, p99: 500, p999: 600, max: 700 } });
    assert.deepEqual(engine.active.map((alert) => alert.rule), ["latency:orders"]);
    await epoch(2, { latencyMs: { count: 0, p50: 0, p99: 0, p999: 0, max: 0 } });
    await epoch(3, { latencyMs: { count: 10, p50: 50, p99: 300, p999: 300, max: 300 } });
    await epoch(4, { latencyMs: { count: 10, p50: 5, p99: 50, p999: 60, max: 70 } });
    assert.deepEqual(summary(alerts), ["latency:orders firing 1", "latency:orders resolved 4"]);
    assert.equal(alerts[0]?.value, 500);
    assert.equal(alerts[0]?.threshold, 100);
    assert.equal(alerts[0]?.severity, "warning");
    assert.deepEqual(engine.active, []);
  });

  it("watermarkLag measures the report's time minus the watermark, skips epochs without one, and clears when the query stops", async () => {
    const { engine, alerts, epoch } = driven([{ kind: "watermarkLag", max: "1 minute" }]);
    await epoch(0);
    await epoch(1, { eventTime: { watermark: "2026-01-01T00:00:00.000Z" } });
    await epoch(200, { eventTime: { watermark: "2026-01-01T00:00:00.000Z" } });
    await epoch(201, { eventTime: { watermark: "2026-01-01T00:00:10.000Z" } });
    await engine.onQueryTerminated({ id: "orders-id", runId: "orders-run", name: "orders", exception: null, errorClassOnException: null });
    assert.deepEqual(summary(alerts), ["watermarkLag firing 200", "watermarkLag resolved null"]);
    assert.equal(alerts[0]?.value, 200_000);
    assert.match(alerts[1]?.message ?? "", /'orders' stopped; the watermarkLag condition is no longer measured/);
    assert.match(alerts[1]?.timestamp ?? "", ISO);
  });

  it("a notifier that fails is reported and counted, and the others still receive the alert", async () => {
    const log: string[] = [];
    const lines: string[] = [];
    const received: Alert[] = [];
    const engine = new AlertEngine({
      rules: [{ kind: "latency", max: 10 }], log: (message) => void log.push(message),
      notifiers: [callbackNotifier(() => { throw new Error("pager down"); }, "pager"), consoleNotifier((line) => void lines.push(line)), callbackNotifier((alert) => void received.push(alert))],
    });
    await engine.onQueryProgress({ progress: report(0, { latencyMs: { count: 1, p50: 50, p99: 50, p999: 50, max: 50 } }) });
    assert.equal(received.length, 1);
    assert.equal(engine.failedNotifications, 1);
    assert.match(log[0] ?? "", /notifier 'pager' could not deliver the firing alert 'latency' of query orders: Error: pager down/);
    assert.deepEqual(lines, [`rill alert FIRING [warning] latency on 'orders' at ${report(0).timestamp}: p99 latency of query 'orders' is 50 ms over 1 rows in epoch 0 (bound 10 ms).`]);
  });

  it("a webhook receives the firing and the resolved alert as JSON, and an answer of 500 counts as a failed delivery", async () => {
    const requests: Array<{ headers: IncomingHttpHeaders; body: Alert; path: string | undefined }> = [];
    let status = 200;
    const http = createServer((request, response) => {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => (body += chunk));
      request.on("end", () => {
        requests.push({ headers: request.headers, body: JSON.parse(body) as Alert, path: request.url });
        response.writeHead(status).end(status === 200 ? "ok" : "broken");
      });
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/hooks/rill`;
      const log: string[] = [];
      const engine = new AlertEngine({ rules: [{ kind: "watermarkLag", max: "30 seconds" }], notifiers: [webhookNotifier(url, { headers: { authorization: "Bearer t0ken" } })], log: (message) => void log.push(message) });
      await engine.onQueryProgress({ progress: report(100, { eventTime: { watermark: "2026-01-01T00:00:00.000Z" } }) });
      await engine.onQueryProgress({ progress: report(101, { eventTime: { watermark: "2026-01-01T00:01:40.000Z" } }) });
      assert.deepEqual(requests.map((request) => `${request.body.state} ${String(request.body.batchId)}`), ["firing 100", "resolved 101"]);
      assert.equal(requests[0]?.path, "/hooks/rill");
      assert.equal(requests[0]?.headers["content-type"], "application/json");
      assert.equal(requests[0]?.headers.authorization, "Bearer t0ken");
      assert.equal(requests[0]?.body.value, 100_000);
      assert.match(requests[1]?.body.timestamp ?? "", ISO);
      status = 500;
      await engine.onQueryProgress({ progress: report(300, { eventTime: { watermark: "2026-01-01T00:00:00.000Z" } }) });
      assert.equal(requests.length, 3);
      assert.equal(engine.failedNotifications, 1);
      assert.match(log[0] ?? "", /webhook:http:\/\/127\.0\.0\.1:\d+\/hooks\/rill.*answered 500 Internal Server Error: broken/);
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
    assert.throws(() => webhookNotifier("ftp://example.com/hook"), /must use http or https/);
  });
});

describe("alert rules on real queries", () => {
  let session: Session;
  let folder: string;
  before(async () => {
    session = inProcessSession();
    folder = await mkdtemp(join(tmpdir(), "rill-alerts-"));
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  it("queryFailed fires once when a map throws, and clears once a new run of the query completes an epoch", async () => {
    const engine = new ObservedEngine({ queries: session.streams, rules: [{ kind: "queryFailed", query: "fragile" }, { kind: "queryFailed", name: "others", query: "other" }] });
    session.streams.addListener(engine);
    let poisoned = true;
    const input = new MemoryStream(session, activitySchema);
    const start = () => input.toDF().map((row) => {
      if (poisoned && (row.x as number) > 0) throw new Error("poisoned row");
      return row;
    }).writeStream.queryName("fragile").format("memory").trigger(ONLY_REQUESTED_EPOCHS).start();
    const first = await start();
    input.addData(generateActivity({ seed: 31, count: 20 }));
    await assert.rejects(first.awaitTermination(30_000), /poisoned row/);
    await engine.seen(first, "end");
    assert.deepEqual(summary(engine.received), ["queryFailed:fragile firing null"]);
    const firing = engine.received[0];
    assert.equal(firing?.severity, "critical");
    assert.match(firing?.message ?? "", /Query 'fragile' failed: .*poisoned row.* \(USER_CODE\)$/);
    assert.deepEqual(firing?.query, { id: first.id, runId: first.runId, name: "fragile" });
    assert.match(firing?.since ?? "", ISO);
    assert.deepEqual(engine.active, [firing]);

    poisoned = false;
    const second = await start();
    await second.processAllAvailable();
    await engine.seen(second);
    await second.processAllAvailable();
    await engine.seen(second);
    await second.stop();
    await engine.seen(second, "end");
    session.streams.removeListener(engine);
    assert.deepEqual(summary(engine.received), ["queryFailed:fragile firing null", "queryFailed:fragile resolved 0"]);
    assert.equal(engine.received[1]?.incident, firing?.incident);
    assert.equal(engine.received[1]?.query.id, second.id);
    assert.deepEqual(engine.active, []);
  });

  it("watermarkLag fires while the watermark is an hour behind and clears when fresh event times move it", async () => {
    const engine = new ObservedEngine({ queries: session.streams, rules: [{ kind: "watermarkLag", query: "lagging", max: "1 minute" }] });
    session.streams.addListener(engine);
    const events = z.object({ time: z.date(), id: z.number().int() });
    const input = new MemoryStream(session, events);
    const query = await input.toDF().withWatermark("time", "10 seconds").writeStream.queryName("lagging").format("memory").trigger(ONLY_REQUESTED_EPOCHS).start();
    input.addData([{ time: new Date(Date.now() - 3_600_000), id: 1 }]);
    await query.processAllAvailable();
    await query.processAllAvailable();
    await engine.seen(query);
    // The watermark of an epoch's rows reaches the sink before that epoch's barrier: the alert fires in epoch 0.
    assert.deepEqual(summary(engine.received), ["watermarkLag:lagging firing 0"]);
    assert.ok((engine.received[0]?.value ?? 0) >= 3_610_000, `lag ${String(engine.received[0]?.value)} ms: an hour plus the 10 second delay`);
    input.addData([{ time: new Date(), id: 2 }]);
    await query.processAllAvailable();
    await query.processAllAvailable();
    await engine.seen(query);
    await query.stop();
    await engine.seen(query, "end");
    session.streams.removeListener(engine);
    assert.deepEqual(summary(engine.received), ["watermarkLag:lagging firing 0", "watermarkLag:lagging resolved 2"]);
    const lag = engine.received[1]?.value ?? Number.NaN;
    assert.ok(lag >= 10_000 && lag < 60_000, `lag after fresh rows ${lag} ms`);
  });

  it("checkpointFailing fires once when the query rolls back to its last committed epoch, and clears after a clean epoch", async () => {
    const engine = new ObservedEngine({ queries: session.streams, rules: [{ kind: "checkpointFailing", query: "rolling" }, { kind: "queryFailed" }] });
    session.streams.addListener(engine);
    session.conf.set("rill.epoch.timeout", "1 second");
    let calls = 0;
    const input = new MemoryStream(session, activitySchema);
    // The first row never completes, so epoch 0 times out; the rollback replays it into a sink that now answers.
    const query = await input.toDF().writeStream.queryName("rolling").option("checkpointLocation", join(folder, "rolling"))
      .foreach(() => (++calls === 1 ? new Promise<void>(() => undefined) : undefined)).trigger(ONLY_REQUESTED_EPOCHS).start();
    session.conf.set("rill.epoch.timeout", "2 minutes");
    input.addData(generateActivity({ seed: 32, count: 5 }));
    await query.processAllAvailable();
    assert.equal(query.numRecoveries, 1);
    await engine.seen(query);
    // The resumed query commits an epoch at once, so the alert may already have cleared at the next clean epoch.
    assert.match(summary(engine.received)[0] ?? "", /^checkpointFailing:rolling firing \d+$/);
    assert.equal(engine.received[0]?.value, 1);
    assert.match(engine.received[0]?.message ?? "", /'rolling' rolled back to its last committed epoch \(1 recoveries so far, 1 new\)/);
    await query.processAllAvailable();
    await engine.seen(query);
    await query.stop();
    await engine.seen(query, "end");
    session.streams.removeListener(engine);
    assert.deepEqual(summary(engine.received).map((line) => line.replace(/ \d+$/, "")), ["checkpointFailing:rolling firing", "checkpointFailing:rolling resolved"]);
  });
});

describe("the NATS notifier", () => {
  let session: Session;
  before(() => {
    session = natsSession(server().options);
  });
  after(async () => {
    await session.stop();
  });

  it("publishes a failed query's alert as JSON to its subject", async () => {
    const watcher = await connect(server().options);
    let arrived = (_alert: Alert): void => undefined;
    const published = new Promise<Alert>((resolve) => (arrived = resolve));
    const subscription = watcher.subscribe("ops.alerts", { callback: (_error, message) => arrived(message.json<Alert>()) });
    await watcher.flush();
    const engine = new ObservedEngine({ queries: session.streams, rules: [{ kind: "queryFailed" }], notifiers: [natsNotifier(session, { subject: "ops.alerts" })] });
    session.streams.addListener(engine);
    const input = new MemoryStream(session, activitySchema);
    const query = await input.toDF().map(() => {
      throw new Error("always fails");
    }).writeStream.queryName("doomed").format("memory").trigger(ONLY_REQUESTED_EPOCHS).start();
    input.addData(generateActivity({ seed: 33, count: 3 }));
    await assert.rejects(query.awaitTermination(30_000), /always fails/);
    const alert = await published;
    await engine.seen(query, "end");
    session.streams.removeListener(engine);
    subscription.unsubscribe();
    await watcher.close();
    assert.deepEqual(alert, engine.received[0]);
    assert.equal(alert.state, "firing");
    assert.equal(alert.query.name, "doomed");
    assert.match(alert.message, /always fails/);
    assert.throws(() => natsNotifier(session, { subject: "ops.*" }), /'subject' = 'ops\.\*'/);
  });
});
