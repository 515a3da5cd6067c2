// Summarizes V8's `--trace-gc-nvp` lines: which collections make the long pauses and which of their phases.
// `node --trace-gc-nvp --import tsx bench/point.ts --scenario b --mode continuous-nats-checkpoints --rate 10000 --seconds 10 > tmp/nvp.txt`
// then `npx tsx bench/gc-trace-summary.ts tmp/nvp.txt [--skip-ms 1500]` (collections in the first 1.5 s of the
// process, start-up and module loading, left out by default). Per kind of collection (s = scavenge, ms = mark-compact):
// count, pause p50 / p99 / max; for scavenges, each phase's mean and its mean share of the slowest 5% of pauses, and
// the bytes allocated between two scavenges, surviving one (new_space_survived) and promoted by one, as medians, and
// the bytes allocated a second (over a run at R rows a second, divide by R for bytes a row). Main thread only.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { "skip-ms": { type: "string", default: "1500" } } });
const file = positionals[0];
if (file === undefined) throw new Error("Give the file with the --trace-gc-nvp output.");
const skipMs = Number(values["skip-ms"]);

type Entry = { at: number; fields: Map<string, number>; kind: string };
const entries: Entry[] = [];
// Every isolate prints its own lines (the precise wake thread's, tsx's loader thread's): keep the main thread's, the
// isolate with the most collections.
const lines = readFileSync(file, "utf8").split("\n");
const isolateOf = (line: string): string | undefined => /^\[\d+:(0x[0-9a-f]+)\]\s+\d+ ms: pause=/.exec(line)?.[1];
const perIsolate = new Map<string, number>();
for (const line of lines) {
  const isolate = isolateOf(line);
  if (isolate !== undefined) perIsolate.set(isolate, (perIsolate.get(isolate) ?? 0) + 1);
}
const mainIsolate = [...perIsolate].sort((a, b) => b[1] - a[1])[0]?.[0];
if (perIsolate.size > 1) console.log(`${perIsolate.size} isolates; the main thread's ${perIsolate.get(mainIsolate ?? "")} collections of ${[...perIsolate.values()].reduce((sum, count) => sum + count, 0)} are summarized`);
for (const line of lines) {
  const match = /^\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: (pause=.*)$/.exec(line);
  if (!match || isolateOf(line) !== mainIsolate) continue;
  const fields = new Map<string, number>();
  let kind = "";
  for (const pair of (match[2] as string).trim().split(/\s+/)) {
    const equals = pair.indexOf("=");
    if (equals < 0) continue;
    const key = pair.slice(0, equals);
    const value = pair.slice(equals + 1);
    if (key === "gc") kind = value;
    else if (Number.isFinite(Number(value))) fields.set(key, Number(value));
  }
  const at = Number(match[1]);
  if (at >= skipMs) entries.push({ at, fields, kind });
}

const percentile = (sorted: readonly number[], share: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))] ?? Number.NaN;
const median = (numbers: readonly number[]): number => percentile([...numbers].sort((a, b) => a - b), 0.5);
const fixed = (value: number, digits = 2): string => (Number.isFinite(value) ? value.toFixed(digits) : "-");

const span = entries.length > 1 ? ((entries.at(-1) as Entry).at - (entries[0] as Entry).at) / 1000 : Number.NaN;
console.log(`${entries.length} collections over ${fixed(span, 1)} s (after ${skipMs} ms)`);
for (const kind of [...new Set(entries.map((entry) => entry.kind))]) {
  const ofKind = entries.filter((entry) => entry.kind === kind);
  const pauses = ofKind.map((entry) => entry.fields.get("pause") ?? 0).sort((a, b) => a - b);
  const total = pauses.reduce((sum, pause) => sum + pause, 0);
  console.log(`gc=${kind}: ${ofKind.length}, pause p50 ${fixed(percentile(pauses, 0.5))} p99 ${fixed(percentile(pauses, 0.99))} max ${fixed(pauses.at(-1) ?? Number.NaN)} ms, ${fixed(total / span)} ms/s`);
  if (kind === "s" || kind === "mmc") {
    const bytes = (key: string): string => `${fixed(median(ofKind.map((entry) => entry.fields.get(key) ?? 0)) / 1024, 0)} KB`;
    console.log(`  median allocated ${bytes("allocated")}, survived ${bytes("new_space_survived")}, promoted ${bytes("promoted")}`);
    // Bytes allocated between the first and the last of them, over that span: divide by the rate for bytes a row.
    const allocated = ofKind.slice(1).reduce((sum, entry) => sum + (entry.fields.get("allocated") ?? 0), 0);
    const allocSpan = ofKind.length > 1 ? ((ofKind.at(-1) as Entry).at - (ofKind[0] as Entry).at) / 1000 : Number.NaN;
    console.log(`  allocated ${fixed(allocated / allocSpan / 1e6)} MB a second (${fixed((ofKind.length - 1) / allocSpan, 1)} collections a second)`);
  }
  // The phases: every field of the kind that is a time (not a size, count or rate), by mean, and in the slowest 5%.
  const slow = [...ofKind].sort((a, b) => (b.fields.get("pause") ?? 0) - (a.fields.get("pause") ?? 0)).slice(0, Math.max(1, Math.ceil(ofKind.length * 0.05)));
  const keys = [...new Set(ofKind.flatMap((entry) => [...entry.fields.keys()]))].filter((key) => !/size|allocated|promoted|copied|survive|speed|ratio|rate|throughput|count|nodes|chunks|reduce_memory|mutator|pause|_before|_after|committed|holes|limit|used|capacity|^total|^background|^incremental\.steps/.test(key));
  const rows = keys
    .map((key) => ({ key, mean: ofKind.reduce((sum, entry) => sum + (entry.fields.get(key) ?? 0), 0) / ofKind.length, slow: slow.reduce((sum, entry) => sum + (entry.fields.get(key) ?? 0), 0) / slow.length }))
    .filter((row) => row.mean >= 0.01 || row.slow >= 0.01)
    .sort((a, b) => b.slow - a.slow);
  const slowPause = slow.reduce((sum, entry) => sum + (entry.fields.get("pause") ?? 0), 0) / slow.length;
  console.log(`  phases (ms): mean over all | mean over the slowest ${slow.length} (their pause ${fixed(slowPause)})`);
  for (const row of rows.slice(0, 14)) console.log(`    ${row.key.padEnd(48)} ${fixed(row.mean, 3).padStart(8)} | ${fixed(row.slow, 3).padStart(8)}`);
}
