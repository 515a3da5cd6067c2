// The gateway bench's report: one table row per system, the fixed-rate points, and the issue's targets judged.
import type { GatewayPoint, GatewayResults, GatewaySystemResult } from "./run.ts";

export function renderGatewayMarkdown(results: GatewayResults): string {
  const { settings } = results;
  const lines = [
    `# Gateway bench, ${results.createdAt}`,
    "",
    `Each system under test pinned to core ${settings.core} with taskset and run as \`node ${settings.nodeFlags.join(" ")}\`; the publisher, broker and receiver unpinned. Readings at fixed rates, 10% above the threshold`,
    `and forwarded; latency is publish to receipt of those. Load average before ${results.loadBefore}, after ${results.loadAfter} (other work on the machine disturbs the figures).`,
    "",
    `| system | sustained msg/s | CPU µs/msg at ${settings.fixedRates.map(thousands).join(" / ")} | broker µs/msg at ${thousands(settings.fixedRates[settings.fixedRates.length - 1] ?? 0)} | p50 / p99 ms at 10k | peak RSS MB | idle RSS MB | idle CPU % |`,
    "|---|---|---|---|---|---|---|---|",
    ...results.systems.map(row),
    "",
    ...results.systems.flatMap((system) => (system.ladderStop ? [`- ${system.label}: the ladder stopped at ${system.ladderStop}${system.system === "raw" ? "" : `; ${system.alerts ?? 0} alerts received in all`}.`] : [])),
    ...results.systems.flatMap((system) => (system.skipped ? [`- ${system.skipped}`] : [])),
    ...results.systems.flatMap((system) => system.errors.map((error) => `- WRONG: ${error}`)),
    "",
    "## Every point",
    "",
    "| system | rate | offered | forwarded | CPU µs/msg | broker µs/msg | p50 ms | p99 ms | verdict |",
    "|---|---|---|---|---|---|---|---|---|",
    ...results.systems.flatMap((system) => [...system.fixed, ...system.ladder].map((point) => pointRow(system, point))),
    "",
    ...targets(results),
  ];
  return `${lines.join("\n")}\n`;
}

function row(system: GatewaySystemResult): string {
  if (system.skipped) return `| ${system.label} | skipped | | | | | | |`;
  const cpu = system.fixed.map((point) => point.cpuUsPerMessage ?? "-").join(" / ");
  const last = system.fixed[system.fixed.length - 1];
  const at10k = system.fixed.find((point) => point.rate === 10_000);
  return `| ${system.label} | ${thousands(system.sustainedRate ?? 0)} | ${cpu} | ${last?.brokerCpuUsPerMessage ?? "-"} | ${at10k ? `${at10k.p50Ms ?? "-"} / ${at10k.p99Ms ?? "-"}` : "-"} | ${system.peakRssMb ?? "-"} | ${system.idleRssMb ?? "-"} | ${system.idleCpuPercent ?? "-"} |`;
}

function pointRow(system: GatewaySystemResult, point: GatewayPoint): string {
  return `| ${system.system} | ${point.rate} | ${point.achievedRate} | ${point.received}/${point.expected} | ${point.cpuUsPerMessage ?? "-"} | ${point.brokerCpuUsPerMessage ?? "-"} | ${point.p50Ms ?? "-"} | ${point.p99Ms ?? "-"} | ${point.verdict} |`;
}

/** The issue's targets: a third of Node-RED's CPU per message, twice its sustained rate, a lower p99 at 10k, peak RSS under 80 MB. */
function targets(results: GatewayResults): string[] {
  const nodeRed = results.systems.find((system) => system.system === "node-red" && !system.skipped);
  const lines = ["## Targets (against Node-RED in this run)", ""];
  for (const rill of results.systems.filter((system) => system.system.startsWith("rill") && !system.skipped && system.fixed.length > 0)) {
    const rss = rill.peakRssMb === undefined ? "-" : `${rill.peakRssMb} MB (${rill.peakRssMb < 80 ? "met" : "MISSED"})`;
    lines.push(`- ${rill.label}: peak RSS under 80 MB: ${rss}`);
    if (!nodeRed) continue;
    const rate = Math.max(...rill.fixed.map((point) => point.rate).filter((value) => nodeRed.fixed.some((other) => other.rate === value)));
    const mine = rill.fixed.find((point) => point.rate === rate)?.cpuUsPerMessage;
    const theirs = nodeRed.fixed.find((point) => point.rate === rate)?.cpuUsPerMessage;
    if (mine !== undefined && theirs !== undefined) lines.push(`  - CPU per message at ${thousands(rate)}: ${mine} µs against ${theirs} µs, ${Math.round((mine / theirs) * 100)}% of Node-RED's (target at most 33%: ${mine <= theirs / 3 ? "met" : "MISSED"})`);
    const rates = [rill.sustainedRate ?? 0, nodeRed.sustainedRate ?? 0];
    lines.push(`  - sustained rate: ${thousands(rates[0] ?? 0)} against ${thousands(rates[1] ?? 0)} msg/s (target at least twice: ${(rates[0] ?? 0) >= 2 * (rates[1] ?? 0) && (rates[1] ?? 0) > 0 ? "met" : "MISSED"}${rill.ladderStop?.includes("publisher") ? "; the publisher, not Rill, set the limit" : ""})`);
    const p99 = [rill.fixed.find((point) => point.rate === 10_000)?.p99Ms, nodeRed.fixed.find((point) => point.rate === 10_000)?.p99Ms];
    if (p99[0] !== undefined && p99[1] !== undefined) lines.push(`  - p99 at 10k msg/s: ${p99[0]} ms against ${p99[1]} ms (target lower: ${p99[0] < p99[1] ? "met" : "MISSED"})`);
  }
  return lines;
}

function thousands(value: number): string {
  return value >= 1000 && value % 1000 === 0 ? `${value / 1000}k` : String(value);
}
