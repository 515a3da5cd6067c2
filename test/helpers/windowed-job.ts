// The windowed job the worker tests run (test/workers/job.ts: 1-minute windows per user, a 30-second watermark, the
// JSON file sink): its input rows and the plain-code oracle of its committed output.
import { committedLines } from "./kill-runs.ts";

export interface WindowEvent {
  readonly id: number;
  readonly user: string;
  readonly time: number;
  readonly x: number;
}

/** Plain code: 1-minute windows per user, emitted once the final watermark (latest time minus 30 s) passed their end. */
export function windowOracle(rows: readonly WindowEvent[]): string[] {
  const watermark = Math.max(...rows.map((row) => row.time)) - 30_000;
  const windows = new Map<string, { user: string; start: number; end: number; n: number; total: number }>();
  for (const row of rows) {
    const start = row.time - (row.time % 60_000);
    const window = windows.get(`${row.user}/${start}`) ?? { user: row.user, start, end: start + 60_000, n: 0, total: 0 };
    window.n++;
    window.total += row.x;
    windows.set(`${row.user}/${start}`, window);
  }
  return [...windows.values()].filter((window) => window.end <= watermark).map((window) => JSON.stringify(window)).sort();
}

/** The file sink's committed rows in `output`, each re-serialized (so key order is the writer's), sorted. */
export async function committedWindowRows(output: string): Promise<string[]> {
  return (await committedLines(output)).map((line) => JSON.stringify(JSON.parse(line))).sort();
}
