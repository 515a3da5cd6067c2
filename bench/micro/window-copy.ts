// What a windowed row costs to build: `{ ...row, [column]: window }` against rowExtender, on activity rows with their
// event time. `node --expose-gc --min-semi-space-size=256 --max-semi-space-size=256 --import tsx bench/micro/window-copy.ts`
// Heap bytes a row (no collection runs during a measurement, as in allocations.ts) and ns a row (wall clock, median of 5).
import { generateActivity } from "../../src/connectors/sources/activity.ts";
import type { Row } from "../../src/core/types.ts";
import { rowExtender } from "../../src/operators/row-extender.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("Run with --expose-gc (see the first line of this file).");

const rows = (generateActivity({ seed: 1, count: 1000, rowsPerSecond: 10_000, startMs: 1_700_000_000_000 }) as unknown as Row[])
  .map((row) => ({ ...row, event_time: Number(row.Creation_Time) / 1e6 }));
const column = "window";
const windowOf = (row: Row) => ({ start: row.event_time as number, end: (row.event_time as number) + 1000 });
const subjects: Record<string, (row: Row) => Row> = {
  spread: (row) => ({ ...row, [column]: windowOf(row) }),
  rowExtender: ((extend) => (row: Row) => extend(row, windowOf(row)))(rowExtender(column)),
};

let kept: Row | undefined;
for (const [name, build] of Object.entries(subjects)) {
  for (let round = 0; round < 200; round++) for (const row of rows) kept = build(row);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let round = 0; round < 20; round++) for (const row of rows) kept = build(row);
  const bytes = (process.memoryUsage().heapUsed - before) / (20 * rows.length);
  const times: number[] = [];
  for (let slice = 0; slice < 5; slice++) {
    const start = process.hrtime.bigint();
    for (let round = 0; round < 50; round++) for (const row of rows) kept = build(row);
    times.push(Number(process.hrtime.bigint() - start) / (50 * rows.length));
  }
  times.sort((a, b) => a - b);
  console.log(`${name}: ${Math.round(bytes)} bytes a row, ${Math.round(times[2] as number)} ns a row`);
}
if (kept === undefined) throw new Error("nothing built");
