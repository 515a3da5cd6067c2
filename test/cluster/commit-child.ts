// The cluster tests' query process: runs both cluster queries until told that the input is complete, then drains them.
// Usage: node --import tsx commit-child.ts <folder>, NATS options in RILL_TEST_NATS_CLUSTER; with RILL_CHAOS_PAUSE_AT
// set, the engine prints `RILL_FAULT_POINT <point> <hit>` and freezes there while the parent kills a NATS node.
// Prints `connected <node>`, `progress <query> <epoch> <rows> <node>`, and at the end `done <recoveries as JSON>`.
import { createInterface } from "node:readline";
import { Session, type NatsOptions } from "../../src/index.ts";
import { CLUSTER_OPTIONS_VARIABLE, startQueries } from "./workload.ts";

const [folder] = process.argv.slice(2) as [string];
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const options = JSON.parse(process.env[CLUSTER_OPTIONS_VARIABLE] ?? "null") as NatsOptions | null;
if (!options) throw new Error(`${CLUSTER_OPTIONS_VARIABLE} is not set`);
// A parent that died (a test timeout) must not leave this process running.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 500).unref();

const session = Session.builder().appName("cluster-child").nats(options).config("rill.shuffle.partitions", 2).log((line) => process.stderr.write(`${line}\n`)).getOrCreate();
const transport = await session.connect();
session.streams.addListener({ onQueryProgress: ({ progress }) => say(`progress ${progress.name ?? "?"} ${progress.batchId} ${progress.numInputRows} ${transport.connectedServer?.()?.name ?? "?"}`) });
const { totals, filtered } = await startQueries(session, folder);
say(`connected ${transport.connectedServer?.()?.name ?? "?"}`);
// The parent writes `finish` once every input row is published.
for await (const line of createInterface({ input: process.stdin })) if (line.trim() === "finish") break;
await Promise.all([totals.processAllAvailable(), filtered.processAllAvailable()]);
say(`done ${JSON.stringify({ totals: totals.numRecoveries, filtered: filtered.numRecoveries, connected: (await session.connect()).connectedServer?.()?.name })}`);
await session.stop();
process.exit(0);
