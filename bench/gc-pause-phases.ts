// Compares the phases of a `--trace-gc-nvp` log's median scavenges with its slowest ones, field by field, and shows
// how much of each pause no phase accounts for (the time V8's tracer measured as the pause but no scope inside it:
// descheduling of the main thread, Node's GC callbacks, or work outside V8's scopes).
// `node --no-parallel-scavenge --trace-gc-nvp --import tsx bench/point.ts --scenario b --mode continuous-nats-checkpoints --rate 10000 --seconds 20 > tmp/nvp.txt`
// then `npx tsx bench/gc-pause-phases.ts tmp/nvp.txt [more logs] [--skip-ms 3000] [--slowest 0.02] [--each]`.
// Several logs are pooled (the main thread's scavenges of each, after --skip-ms of its process).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { "skip-ms": { type: "string", default: "3000" }, slowest: { type: "string", default: "0.02" }, each: { type: "boolean", default: false } },
});
if (positionals.length === 0) throw new Error("Give the files with the --trace-gc-nvp output.");
const skipMs = Number(values["skip-ms"]);

type Scavenge = { file: string; at: number; fields: Map<string, number> };
const scavenges: Scavenge[] = [];
for (const file of positionals) {
  const lines = readFileSync(file, "utf8").split("\n");
  const perIsolate = new Map<string, number>();
  const parsed: { isolate: string; at: number; fields: Map<string, number>; kind: string }[] = [];
  for (const line of lines) {
    const match = /^\[\d+:(0x[0-9a-f]+)\]\s+(\d+) ms: (pause=.*)$/.exec(line);
    if (!match) continue;
    const isolate = match[1] as string;
    perIsolate.set(isolate, (perIsolate.get(isolate) ?? 0) + 1);
    const fields = new Map<string, number>();
    let kind = "";
    for (const pair of (match[3] as string).trim().split(/\s+/)) {
      const equals = pair.indexOf("=");
      if (equals < 0) continue;
      const key = pair.slice(0, equals);
      const value = pair.slice(equals + 1).replace(/%$/, "");
      if (key === "gc") kind = value;
      else if (Number.isFinite(Number(value))) fields.set(key, Number(value));
    }
    parsed.push({ isolate, at: Number(match[2]), fields, kind });
  }
  const main = [...perIsolate].sort((a, b) => b[1] - a[1])[0]?.[0];
  for (const entry of parsed) if (entry.isolate === main && entry.kind === "s" && entry.at >= skipMs) scavenges.push({ file, at: entry.at, fields: entry.fields });
}

// The scopes directly inside a scavenge's pause (V8's tracer nests scavenge.* inside `scavenge`).
const topLevel = ["time_to_safepoint", "heap.prologue", "heap.epilogue", "heap.external.prologue", "heap.external.epilogue", "heap.external_weak_global_handles", "fast_promote", "complete.sweep_array_buffers", "scavenge", "unmapper"];
const insideScavenge = ["scavenge.free_remembered_set", "scavenge.roots", "scavenge.weak", "scavenge.weak_global_handles.identify", "scavenge.weak_global_handles.process", "scavenge.parallel", "scavenge.update_refs", "scavenge.sweep_array_buffers"];
const get = (entry: Scavenge, key: string): number => entry.fields.get(key) ?? 0;
const derived = (entry: Scavenge): Map<string, number> => {
  const row = new Map<string, number>();
  row.set("pause", get(entry, "pause"));
  for (const key of topLevel) row.set(key, get(entry, key));
  for (const key of insideScavenge) row.set(key, get(entry, key));
  row.set("scavenge - its scopes", get(entry, "scavenge") - insideScavenge.reduce((sum, key) => sum + get(entry, key), 0));
  row.set("pause - top-level scopes", get(entry, "pause") - topLevel.reduce((sum, key) => sum + get(entry, key), 0));
  row.set("background.scavenge.parallel", get(entry, "background.scavenge.parallel"));
  row.set("survived KB", get(entry, "new_space_survived") / 1024);
  row.set("promoted KB", get(entry, "promoted") / 1024);
  row.set("allocated KB", get(entry, "allocated") / 1024);
  row.set("mutator ms", get(entry, "mutator"));
  return row;
};

const sorted = [...scavenges].sort((a, b) => get(a, "pause") - get(b, "pause"));
const count = sorted.length;
const at = (share: number): number => get(sorted[Math.min(count - 1, Math.floor(count * share))] as Scavenge, "pause");
console.log(`${count} scavenges from ${positionals.length} log(s); pause p50 ${at(0.5).toFixed(2)} p90 ${at(0.9).toFixed(2)} p99 ${at(0.99).toFixed(2)} max ${get(sorted.at(-1) as Scavenge, "pause").toFixed(2)} ms`);
// The median group: the middle 20%; the slow group: the slowest share (2% by default, at least 3).
const middle = sorted.slice(Math.floor(count * 0.4), Math.max(Math.floor(count * 0.4) + 1, Math.ceil(count * 0.6)));
const slow = sorted.slice(Math.max(0, count - Math.max(3, Math.ceil(count * Number(values.slowest)))));
const mean = (group: readonly Scavenge[], key: string): number => group.reduce((sum, entry) => sum + (derived(entry).get(key) ?? 0), 0) / group.length;
const keys = [...derived(sorted[0] as Scavenge).keys()];
console.log(`${"field (ms unless said)".padEnd(40)} ${"middle 20%".padStart(11)} ${`slowest ${slow.length}`.padStart(11)}`);
for (const key of keys) {
  const a = mean(middle, key);
  const b = mean(slow, key);
  if (Math.abs(a) < 0.005 && Math.abs(b) < 0.005) continue;
  console.log(`${key.padEnd(40)} ${a.toFixed(3).padStart(11)} ${b.toFixed(3).padStart(11)}`);
}
if (values.each) {
  console.log("\nslowest, each: pause | scavenge parallel roots sweep_ab | rest-in-scavenge | unaccounted | survived KB");
  for (const entry of slow) {
    const row = derived(entry);
    const f = (key: string): string => (row.get(key) ?? 0).toFixed(2);
    console.log(`${entry.file}@${entry.at}: ${f("pause")} | ${f("scavenge")} ${f("scavenge.parallel")} ${f("scavenge.roots")} ${f("scavenge.sweep_array_buffers")} | ${f("scavenge - its scopes")} | ${f("pause - top-level scopes")} | ${f("survived KB")}`);
  }
}
