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
import { activitySchema, type ActivityRow } from "../../src/connectors/sources/activity.ts";
import { compileExpression } from "../../src/expr/compile.ts";
import { parseExpression } from "../../src/expr/parser.ts";
import { FilterOperator } from "../../src/operators/filter.ts";
import { chain, type Emit } from "../../src/operators/operator.ts";
import { ProjectOperator } from "../../src/operators/project.ts";
import { activityFrame, DropCounter, FRAME_ROWS, OutputRing } from "./harness.ts";
import { droppedFilterSelect, droppedSelect, plainFilterSelect, plainSelect, type PlainWork } from "./operators.ts";

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
/** The same rows, as the plain code (operators.ts) types them. */
const plainRows = rows as unknown as readonly ActivityRow[];
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

/**
 * The same work in plain code (operators.ts), its rows stored into a ring of slots as cpu.ts and instructions.sh store
 * both sides' rows (harness.ts, OutputRing); the `dropped` copies (the old baseline) only ever count them.
 */
function plain(work: PlainWork): () => unknown {
  const ring = new OutputRing();
  return () => {
    work(plainRows, ring.keep);
    return ring.count;
  };
}

function dropped(work: PlainWork): () => unknown {
  const counter = new DropCounter();
  return () => {
    work(plainRows, counter.drop);
    return counter.count;
  };
}

/** An operator chain whose rows go into a ring, as cpu.ts and instructions.sh have them (no array grows). */
function operatorsIntoRing(list: () => Array<FilterOperator | ProjectOperator>): () => unknown {
  const ring = new OutputRing();
  const input = chain(list(), ring.keep);
  return () => {
    for (const row of rows) input(row);
    return ring.count;
  };
}

console.log("| subject | bytes allocated per row |");
console.log("| --- | --- |");
bytesPerRow("encodeFrame, activity rows", () => encodeFrame(frame));
bytesPerRow("decodeFrame, activity rows", () => decodeFrame(bytes));
bytesPerRow("ProjectOperator, 4 of 10 columns (rows kept)", operators(() => [project()]));
bytesPerRow("Filter + Project (rows kept)", operators(() => [new FilterOperator("bench.filter", compiled("gt like '%stairs%'")), project()]));
bytesPerRow("ProjectOperator, rows stored into a ring", operatorsIntoRing(() => [project()]));
bytesPerRow("Filter + Project, rows stored into a ring", operatorsIntoRing(() => [new FilterOperator("bench.filter", compiled("gt like '%stairs%'")), project()]));
bytesPerRow("plain select, rows stored into a ring (the baseline)", plain(plainSelect));
bytesPerRow("plain filter + select, rows stored into a ring (the baseline)", plain(plainFilterSelect));
bytesPerRow("plain select, rows dropped (the old baseline)", dropped(droppedSelect));
bytesPerRow("plain filter + select, rows dropped (the old baseline)", dropped(droppedFilterSelect));
