// The chart: latency percentiles against throughput for each mode, drawn with Vega to SVG (and to PNG with resvg's WebAssembly build).
import { access, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createRequire } from "node:module";
import * as vega from "vega";
import { format } from "./analysis.ts";
import { EXTRA_MODES, MODES, type Mode } from "./modes.ts";
import type { BenchResults } from "./report.ts";
import type { PointResult } from "./point.ts";
import type { StepUpResult } from "./step-up.ts";

export interface ChartPoint {
  readonly mode: string;
  readonly percentile: "p50" | "p99";
  /** Input rows per second that reached the sink. */
  readonly rate: number;
  readonly latencyMs: number;
  readonly sustained: boolean;
}

/** The charts: scenario (a) as latency-vs-throughput.svg, the others with a step-up as latency-vs-throughput-<id>.svg. */
const CHARTS: ReadonlyArray<{ scenario: string; file: string; title: string }> = [
  { scenario: "a", file: "latency-vs-throughput", title: "Rill: latency (query figure) against throughput, scenario (a)" },
  { scenario: "b", file: "latency-vs-throughput-b", title: "Rill: latency (query figure) against throughput, scenario (b), windowed count with a watermark" },
];

/** Writes each chart's SVG (and PNG) into `folder`; returns a notice when something was left out. */
export async function drawChart(results: BenchResults, folder: string): Promise<string | undefined> {
  const notices: string[] = [];
  for (const chart of CHARTS) {
    const points = chartPoints(chart.scenario, results.latency, results.stepUp, [...MODES, ...EXTRA_MODES]);
    if (points.length === 0) {
      notices.push(`no points of scenario (${chart.scenario}): ${chart.file} is not drawn`);
      continue;
    }
    const { machine, settings } = results;
    const svg = await renderSvg(points, chart.title, [
      `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, nats-server ${machine.natsServer}; ${results.createdAt}`,
      `open-loop steps of ${settings.stepSeconds} s and the ${format(settings.latencyRate)} rows/s latency runs`,
      "filled = kept up, hollow = did not; circles p50, triangles p99",
    ]);
    await writeFile(join(folder, `${chart.file}.svg`), svg);
    const png = await renderPng(svg);
    if ("skipped" in png) notices.push(`${chart.file}.png not written: ${png.skipped}`);
    else await writeFile(join(folder, `${chart.file}.png`), png.png);
  }
  return notices.length > 0 ? notices.join("; ") : undefined;
}

/** The step-up steps of one scenario, and its fixed-rate latency runs as the low end (kept up when complete and right). */
export function chartPoints(scenario: string, latency: readonly PointResult[], results: readonly StepUpResult[], modes: readonly Mode[]): ChartPoint[] {
  const steps: Array<PointResult & { sustained: boolean }> = latency.filter((point) => point.scenario === scenario).map((point) => ({ ...point, sustained: point.complete && point.error === undefined }));
  for (const result of results) if (result.scenario === scenario) steps.push(...result.steps);
  const points: ChartPoint[] = [];
  for (const step of steps) {
    if (step.receivedRate <= 0 || step.latency.count === 0) continue;
    const label = modes.find((mode) => mode.id === step.mode)?.label ?? step.mode;
    for (const percentile of ["p50", "p99"] as const) {
      points.push({ mode: label, percentile, rate: step.receivedRate, latencyMs: Math.max(0.01, step.latency[percentile]), sustained: step.sustained });
    }
  }
  return points;
}

export async function renderSvg(points: readonly ChartPoint[], title: string, subtitle: readonly string[]): Promise<string> {
  const view = new vega.View(vega.parse(chartSpec(points, title, subtitle)), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT_CANDIDATES = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf"];

/** Renders the SVG to PNG with resvg's WebAssembly build (no native binary); undefined with the reason when no font is found. */
export async function renderPng(svg: string): Promise<{ png: Uint8Array } | { skipped: string }> {
  const font = await firstExisting(FONT_CANDIDATES);
  if (!font) return { skipped: `no font for text in the PNG (looked for ${FONT_CANDIDATES.join(", ")}); the SVG has the same chart` };
  const resvg = await import("@resvg/resvg-wasm");
  const wasmPath = createRequire(import.meta.url).resolve("@resvg/resvg-wasm/index_bg.wasm");
  await resvg.initWasm(await readFile(wasmPath)).catch((error: unknown) => {
    // initWasm refuses a second call in one process; the module is ready then.
    if (!String(error).includes("Already initialized")) throw error;
  });
  const renderer = new resvg.Resvg(svg, { font: { fontBuffers: [await readFile(font)], defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" }, fitTo: { mode: "zoom", value: 2 }, background: "white" });
  return { png: renderer.render().asPng() };
}

async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      await access(path);
      return path;
    } catch {
      continue; // not there: try the next place fonts live
    }
  }
  return undefined;
}

/** Lines join the steps a mode kept up; hollow marks are steps it did not (plotted at the rate the sink received). */
function chartSpec(points: readonly ChartPoint[], title: string, subtitle: readonly string[]): vega.Spec {
  return {
    $schema: "https://vega.github.io/schema/vega/v6.json",
    width: 720,
    height: 420,
    padding: 10,
    background: "white",
    title: { text: title, subtitle: [...subtitle], anchor: "start", fontSize: 15, subtitleFontSize: 11 },
    data: [
      { name: "points", values: points.map((point) => ({ ...point })) },
      { name: "kept", source: "points", transform: [{ type: "filter", expr: "datum.sustained" }] },
    ],
    scales: [
      { name: "x", type: "log", domain: { data: "points", field: "rate" }, range: "width", nice: true, zero: false },
      { name: "y", type: "log", domain: { data: "points", field: "latencyMs" }, range: "height", nice: true, zero: false },
      { name: "color", type: "ordinal", domain: { data: "points", field: "mode" }, range: "category" },
      { name: "dash", type: "ordinal", domain: ["p50", "p99"], range: [[1, 0], [6, 4]] },
    ],
    axes: [
      { orient: "bottom", scale: "x", title: "throughput reaching the sink (input rows/s, log)", grid: true, format: "~s" },
      { orient: "left", scale: "y", title: "latency, due time to sink (ms, log)", grid: true, format: "~g" },
    ],
    legends: [
      { fill: "color", stroke: "color", title: "mode", orient: "bottom", direction: "vertical", symbolType: "stroke", labelLimit: 480 },
      { strokeDash: "dash", title: "percentile", orient: "bottom", direction: "vertical", symbolType: "stroke", symbolStrokeColor: "#444" },
    ],
    marks: [
      {
        type: "group",
        from: { facet: { name: "series", data: "kept", groupby: ["mode", "percentile"] } },
        marks: [
          {
            type: "line",
            from: { data: "series" },
            sort: { field: "datum.rate" },
            encode: {
              enter: {
                x: { scale: "x", field: "rate" },
                y: { scale: "y", field: "latencyMs" },
                stroke: { scale: "color", field: "mode" },
                strokeDash: { scale: "dash", field: "percentile" },
                strokeWidth: { value: 2 },
              },
            },
          },
        ],
      },
      {
        type: "symbol",
        from: { data: "points" },
        encode: {
          enter: {
            x: { scale: "x", field: "rate" },
            y: { scale: "y", field: "latencyMs" },
            size: { value: 36 },
            shape: { signal: "datum.percentile === 'p50' ? 'circle' : 'triangle-up'" },
            stroke: { scale: "color", field: "mode" },
            fill: { signal: "datum.sustained ? scale('color', datum.mode) : 'white'" },
            strokeWidth: { value: 1.5 },
          },
        },
      },
    ],
  };
}
