// Exactly-once with workers: a windowed aggregation on three local worker processes, a random worker SIGKILLed again and
// again while it runs, ends with exactly the committed rows of a run on one process, and of plain code.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { committedFiles } from "../../src/connectors/sinks/files.ts";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { childEnvironment, useNatsServer } from "../helpers/nats.ts";

const server = useNatsServer();
const DRIVER = join(import.meta.dirname, "driver-child.ts");
const FILES = 60;
const ROWS_PER_FILE = 100;
const USERS = 5;
const START = Date.UTC(2026, 0, 1);
const KILLS = 12;

interface Event {
  readonly id: number;
  readonly user: string;
  readonly time: number;
  readonly x: number;
}

function events(): Event[] {
  const random = mulberry32(12);
  return Array.from({ length: FILES * ROWS_PER_FILE }, (_, id) => ({ id, user: `u${Math.floor(random() * USERS)}`, time: START + id * 1000 + Math.floor(random() * 20_000), x: Math.floor(random() * 100) - 20 }));
}

async function writeInput(folder: string, rows: readonly Event[]): Promise<void> {
  for (let file = 0; file < FILES; file++) {
    const lines = rows.slice(file * ROWS_PER_FILE, (file + 1) * ROWS_PER_FILE).map((row) => JSON.stringify({ ...row, time: new Date(row.time).toISOString() }));
    await writeFile(join(folder, `part-${String(file).padStart(3, "0")}.json`), `${lines.join("\n")}\n`);
  }
}

/** Plain code: 1-minute windows per user, emitted once the watermark (latest time minus 30 s) passed their end. */
function oracle(rows: readonly Event[]): string[] {
  const watermark = Math.max(...rows.map((row) => row.time)) - 30_000;
  const windows = new Map<string, { user: string; start: number; end: number; n: number; total: number }>();
  for (const row of rows) {
    const start = row.time - (row.time % 60_000);
    const key = `${row.user}/${start}`;
    const window = windows.get(key) ?? { user: row.user, start, end: start + 60_000, n: 0, total: 0 };
    window.n++;
    window.total += row.x;
    windows.set(key, window);
  }
  return [...windows.values()].filter((window) => window.end <= watermark).map((window) => JSON.stringify(window)).sort();
}

async function committedRows(output: string): Promise<string[]> {
  const rows: string[] = [];
  for (const file of await committedFiles(output)) {
    for (const line of (await readFile(file, "utf8")).split("\n")) if (line.trim()) rows.push(JSON.stringify(JSON.parse(line)));
  }
  return rows.sort();
}

interface Run {
  readonly output: string;
  readonly kills: number;
  readonly recoveries: number;
  readonly stderr: string;
}

/** Runs the driver to the end; with `kill`, SIGKILLs a random worker hosting actors each time the driver reports a new epoch after the last kill. */
async function run(workers: string, input: string, base: string, kill?: { readonly times: number; readonly random: () => number }): Promise<Run> {
  const output = join(base, "output");
  await mkdir(output, { recursive: true });
  const env = { ...childEnvironment(server()), RILL_JOB_INPUT: input, RILL_JOB_OUTPUT: output, RILL_JOB_CHECKPOINT: join(base, "checkpoint") };
  const child = spawn(process.execPath, ["--import", "tsx", DRIVER, workers], { stdio: ["ignore", "pipe", "pipe"], env });
  let stdout = "";
  let stderr = "";
  let kills = 0;
  let epochsAtLastKill = 0;
  const killed = new Set<number>();
  let pending: NodeJS.Timeout | undefined;
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    if (!kill || kills >= kill.times || pending) return;
    const epochs = stdout.match(/^epoch \d+$/gm)?.length ?? 0;
    const workerLines = stdout.match(/^workers .*$/gm) ?? [];
    const pids = (workerLines[workerLines.length - 1] ?? "").split(" ").slice(1).map((entry) => Number(entry.split("=")[1])).filter((pid) => pid > 0 && !killed.has(pid));
    if (epochs <= epochsAtLastKill || pids.length === 0) return;
    const pid = pids[Math.floor(kill.random() * pids.length)] as number;
    pending = setTimeout(() => {
      pending = undefined;
      try {
        process.kill(pid, "SIGKILL");
        killed.add(pid);
        kills++;
        epochsAtLastKill = stdout.match(/^epoch \d+$/gm)?.length ?? 0;
      } catch (error) {
        // The worker exited on its own meanwhile (it was being replaced): no kill to count.
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
      }
    }, Math.floor(kill.random() * 40));
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(pending);
  if (process.env.RILL_WORKERS_LOG) await writeFile(`${process.env.RILL_WORKERS_LOG}-${workers}.log`, stderr);
  assert.equal(code, 0, `the driver failed:\n${stderr.slice(-4000)}`);
  assert.match(stdout, /^done \d+$/m);
  return { output, kills, recoveries: Number(/^recoveries (\d+)$/m.exec(stdout)?.[1] ?? -1), stderr };
}

describe("workers under SIGKILL", () => {
  let folder: string;
  let input: string;
  const rows = events();
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-workers-kill-"));
    input = join(folder, "input");
    await mkdir(input);
    await writeInput(input, rows);
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it(`a windowed aggregation on 3 worker processes, a random worker SIGKILLed ${KILLS} times, commits the rows of a run on one process, once each`, { timeout: 600_000 }, async () => {
    const expected = oracle(rows);
    assert.ok(expected.length > 100, `the oracle has windows to compare: ${expected.length}`);
    const reference = await run("local", input, join(folder, "reference"));
    const referenceRows = await committedRows(reference.output);
    assert.deepEqual(referenceRows, expected, "the run on one process gives the oracle's windows");
    const seed = Number(process.env.RILL_KILL_SEED ?? Date.now() % 100_000);
    const killed = await run("3", input, join(folder, "killed"), { times: KILLS, random: mulberry32(seed) });
    const killedRows = await committedRows(killed.output);
    assert.equal(new Set(killedRows).size, killedRows.length, "no row committed twice");
    assert.deepEqual(killedRows, referenceRows, `killed ${killed.kills} times (RILL_KILL_SEED=${seed})`);
    assert.ok(killed.kills >= 10, `at least 10 workers hosting actors killed mid-run, not ${killed.kills} (RILL_KILL_SEED=${seed})`);
    // A kill rolls the query back, or lands while the rollback of the kill before is still under way (an epoch's line
    // can be printed just after the kill that follows it) and is absorbed by that rollback's placement.
    assert.ok(killed.recoveries >= Math.ceil(killed.kills / 2), `the kills of workers hosting actors rolled the query back: ${killed.recoveries} recoveries for ${killed.kills} kills`);
  });
});
