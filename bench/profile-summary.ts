// Where the time went in a `node --cpu-prof` profile: self time per function and per file, top first.
// `npx tsx bench/profile-summary.ts <file.cpuprofile> [--top 30]`
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "30" } } });
const path = positionals[0];
if (!path) throw new Error("usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [--top 30]");
const profile = JSON.parse(await readFile(path, "utf8")) as CpuProfile;
const top = Number(values.top);

const selfMicros = new Map<number, number>();
profile.samples.forEach((node, index) => selfMicros.set(node, (selfMicros.get(node) ?? 0) + (profile.timeDeltas[index] ?? 0)));
const total = [...selfMicros.values()].reduce((sum, value) => sum + value, 0);
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const node of profile.nodes) {
  const micros = selfMicros.get(node.id) ?? 0;
  if (micros === 0) continue;
  const file = shorten(node.callFrame.url) || `(${node.callFrame.functionName || "native"})`;
  const name = `${node.callFrame.functionName || "(anonymous)"}  ${file}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ""}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
  byFile.set(file, (byFile.get(file) ?? 0) + micros);
}

console.log(`${path}: ${(total / 1e6).toFixed(2)} s sampled`);
print("self time by function", byFunction);
print("self time by file", byFile);

function print(title: string, table: Map<string, number>): void {
  console.log(`\n${title}:`);
  for (const [name, micros] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((micros / total) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${name}`);
  }
}

function shorten(url: string): string {
  const marker = url.lastIndexOf("/node_modules/");
  if (marker >= 0) return url.slice(marker + 1);
  const source = url.search(/\/(src|bench)\//);
  return source >= 0 ? url.slice(source + 1) : url.replace(/^file:\/\//, "");
}
