// Bytes allocated per row on the hot path: `node --expose-gc --min-semi-space-size=256 --max-semi-space-size=256 --import tsx bench/micro/allocations.ts`.
//
// With a young generation far larger than what a measurement allocates, no collection runs during it, so the growth
// of V8's used heap is what the code allocated. Each subject runs warm (optimized) first. The figure does not depend
// on how busy the machine is, unlike a time.
import assert from "node:assert/strict";
import { getHeapStatistics } from "node:v8";
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
import { activityFrame, FRAME_ROWS } from "./harness.ts";

const collect = (globalThis as { gc?: () => void }).gc;
assert.ok(collect, "run with --expose-gc (see the first line of this file)");

const FRAMES = 200;
const schema = schemaFromZod(activitySchema);
const compiled = (text: string): ((row: Row) => unknown) => compileExpression(parseExpression(text), schema, "bench").evaluate;

function bytesPerRow(name: string, run: () => unknown): void {
  for (let index = 0; index < FRAMES * 5; index++) run();
  const kept: unknown[] = [];
  collect?.();
  const before = getHeapStatistics().used_heap_size;
  for (let index = 0; index < FRAMES; index++) kept.push(run());
  const after = getHeapStatistics().used_heap_size;
  const perRow = (after - before) / (FRAMES * FRAME_ROWS);
  console.log(`| ${name} | ${perRow.toFixed(0)} |`);
  kept.length = 0;
}

const activity = activityFrame() as unknown as Row[];
const frame: DataFrame = { kind: FRAME_DATA, sender: 0, seq: 1, epoch: 3, since: 1_700_000_000_000.25, until: 1_700_000_000_001.75, rows: activity };
const bytes = encodeFrame(frame);
const rows = activity.map((row, index) => ({ ...row, gt: ["stairsup", "sit", null, "walk", "stairsdown", "bike"][index % 6] ?? null }));
const project = () => new ProjectOperator("bench.project", [
  { name: "gt", evaluate: compiled("gt") }, { name: "Model", evaluate: compiled("model") },
  { name: "Arrival_Time", evaluate: compiled("arrival_time") }, { name: "Creation_Time", evaluate: compiled("creation_time") },
]);
function operators(list: () => Array<FilterOperator | ProjectOperator>): () => unknown {
  let out: Row[] = [];
  const emit: Emit = (row) => out.push(row);
  const input = chain(list(), emit);
  return () => {
    out = [];
    for (const row of rows) input(row);
    return out;
  };
}

console.log("| subject | bytes allocated per row |");
console.log("| --- | --- |");
bytesPerRow("encodeFrame, activity rows", () => encodeFrame(frame));
bytesPerRow("decodeFrame, activity rows", () => decodeFrame(bytes));
bytesPerRow("ProjectOperator, 4 of 10 columns (rows kept)", operators(() => [project()]));
bytesPerRow("Filter + Project (rows kept)", operators(() => [new FilterOperator("bench.filter", compiled("gt like '%stairs%'")), project()]));
