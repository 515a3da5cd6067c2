// How much of each GC pause the main thread spent off the CPU: descheduled (runnable, another task ran) or blocked
// (sleeping inside the GC: waiting for a helper thread, a lock, a page). Reads `perf script` output of a system-wide
// recording of the scheduler's switches and of uprobes on V8's Heap::CollectGarbage (entry and return), and the
// process's `--trace-gc-nvp` log to name each pause's phases (matched in order).
// Set up once (root; the offsets are the symbols' file offsets in this node binary, `nm /usr/bin/node` minus the text
// segment's 0x400000):
//   perf probe -x /usr/bin/node -a 'gc_in=0xd12c00' -a 'gc_out=0xd12c00%return'
// Record and summarize:
//   perf record -a -o tmp/gc.data -e probe_node:gc_in -e probe_node:gc_out__return -e sched:sched_switch -- \
//     node --no-parallel-scavenge --trace-gc-nvp --import tsx bench/point.ts --scenario b \
//     --mode continuous-nats-checkpoints --rate 10000 --seconds 20 > tmp/gc.log 2>&1
//   perf script -i tmp/gc.data -F pid,tid,time,event,trace > tmp/gc.txt
//   npx tsx bench/gc-offcpu.ts tmp/gc.txt tmp/gc.log [more pairs of one run each, pooled] [--skip-ms 3000] [--each 8]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { "skip-ms": { type: "string", default: "3000" }, each: { type: "string", default: "8" } } });
type Window = { start: number; end: number; preempted: number; blocked: number; switches: number; ranInstead: Map<string, number> };
type Row = { window: Window; at: number; kind: string; fields: Map<string, number> };
if (positionals.length === 0 || positionals.length % 2 !== 0) throw new Error("Give pairs: the perf script output and the --trace-gc-nvp log of one run.");
const rows: Row[] = [];
for (let pair = 0; pair < positionals.length; pair += 2) rows.push(...traced(positionals[pair] as string, positionals[pair + 1] as string));

function traced(perfFile: string, nvpFile: string): Row[] {

  const lines = readFileSync(perfFile, "utf8").split("\n");
  // The main thread: its id is the process id that the nvp log's lines start with (a system-wide recording sees other
  // node processes' collections too).
  const pidMatch = /^\[(\d+):0x/m.exec(readFileSync(nvpFile, "utf8"));
  if (pidMatch === null) throw new Error("No --trace-gc-nvp lines in the log.");
  const main = Number(pidMatch[1]);
  const windows: Window[] = [];
  let open: Window | undefined;
  let offSince: number | undefined;
  let offState = "";
  let offFor = "";
  const addOff = (from: number, to: number, state: string): void => {
    if (open === undefined) return;
    const overlap = Math.min(to, Number.POSITIVE_INFINITY) - Math.max(from, open.start);
    if (overlap <= 0) return;
    if (state.startsWith("R")) open.preempted += overlap;
    else open.blocked += overlap;
    open.ranInstead.set(offFor, (open.ranInstead.get(offFor) ?? 0) + overlap);
    open.switches++;
  };
  // perf script -F pid,tid,...: "pid/tid". A task switched to is named by its thread id; its process, from the events
  // it made itself.
  const processOf = new Map<number, number>();
  for (const line of lines) {
    const match = /^\s*(\d+)\/(\d+)\s/.exec(line);
    if (match) processOf.set(Number(match[2]), Number(match[1]));
  }
  for (const line of lines) {
    const match = /^\s*\d+\/(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)$/.exec(line);
    if (!match) continue;
    const tid = Number(match[1]);
    const time = Number(match[2]) * 1000;
    const event = match[3] as string;
    if (event === "probe_node:gc_in" && tid === main) {
      open = { start: time, end: Number.NaN, preempted: 0, blocked: 0, switches: 0, ranInstead: new Map() };
      offSince = undefined;
    } else if (event === "probe_node:gc_out__return" && tid === main && open !== undefined) {
      if (offSince !== undefined) addOff(offSince, time, offState);
      open.end = time;
      windows.push(open);
      open = undefined;
    } else if (event === "sched:sched_switch") {
      const prev = /prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+)/.exec(match[4] as string);
      if (!prev) continue;
      if (Number(prev[1]) === main) {
        offSince = time;
        offState = prev[2] as string;
        const next = Number(prev[4]);
        offFor = processOf.get(next) === main ? `own thread ${next} (${prev[3] as string})` : (prev[3] as string);
      } else if (Number(prev[4]) === main && offSince !== undefined) {
        addOff(offSince, time, offState);
        offSince = undefined;
      }
    }
  }

  // The main isolate's nvp lines, in order.
  const nvp: { at: number; kind: string; fields: Map<string, number> }[] = [];
  const perIsolate = new Map<string, number>();
  const nvpLines = readFileSync(nvpFile, "utf8").split("\n");
  for (const line of nvpLines) {
    const isolate = /^\[\d+:(0x[0-9a-f]+)\]\s+\d+ ms: pause=/.exec(line)?.[1];
    if (isolate !== undefined) perIsolate.set(isolate, (perIsolate.get(isolate) ?? 0) + 1);
  }
  const mainIsolate = [...perIsolate].sort((a, b) => b[1] - a[1])[0]?.[0];
  for (const line of nvpLines) {
    const match = /^\[\d+:(0x[0-9a-f]+)\]\s+(\d+) ms: (pause=.*)$/.exec(line);
    if (!match || match[1] !== mainIsolate) continue;
    const fields = new Map<string, number>();
    let kind = "";
    for (const pair of (match[3] as string).trim().split(/\s+/)) {
      const [key, value] = pair.split("=");
      if (key === "gc") kind = value ?? "";
      else if (key !== undefined && Number.isFinite(Number(value))) fields.set(key, Number(value));
    }
    nvp.push({ at: Number(match[2]), kind, fields });
  }
  console.log(`${perfFile}: main thread ${main}: ${windows.length} collections traced, ${nvp.length} in the nvp log`);
  // Matched by time: an nvp line's time (ms since the isolate started, printed at the end of the collection) plus an
  // offset is its window's end. The offset: the median over the first collections paired in order, then each line takes
  // the window ending within 2 ms of it.
  const offsets = nvp.slice(0, 10).map((entry, index) => (windows[index]?.end ?? Number.NaN) - entry.at).sort((a, b) => a - b);
  const offset = offsets[Math.floor(offsets.length / 2)] ?? 0;
  const rows: Row[] = [];  // of this pair
  let unmatched = 0;
  let cursor = 0;
  for (const entry of nvp) {
    while (cursor < windows.length && (windows[cursor] as Window).end < entry.at + offset - 2) cursor++;
    const window = windows[cursor];
    if (window === undefined || Math.abs(window.end - (entry.at + offset)) > 2) {
      unmatched++;
      continue;
    }
    cursor++;
    if (entry.at >= Number(values["skip-ms"])) rows.push({ window, ...entry });
  }
  if (unmatched > 0) console.log(`${unmatched} nvp lines without a traced collection ending within 2 ms`);
  return rows;
}
const wall = (row: Row): number => row.window.end - row.window.start;
const sorted = [...rows].sort((a, b) => wall(a) - wall(b));
const pct = (share: number): Row | undefined => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))];
const fmt = (value: number | undefined): string => (value === undefined ? "-" : value.toFixed(2));
const summary = (group: readonly Row[]): string => {
  const mean = (f: (row: Row) => number): number => group.reduce((sum, row) => sum + f(row), 0) / group.length;
  return `wall ${fmt(mean(wall))}, on-CPU ${fmt(mean((row) => wall(row) - row.window.preempted - row.window.blocked))}, preempted ${fmt(mean((row) => row.window.preempted))}, blocked ${fmt(mean((row) => row.window.blocked))} ms`;
};
console.log(`${rows.length} collections after ${values["skip-ms"]} ms; wall p50 ${fmt(pct(0.5) && wall(pct(0.5) as Row))} p90 ${fmt(pct(0.9) && wall(pct(0.9) as Row))} p99 ${fmt(pct(0.99) && wall(pct(0.99) as Row))} max ${fmt(sorted.length > 0 ? wall(sorted.at(-1) as Row) : undefined)}`);
const onCpu = rows.map((row) => wall(row) - row.window.preempted - row.window.blocked).sort((a, b) => a - b);
console.log(`on-CPU time in a pause: p50 ${fmt(onCpu[Math.floor(onCpu.length * 0.5)])} p90 ${fmt(onCpu[Math.floor(onCpu.length * 0.9)])} p99 ${fmt(onCpu[Math.min(onCpu.length - 1, Math.floor(onCpu.length * 0.99))])} max ${fmt(onCpu.at(-1))}`);
// The pause without the time other processes (and the scenario's nats-server) ran on the main thread's CPU: what this
// process's own work makes of it (its main thread's work, its own threads' turns, its waits), with the machine's other
// load taken out.
const ownThreads = (row: Row): number => [...row.window.ranInstead].filter(([name]) => name.startsWith("own thread")).reduce((sum, [, ms]) => sum + ms, 0);
const byOthers = (row: Row): number => row.window.preempted - ownThreads(row);
const own = rows.map((row) => wall(row) - byOthers(row)).sort((a, b) => a - b);
console.log(`pause without other processes' turns: p50 ${fmt(own[Math.floor(own.length * 0.5)])} p90 ${fmt(own[Math.floor(own.length * 0.9)])} p99 ${fmt(own[Math.min(own.length - 1, Math.floor(own.length * 0.99))])} max ${fmt(own.at(-1))}; own threads' turns in ${rows.filter((row) => ownThreads(row) > 0.01).length} pauses, ${fmt(rows.reduce((sum, row) => sum + ownThreads(row), 0))} ms in all`);
const withOff = rows.filter((row) => row.window.preempted + row.window.blocked > 0).length;
console.log(`collections with the main thread off the CPU at some point of the pause: ${withOff} of ${rows.length}`);
console.log(`middle 20%: ${summary(sorted.slice(Math.floor(sorted.length * 0.4), Math.ceil(sorted.length * 0.6)))}`);
const band = sorted.slice(Math.floor(sorted.length * 0.8), Math.ceil(sorted.length * 0.95));
const bandOwn = band.reduce((sum, row) => sum + ownThreads(row), 0) / Math.max(1, band.length);
console.log(`p80-p95: ${summary(band)}; of it this process's own threads ${fmt(bandOwn)} ms, in ${band.filter((row) => ownThreads(row) > 0.01).length} of ${band.length}`);
const slowest = sorted.slice(-Math.max(3, Math.ceil(sorted.length * 0.02)));
console.log(`slowest ${slowest.length}: ${summary(slowest)}`);
console.log("slowest, each: kind wall | preempted blocked on-CPU | nvp pause scavenge parallel roots sweep_array_buffers");
for (const row of sorted.slice(-Number(values.each))) {
  const f = (key: string): string => fmt(row.fields.get(key));
  console.log(`  @${row.at} ${row.kind} ${fmt(wall(row))} | ${fmt(row.window.preempted)} ${fmt(row.window.blocked)} ${fmt(wall(row) - row.window.preempted - row.window.blocked)} | ${f("pause")} ${f("scavenge")} ${f("scavenge.parallel")} ${f("scavenge.roots")} ${f("scavenge.sweep_array_buffers")} | ${[...row.window.ranInstead].map(([name, ms]) => `${name} ${fmt(ms)}`).join(", ")}`);
}
// Who ran on the main thread's CPU when it was switched out inside a pause (the task switched to; ms over all pauses
// after --skip-ms, and over the slowest).
const ranInstead = (group: readonly Row[]): string => {
  const totals = new Map<string, number>();
  for (const row of group) for (const [name, ms] of row.window.ranInstead) totals.set(name, (totals.get(name) ?? 0) + ms);
  return [...totals].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([name, ms]) => `${name} ${fmt(ms)}`).join(", ");
};
console.log(`switched to, all pauses (ms): ${ranInstead(rows)}`);
console.log(`switched to, slowest ${slowest.length} (ms): ${ranInstead(slowest)}`);
