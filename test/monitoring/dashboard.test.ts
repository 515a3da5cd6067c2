// The live dashboard in a real headless chromium: live numbers, drawn charts, the plan, alerts; and its JSON endpoints.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { copyFile, mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { MemoryStream, activitySchema, col, generateActivity, window, type Session, type StreamingQuery, type StreamingQueryListener } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

const CHROMIUM = process.env.RILL_CHROMIUM ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const SCREENSHOT_FOR_README = new URL("../../bench/results/dashboard.png", import.meta.url);
const ROUNDS = 10;
const ROWS_PER_ROUND = 100;
const WAIT = { timeout: 30_000 };

/** In CI (.ci/run installs chromium) a missing browser is a failure; elsewhere the browser test is skipped with the fix. */
function browserSkip(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const message = `chromium not found at ${CHROMIUM}: install it with 'apt-get install -y chromium' (or set RILL_CHROMIUM)`;
  if (process.env.CI) throw new Error(`${message}. .ci/run installs it, so CI must have it.`);
  return message;
}

describe("the live dashboard", () => {
  let session: Session;
  let ui: Awaited<ReturnType<Session["ui"]>>;
  let input: MemoryStream<typeof activitySchema>;
  let query: StreamingQuery;
  const skip = browserSkip();

  before(async () => {
    session = inProcessSession({ "rill.shuffle.partitions": 2 });
    ui = await session.ui({ port: 0 });
    input = new MemoryStream(session, activitySchema);
    query = await input.toDF()
      .selectExpr("*", "cast(cast(Creation_Time as double)/1000000000 as timestamp) as event_time")
      .withWatermark("event_time", "10 seconds")
      .groupBy(window(col("event_time"), "10 seconds"), col("gt")).count()
      .writeStream.queryName("live_counts").format("memory").outputMode("update").trigger({ continuous: "250 ms" }).start();
  });
  after(async () => {
    await session.stop();
  });

  /** Resolves at the query's next epoch, ended by its own trigger. */
  function nextEpoch(): Promise<void> {
    return new Promise((resolve) => {
      const listener: StreamingQueryListener = {
        onQueryProgress: ({ progress }) => {
          if (progress.id !== query.id) return;
          session.streams.removeListener(listener);
          resolve();
        },
      };
      session.streams.addListener(listener);
    });
  }

  /** Feeds the query a round per epoch, so the page sees the numbers change live and the charts get a point per epoch. */
  async function feed(): Promise<void> {
    const start = Date.now() - 60_000;
    for (let round = 0; round < ROUNDS; round++) {
      input.addData(generateActivity({ seed: round + 1, count: ROWS_PER_ROUND, startMs: start + round * 5_000, rowsPerSecond: 40 }));
      await nextEpoch();
    }
    await query.processAllAvailable();
    input.addData([{ bogus: 1 } as never]);
    await query.processAllAvailable();
    await query.processAllAvailable();
  }

  it("renders the running query with live numbers, drawn charts, the plan and alerts in chromium", { skip }, async () => {
    const folder = await mkdtemp(join(tmpdir(), "rill-dashboard-"));
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      await page.goto(ui.url);
      await page.waitForSelector("#connection[data-state='live']", WAIT);
      await feed();
      const card = `[data-query-name="live_counts"]`;
      const total = ROUNDS * ROWS_PER_ROUND;
      await page.waitForSelector(`${card} [data-field="input-total"][data-value="${total}"]`, WAIT);
      await page.waitForSelector(`${card} [data-field="dead-letters"][data-value="1"]`, WAIT);
      assert.equal(await page.textContent(`${card} [data-field="input-total"]`), total.toLocaleString("en-US"));
      assert.equal(await page.getAttribute(`${card} [data-field="state"]`, "data-state"), "active");
      assert.ok(Number(await page.getAttribute(`${card} [data-chart="rates"]`, "data-points")) >= ROUNDS, "a chart point per epoch");
      // uPlot draws on an animation frame after the data arrives: wait for the pixels, then check them. The processed
      // rate (green) is drawn over the input rate (blue) and hides it where the two are equal, so either colour counts.
      await waitForDrawn(page, `${card} [data-chart="rates"] canvas`, [37, 99, 235], [22, 163, 74]);
      await waitForDrawn(page, `${card} [data-chart="latency"] canvas`, [220, 38, 38]);
      const rateLines = (await coloredPixels(page, `${card} [data-chart="rates"] canvas`, [37, 99, 235])) + (await coloredPixels(page, `${card} [data-chart="rates"] canvas`, [22, 163, 74]));
      assert.ok(rateLines > 50, "the rate lines are drawn");
      assert.ok(await coloredPixels(page, `${card} [data-chart="latency"] canvas`, [220, 38, 38]) > 50, "the latency lines are drawn (max on top)");
      await page.waitForSelector(`${card} [data-field="watermark"]:not([data-value=""])`, WAIT);
      assert.match(await page.textContent(`${card} [data-field="watermark-lag"]`) ?? "", /\d+(s|m)/);
      assert.equal(await page.locator(`${card} [data-field="plan"] rect[data-actor]`).count(), 4, "source, two aggregate partitions, sink");
      assert.match(await page.textContent(`${card} [data-field="plan"] svg`) ?? "", /rill\.live_counts\.[0-9a-f]{8}\.s1-aggregate\.p1/);
      assert.ok(await page.locator(`${card} table.epochs tr`).count() > 2, "checkpoint history lists the epochs");

      ui.publishAlert({ query: "live_counts", rule: "p99-latency", state: "firing", message: "p99 latency above 1 ms for 3 epochs", at: new Date().toISOString() });
      await page.waitForSelector(`#alerts-firing li[data-rule="p99-latency"]`, WAIT);
      await page.waitForSelector(`${card} [data-field="alerts"]:not([hidden])`, WAIT);
      await page.screenshot({ path: join(folder, "dashboard.png"), fullPage: true });
      assert.ok((await stat(join(folder, "dashboard.png"))).size > 20_000, "the screenshot has content");
      await mkdir(new URL(".", SCREENSHOT_FOR_README), { recursive: true });
      await copyFile(join(folder, "dashboard.png"), SCREENSHOT_FOR_README);
      ui.publishAlert({ query: "live_counts", rule: "p99-latency", state: "cleared", message: "p99 latency back under 1 ms", at: new Date().toISOString() });
      await page.waitForSelector(`#alerts-firing li[data-rule="p99-latency"]`, { ...WAIT, state: "detached" });
      assert.match(await page.textContent("#alerts-history") ?? "", /cleared p99-latency on live_counts/);
      assert.deepEqual(pageErrors, []);
    } finally {
      await browser?.close();
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("refuses another Host, another site's Origin and a POST that is not JSON with 403 / 415, over real HTTP", async () => {
    const port = new URL(ui.url).port;
    const alert = JSON.stringify({ query: "q", rule: "cross-site", state: "firing", message: "m", at: new Date().toISOString() });
    const ask = (method: string, path: string, headers: Record<string, string>, body?: string) => new Promise<number>((resolve, reject) => {
      const call = httpRequest({ host: "127.0.0.1", port, method, path, headers }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      call.on("error", reject);
      call.end(body);
    });
    assert.equal(await ask("POST", "/api/alerts", { host: `127.0.0.1:${port}`, origin: "http://evil.example", "content-type": "text/plain" }, alert), 403);
    assert.equal(await ask("POST", "/api/alerts", { host: `127.0.0.1:${port}`, "content-type": "text/plain" }, alert), 415);
    assert.equal(await ask("POST", "/api/alerts", { host: `127.0.0.1:${port}`, origin: "http://evil.example", "content-type": "application/json" }, alert), 403);
    assert.equal(await ask("GET", "/api/queries", { host: `evil.example:${port}` }), 403);
    assert.equal(await ask("GET", "/api/queries", { host: `localhost:${port}` }), 200);
    assert.equal(await ask("GET", "/api/queries", { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` }), 200);
    const alerts = (await (await fetch(`${ui.url}/api/alerts`)).json()) as { firing: Array<{ rule: string }> };
    assert.ok(!alerts.firing.some((entry) => entry.rule === "cross-site"), "no refused alert was shown");
  });

  it("serves /api/queries with recent progress and the plan, and takes alerts over POST /api/alerts", async () => {
    if (skip) await feed();
    await session.metrics.waitForEpoch(query.id, query.lastProgress?.batchId ?? 0);
    const response = await fetch(`${ui.url}/api/queries`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { queries: Array<{ name: string; totals: { inputRows: number }; recentProgress: unknown[]; plan: { stages: Array<{ actors: Array<{ subject: string }> }> } }> };
    const view = body.queries.find((candidate) => candidate.name === "live_counts");
    assert.ok(view);
    assert.equal(view.totals.inputRows, ROUNDS * ROWS_PER_ROUND);
    assert.ok(view.recentProgress.length > 0);
    assert.match(view.plan.stages[1]?.actors[1]?.subject ?? "", /\.s1-aggregate\.p1$/);

    const post = (payload: string) => fetch(`${ui.url}/api/alerts`, { method: "POST", body: payload, headers: { "content-type": "application/json" } });
    const bad = await post(JSON.stringify({ query: "live_counts", rule: "lag", state: "burning" }));
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /state/);
    assert.equal((await post("{not json")).status, 400);
    const good = await post(JSON.stringify({ query: "live_counts", rule: "watermark-lag", state: "firing", message: "lag above 5 minutes", at: new Date().toISOString() }));
    assert.equal(good.status, 202);
    const alerts = (await (await fetch(`${ui.url}/api/alerts`)).json()) as { firing: Array<{ rule: string }> };
    assert.deepEqual(alerts.firing.map((alert) => alert.rule), ["watermark-lag"]);
    assert.equal((await fetch(`${ui.url}/nowhere`)).status, 404);
    const metrics = await fetch(`${ui.url}/metrics`);
    assert.match(await metrics.text(), /rill_query_input_rows_total\{query="live_counts"/);
  });
});

/** The little of a canvas the pixel count needs (the project's TypeScript has no DOM types). */
interface CanvasLike {
  readonly width: number;
  readonly height: number;
  getContext(kind: "2d"): { getImageData(x: number, y: number, width: number, height: number): { data: ArrayLike<number> } } | null;
}

/** Pixels of the canvas within a small distance of a colour: the chart library drew that series. */
/** Waits until the canvas shows at least 50 pixels of the colours (the chart has drawn its lines). */
async function waitForDrawn(page: Page, selector: string, ...colors: ReadonlyArray<readonly [number, number, number]>): Promise<void> {
  await page.waitForFunction(({ selector, colors }) => {
    const canvas = (globalThis as unknown as { document: { querySelector(query: string): unknown } }).document.querySelector(selector) as CanvasLike | null;
    const data = canvas?.getContext("2d")?.getImageData(0, 0, canvas.width, canvas.height).data ?? [];
    let count = 0;
    for (let index = 0; index < data.length; index += 4) {
      const near = colors.some((color) => Math.abs((data[index] ?? 0) - color[0]) + Math.abs((data[index + 1] ?? 0) - color[1]) + Math.abs((data[index + 2] ?? 0) - color[2]) < 40);
      if (near && (data[index + 3] ?? 0) > 200) count++;
    }
    return count > 50;
  }, { selector, colors }, WAIT);
}

async function coloredPixels(page: Page, selector: string, [red, green, blue]: readonly [number, number, number]): Promise<number> {
  return await page.$eval(selector, (canvas, color) => {
    const target = canvas as unknown as CanvasLike;
    const data = target.getContext("2d")?.getImageData(0, 0, target.width, target.height).data ?? [];
    let count = 0;
    for (let index = 0; index < data.length; index += 4) {
      const near = Math.abs((data[index] ?? 0) - color[0]) + Math.abs((data[index + 1] ?? 0) - color[1]) + Math.abs((data[index + 2] ?? 0) - color[2]) < 40;
      if (near && (data[index + 3] ?? 0) > 200) count++;
    }
    return count;
  }, [red, green, blue] as const);
}
