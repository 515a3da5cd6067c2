// GC pauses on the hot path at a fixed rate: `npx tsx bench/micro/gc.ts [--rate 100000] [--seconds 10]`.
//
// Rows are released at the rate in 256-row frames, each frame as a row travels between two actors: encoded
// (encodeFrame), decoded (decodeFrame), then run through Filter + Project (rows kept until the next frame, as a
// mailbox holds them). perf_hooks 'gc' entries (bench/e2e/gc-monitor.ts) give the pause time per second of running,
// the p99 and the longest pause. Also prints the CPU time the process used per second, to tell whether it kept up.
import { constants, PerformanceObserver } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { decodeFrame, encodeFrame } from "../../src/actors/codec.ts";
import { FRAME_DATA, type DataFrame } from "../../src/core/frame.ts";
import type { Row } from "../../src/core/types.ts";
import { schemaFromZod } from "../../src/core/zod-schema.ts";
import { activitySchema } from "../../src/connectors/sources/activity.ts";
import { compileExpression } from "../../src/expr/compile.ts";
import { parseExpression } from "../../src/expr/parser.ts";
import { FilterOperator } from "../../src/operators/filter.ts";
import { chain, type Emit } from "../../src/operators/operator.ts";
import { ProjectOperator } from "../../src/operators/project.ts";
import { GcMonitor } from "../e2e/gc-monitor.ts";
import { activityFrame, FRAME_ROWS } from "./harness.ts";

const { values } = parseArgs({ options: { rate: { type: "string", default: "100000" }, seconds: { type: "string", default: "10" } } });
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const schema = schemaFromZod(activitySchema);
const compiled = (text: string): ((row: Row) => unknown) => compileExpression(parseExpression(text), schema, "bench").evaluate;
const frames = [7, 8, 9, 10].map((seed) => activityFrame(seed).map((row, index) => ({ ...row, gt: ["stairsup", "sit", null, "walk", "stairsdown", "bike"][index % 6] ?? null })) as Row[]);
let kept: Row[] = [];
const emit: Emit = (row) => kept.push(row);
const input = chain([
  new FilterOperator("bench.filter", compiled("gt like '%stairs%'")),
  new ProjectOperator("bench.project", [
    { name: "gt", evaluate: compiled("gt") }, { name: "Model", evaluate: compiled("model") },
    { name: "Arrival_Time", evaluate: compiled("arrival_time") }, { name: "Creation_Time", evaluate: compiled("creation_time") },
  ]),
], emit);

let sent = 0;
function frameOnce(): void {
  const rows = frames[sent % frames.length] as Row[];
  const frame: DataFrame = { kind: FRAME_DATA, sender: 0, seq: sent + 1, epoch: 1, since: Date.now(), until: Date.now(), rows };
  const decoded = decodeFrame(encodeFrame(frame)) as DataFrame;
  kept = [];
  for (const row of decoded.rows) input(row);
  sent++;
}

// Warm up, then run paced: each turn does the frames that are due.
for (let index = 0; index < 500; index++) frameOnce();
sent = 0;
const monitor = new GcMonitor();
/** Mark-compacts (full collections) apart: the long pauses. */
const major = { count: 0, ms: 0 };
const majorObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (((entry as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
      major.count++;
      major.ms += entry.duration;
    }
  }
});
majorObserver.observe({ entryTypes: ["gc"] });
const cpuStart = process.cpuUsage();
const start = performance.now();
await new Promise<void>((resolve) => {
  const turn = (): void => {
    const elapsed = performance.now() - start;
    if (elapsed >= seconds * 1000) return resolve();
    const due = Math.floor((elapsed / 1000) * (rate / FRAME_ROWS));
    while (sent < due) frameOnce();
    setImmediate(turn);
  };
  turn();
});
const elapsedSeconds = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpuStart);
const gc = monitor.stop();
majorObserver.disconnect();
console.log(JSON.stringify({ rate, seconds: Math.round(elapsedSeconds * 10) / 10, rowsPerSecond: Math.round((sent * FRAME_ROWS) / elapsedSeconds), cpuMsPerSecond: Math.round((cpu.user + cpu.system) / 1000 / elapsedSeconds), gc, markCompacts: major.count, markCompactMs: Math.round(major.ms) }));
