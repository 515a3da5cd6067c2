// Draws the chart again from a results file, without running anything: `npx tsx bench/chart.ts [bench/results/latest.json]`.
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { drawChart } from "./e2e/chart.ts";
import type { BenchResults } from "./e2e/report.ts";

const path = process.argv[2] ?? "bench/results/latest.json";
const results = JSON.parse(await readFile(path, "utf8")) as BenchResults;
const notice = await drawChart(results, dirname(path));
console.log(notice ?? `drew the charts (latency-vs-throughput*.svg and .png) in ${dirname(path)} from ${path}`);
