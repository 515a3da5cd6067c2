// A parameter change and SIGKILLs on both sides of it: the restarted query replays each uncommitted epoch with the
// values recorded for it, so the committed output is exactly what the values in force at each file say.
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { committedFiles } from "../../src/connectors/sinks/files.ts";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import type { Session } from "../../src/index.ts";
import { childEnvironment, useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const CHILD = join(import.meta.dirname, "fixtures", "param-child.ts");
const ROWS_PER_FILE = 40;
const BUCKET = "params_kill";

interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  /** Resolves when stdout has shown `pattern` (counting from the start), or rejects when the child exits first. */
  waitFor(pattern: RegExp, count?: number): Promise<void>;
  readonly exited: Promise<[number | null, string | null]>;
  stderr(): string;
}

function spawnChild(base: string, mode: "continuous" | "micro-batch" = "continuous", environment: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, join(base, "input"), join(base, "output"), join(base, "checkpoint"), BUCKET, mode], { stdio: ["pipe", "pipe", "pipe"], env: { ...childEnvironment(server()), ...environment } });
  let stdout = "";
  let stderr = "";
  const waiters: Array<() => void> = [];
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    if (process.env.PARAM_DEBUG) process.stderr.write(`child: ${chunk.toString()}`);
    for (const waiter of waiters.splice(0)) waiter();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    if (process.env.PARAM_DEBUG) process.stderr.write(`child err: ${chunk.toString()}`);
  });
  const exited = new Promise<[number | null, string | null]>((resolve) => child.once("exit", (code, signal) => resolve([code, signal])));
  const waitFor = (pattern: RegExp, count = 1) => new Promise<void>((resolve, reject) => {
    const check = () => {
      if ((stdout.match(new RegExp(pattern.source, "g"))?.length ?? 0) >= count) resolve();
      else waiters.push(check);
    };
    void exited.then(([code, signal]) => reject(new Error(`child exited (${String(code)}, ${String(signal)}) before ${pattern.source}: ${stderr}`)));
    check();
  });
  return { process: child, waitFor, exited, stderr: () => stderr };
}

async function kill(child: Child): Promise<void> {
  child.process.kill("SIGKILL");
  const [, signal] = await child.exited;
  assert.equal(signal, "SIGKILL");
}

/** Files `from`..`to`, each renamed into place whole, so the source never reads half a file. */
async function writeFiles(base: string, from: number, to: number): Promise<Array<{ id: number; file: number; x: number }>> {
  const rows: Array<{ id: number; file: number; x: number }> = [];
  for (let file = from; file <= to; file++) {
    const random = mulberry32(1000 + file);
    const lines = Array.from({ length: ROWS_PER_FILE }, (_, index) => ({ id: file * ROWS_PER_FILE + index, file, x: Math.floor(random() * 1000) / 10 }));
    rows.push(...lines);
    const temporary = join(base, `part-${String(file).padStart(3, "0")}.json`);
    await writeFile(temporary, `${lines.map((line) => JSON.stringify(line)).join("\n")}\n`);
    await rename(temporary, join(base, "input", `part-${String(file).padStart(3, "0")}.json`));
  }
  return rows;
}

async function committedRows(output: string): Promise<string[]> {
  const rows: string[] = [];
  for (const file of await committedFiles(output)) {
    for (const line of (await readFile(file, "utf8")).split("\n")) if (line.trim()) rows.push(line);
  }
  return rows.sort();
}

async function newBase(name: string): Promise<string> {
  const base = join(folder, name);
  await mkdir(join(base, "input"), { recursive: true });
  await mkdir(join(base, "output"), { recursive: true });
  return base;
}

function expectedRows(rows: ReadonlyArray<{ id: number; file: number; x: number }>, thresholdOf: (file: number) => number): string[] {
  return rows.filter((row) => row.x > thresholdOf(row.file)).map((row) => JSON.stringify({ id: row.id, file: row.file, x: row.x, threshold: thresholdOf(row.file) })).sort();
}

let folder: string;

describe("a parameter change across SIGKILLs", () => {
  let session: Session;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-param-kill-"));
    session = natsSession(server().options, { "rill.params.bucket": BUCKET });
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("replays the epoch a crash cut short with the value it ran with, though the bucket changed while the query was down", { timeout: 120_000 }, async () => {
    await session.params.set("threshold", 30);
    const base = await newBase("down");
    const rows = await writeFiles(base, 0, 7);
    // Frozen just before the commit of its 4th epoch (epoch 3, which read file 3 with 30), and killed there.
    const first = spawnChild(base, "micro-batch", { RILL_CHAOS_PAUSE_AT: "before-commit:4", RILL_CHAOS_PAUSE_MS: "60000" });
    await first.waitFor(/RILL_FAULT_POINT before-commit 4/);
    await kill(first);
    await session.params.set("threshold", 50);

    const second = spawnChild(base, "micro-batch");
    await second.waitFor(/caught up/);
    second.process.stdin.end("finish\n");
    const [code] = await second.exited;
    assert.equal(code, 0, second.stderr());
    // Epochs 0-2 committed with 30; epoch 3 is replayed with the 30 its predecessor's commit recorded; 4 on use 50.
    assert.deepEqual(await committedRows(join(base, "output")), expectedRows(rows, (file) => (file <= 3 ? 30 : 50)));
  });

  it("gives the output of the values in force at each file, killed before and after a change made while it runs", { timeout: 120_000 }, async () => {
    await session.params.set("threshold", 30);
    const base = await newBase("running");
    const before = await writeFiles(base, 0, 9);

    // Killed while reading the first files, with threshold 30.
    const first = spawnChild(base);
    await first.waitFor(/epoch \d+ threshold/, 1);
    await kill(first);

    // Restarted: catches up with 30, then the threshold changes to 50 while it runs, and the new files come after.
    const second = spawnChild(base);
    await second.waitFor(/caught up/);
    await session.params.set("threshold", 50);
    second.process.stdin.write("wait-param 50\n");
    await second.waitFor(/param ready/);
    const afterChange = await writeFiles(base, 10, 19);
    const reported = (await Promise.race([second.waitFor(/epoch \d+ threshold 50/, 2).then(() => true), second.exited.then(() => false)]));
    assert.ok(reported, `the query reported no epoch with threshold 50: ${second.stderr()}`);
    await kill(second);

    // Restarted after the change: the replayed epoch and every later one use 50; the output is complete.
    const third = spawnChild(base);
    await third.waitFor(/caught up/);
    third.process.stdin.end("finish\n");
    const [code] = await third.exited;
    assert.equal(code, 0, third.stderr());

    const expected = [
      ...before.filter((row) => row.x > 30).map((row) => ({ ...row, threshold: 30 })),
      ...afterChange.filter((row) => row.x > 50).map((row) => ({ ...row, threshold: 50 })),
    ].map((row) => JSON.stringify({ id: row.id, file: row.file, x: row.x, threshold: row.threshold })).sort();
    const actual = await committedRows(join(base, "output"));
    assert.equal(actual.length, expected.length);
    assert.deepEqual(actual, expected);
  });
});
