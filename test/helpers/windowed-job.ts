// The windowed job the worker tests run (test/workers/job.ts: 1-minute windows per user, a 30-second watermark, the
// JSON file sink): its input rows and the plain-code oracle of its committed output.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
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

/** The worker tests' input: row `id` is user `u<id % 3>`, 2 s after the previous one from 2026-01-01, x = id % 7. */
export const WINDOW_START = Date.UTC(2026, 0, 1);
export const ROWS_PER_FILE = 50;

export function windowEvents(files: number): WindowEvent[] {
  return Array.from({ length: files * ROWS_PER_FILE }, (_, id) => ({ id, user: `u${id % 3}`, time: WINDOW_START + id * 2000, x: id % 7 }));
}

/** Files `from` to `to - 1` of that input, as JSON lines (`part-NNN.json`, ROWS_PER_FILE rows each). */
export async function writeWindowFiles(folder: string, from: number, to: number): Promise<void> {
  for (let file = from; file < to; file++) {
    const lines = Array.from({ length: ROWS_PER_FILE }, (_, index) => {
      const id = file * ROWS_PER_FILE + index;
      return JSON.stringify({ id, user: `u${id % 3}`, time: new Date(WINDOW_START + id * 2000).toISOString(), x: id % 7 });
    });
    await writeFile(join(folder, `part-${String(file).padStart(3, "0")}.json`), `${lines.join("\n")}\n`);
  }
}

/** Plain code's windows for the first `files` files of that input. */
export function expectedWindowFiles(files: number): string[] {
  return windowOracle(windowEvents(files));
}
