// What outlives scavenges in one bench point: V8's sampling heap profiler (through node:inspector) with the samples of
// objects that a scavenge collected left out, so what remains is what got promoted to the old generation (or was still
// alive at the end). Or, with `--all`, every sampled allocation (what makes the young generation fill up).
// `node --import tsx bench/heap-survivors.ts [--all] [--top 25] -- --scenario b --mode continuous-nats-checkpoints --rate 10000 --seconds 10`
// Prints the top functions by sampled bytes (self), with their file and line; `--from 4 --to 10` samples only those
// seconds of the process. At a 512-byte interval the sampler saw fewer bytes than --trace-gc-nvp's `allocated` (66% in
// scenario (b), 69% on a loop of small objects), and it slows the process: read its figures as shares. Add `--no-turbo-inlining` to node's
// flags to keep callees apart from their callers. The point's own JSON line is printed as well.
import { Session } from "node:inspector/promises";
import { parseArgs } from "node:util";

const separator = process.argv.indexOf("--");
const own = separator < 0 ? process.argv.slice(2) : process.argv.slice(2, separator);
const { values } = parseArgs({ args: own, options: { all: { type: "boolean", default: false }, top: { type: "string", default: "25" }, interval: { type: "string", default: "4096" }, from: { type: "string" }, to: { type: "string" } } });
// bench/point.ts reads process.argv: leave it only the point's own arguments.
process.argv = [process.argv[0] as string, process.argv[1] as string, ...(separator < 0 ? [] : process.argv.slice(separator + 1))];

interface ProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

const session = new Session();
session.connect();
const start = (): Promise<unknown> => session.post("HeapProfiler.startSampling", {
  samplingInterval: Number(values.interval),
  includeObjectsCollectedByMinorGC: values.all,
  includeObjectsCollectedByMajorGC: true,
});
const stop = async (): Promise<{ head: ProfileNode }> => ((await session.post("HeapProfiler.stopSampling")) as unknown as { profile: { head: ProfileNode } }).profile;
// `--from S --to S`: only seconds S..S of the process (the query's steady run, without start-up and the answer's check).
let windowed: Promise<{ head: ProfileNode }> | undefined;
let sampledMs = Number.NaN;
if (values.from !== undefined && values.to !== undefined) {
  const fromMs = Number(values.from) * 1000;
  const toMs = Number(values.to) * 1000;
  windowed = new Promise((resolve) => setTimeout(() => {
    void start().then(() => {
      const began = performance.now();
      setTimeout(() => void stop().then((result) => { sampledMs = performance.now() - began; resolve(result); }), toMs - fromMs);
    });
  }, fromMs));
} else await start();
await import("./point.ts");
const profile = windowed ? await windowed : await stop();
session.disconnect();
if (windowed) console.log(`sampled ${(sampledMs / 1000).toFixed(2)} s from ${values.from} s (at R rows a second, divide by R x seconds for bytes a row)`);

const bySite = new Map<string, number>();
let total = 0;
const walk = (node: ProfileNode): void => {
  if (node.selfSize > 0) {
    const file = node.callFrame.url.replace(/^file:\/\//, "").replace(process.cwd() + "/", "");
    const site = `${node.callFrame.functionName || "(anonymous)"} ${file}:${node.callFrame.lineNumber + 1}`;
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    total += node.selfSize;
  }
  for (const child of node.children) walk(child);
};
walk(profile.head);
console.log(`${values.all ? "sampled" : "sampled and not collected by a scavenge"}: ${(total / 1e6).toFixed(1)} MB`);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  console.log(`${(bytes / 1e6).toFixed(2).padStart(8)} MB ${((100 * bytes) / total).toFixed(1).padStart(5)}%  ${site}`);
}
