// The hash exchange's partitioner on scenario (b)'s key (window, gt): hashed part by part (partitionerOf) against the
// key string it replaced. `node --expose-gc --min-semi-space-size=256 --max-semi-space-size=256 --import tsx bench/micro/partitioner.ts`
// Heap bytes a row (no collection runs during a measurement, as in allocations.ts) and ns a row (median of 5 slices).
import { keyGroupOf, keyOf, partitionerOf, partitionOfKeyGroup } from "../../src/core/keys.ts";
import type { Row } from "../../src/core/types.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("Run with --expose-gc (see the first line of this file).");

const activities = ["sit", "stand", "walk", "bike", "stairsup", "stairsdown", "null"];
const rows: Row[] = Array.from({ length: 1000 }, (_, index) => {
  const start = 1_700_000_000_000 + Math.floor(index / 10) * 1000;
  return { window: { start, end: start + 1000 }, gt: activities[index % activities.length] as string, x: index };
});
const columns = ["window", "gt"];
const key = keyOf(columns);
const subjects: Record<string, (row: Row) => number> = {
  "key string": (row) => partitionOfKeyGroup(keyGroupOf(key(row)), 4),
  partitionerOf: partitionerOf(columns, 4),
};

let sum = 0;
for (const [name, partitionOf] of Object.entries(subjects)) {
  for (let round = 0; round < 200; round++) for (const row of rows) sum += partitionOf(row);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let round = 0; round < 20; round++) for (const row of rows) sum += partitionOf(row);
  const bytes = (process.memoryUsage().heapUsed - before) / (20 * rows.length);
  const times: number[] = [];
  for (let slice = 0; slice < 5; slice++) {
    const start = process.hrtime.bigint();
    for (let round = 0; round < 50; round++) for (const row of rows) sum += partitionOf(row);
    times.push(Number(process.hrtime.bigint() - start) / (50 * rows.length));
  }
  times.sort((a, b) => a - b);
  console.log(`${name}: ${Math.round(bytes)} bytes a row, ${Math.round(times[2] as number)} ns a row`);
}
if (sum < 0) throw new Error("unreachable");
