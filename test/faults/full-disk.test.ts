// A full disk never ends the process: a failed checkpoint write fails the epoch, the query rolls back and retries with
// back-off, and once there is room it goes on, exactly once. The query runs in a child process under
// --unhandled-rejections=strict, on a 2 MB tmpfs (mounting needs root: without it the tests skip, saying so).
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcessByStdio } from "node:child_process";
import { mkdir, mkdtemp, open, rm, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { after, before, describe, it, type TestContext } from "node:test";
import { childEnvironment, useNatsServer } from "../helpers/nats.ts";

const server = useNatsServer();
const CHILD = join(import.meta.dirname, "full-disk-child.ts");
const ROWS_PER_FILE = 300;
/** Children still running when the file ends (a failed test): killed before the tmpfs is unmounted. */
const running = new Set<ChildProcessByStdio<null, Readable, Readable>>();

interface Run {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves when stdout has matched `pattern`. */
  readonly saw: (pattern: RegExp) => Promise<void>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function runQuery(input: string, checkpoint: string): Run {
  const child = spawn(process.execPath, ["--unhandled-rejections=strict", "--import", "tsx", CHILD, input, checkpoint], { stdio: ["ignore", "pipe", "pipe"], env: childEnvironment(server()) });
  let stdout = "";
  let stderr = "";
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of waiters.filter((candidate) => candidate.pattern.test(stdout))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  running.add(child);
  child.once("exit", () => running.delete(child));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal, stdout, stderr })));
  const saw = (pattern: RegExp): Promise<void> => {
    if (pattern.test(stdout)) return Promise.resolve();
    const seen = new Promise<void>((resolve) => waiters.push({ pattern, resolve }));
    // The child ending first is a failure of the test, reported with its output.
    return Promise.race([seen, exit.then((outcome) => assert.fail(`the child ended (code ${outcome.code}, signal ${outcome.signal}) before printing ${pattern}: ${outcome.stdout} ${outcome.stderr}`))]);
  };
  return { child, saw, exit };
}

/** Fills the file system of `file`'s folder until about `leave` bytes are free (or ENOSPC). */
async function fill(file: string, leave: number): Promise<void> {
  const handle = await open(file, "w");
  const chunk = Buffer.alloc(16 * 1024, 1);
  try {
    for (;;) {
      const { bavail, bsize } = await statfs(file);
      if (bavail * bsize <= leave) return;
      await handle.write(chunk, 0, Math.min(chunk.length, bavail * bsize - leave));
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    await handle.close();
  }
}

async function writeInput(input: string, file: number): Promise<void> {
  const lines = Array.from({ length: ROWS_PER_FILE }, (_, index) => JSON.stringify({ id: file * ROWS_PER_FILE + index, x: index }));
  await writeFile(join(input, `part-${String(file).padStart(3, "0")}.json`), `${lines.join("\n")}\n`);
}

function assertNoCrash(outcome: { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }): void {
  assert.equal(outcome.signal, null, `the process died of ${outcome.signal}: ${outcome.stderr}`);
  assert.doesNotMatch(outcome.stderr, /unhandled|Commit failed \(see commitError/i, "no unhandled rejection reached the process");
  assert.equal(outcome.code, 0, `the query finished: ${outcome.stdout} ${outcome.stderr}`);
}

describe("a full disk under the checkpoint", () => {
  let folder: string;
  let disk: string;
  let input: string;
  let skip: string | undefined;

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-full-disk-"));
    disk = join(folder, "disk");
    input = join(folder, "input");
    await mkdir(disk);
    await mkdir(input);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", disk], { stdio: "pipe" });
    } catch (error) {
      skip = `cannot mount a 2 MB tmpfs to fill (needs root): ${String(error).split("\n")[0]}`;
    }
  });
  after(async () => {
    for (const child of running) child.kill("SIGKILL");
    await Promise.all([...running].map((child) => new Promise((resolve) => child.once("exit", resolve))));
    if (!skip) execFileSync("umount", [disk]);
    await rm(folder, { recursive: true, force: true });
  });

  function skipped(t: TestContext): boolean {
    if (skip) t.skip(skip);
    return skip !== undefined;
  }

  it("fails the epoch, rolls back and retries while the disk is full, then goes on exactly once when there is room", async (t) => {
    if (skipped(t)) return;
    for (let file = 0; file < 6; file++) await writeInput(input, file);
    const ballast = join(disk, "ballast");
    await fill(ballast, 96 * 1024);
    const run = runQuery(input, join(disk, "checkpoint"));
    await run.saw(/rill: query .* failed \(.*Cannot write .* to the checkpoint location .*bytes free on its file system.*rolling back .*retry 1;/);
    await run.saw(/retry 2;/);
    await rm(ballast);
    const outcome = await run.exit;
    assertNoCrash(outcome);
    assert.match(outcome.stdout, new RegExp(`^ok ${6 * ROWS_PER_FILE} in ${6 * ROWS_PER_FILE} groups after [1-9]\\d* recoveries$`, "m"));
  });

  it("restarted on a full disk, it waits for room instead of dying, then reads the new files once", async (t) => {
    if (skipped(t)) return;
    for (let file = 6; file < 9; file++) await writeInput(input, file);
    const ballast = join(disk, "ballast-2");
    await fill(ballast, 0);
    const run = runQuery(input, join(disk, "checkpoint"));
    await run.saw(/Cannot write .* to the checkpoint location .*retry 2;/);
    await rm(ballast);
    const outcome = await run.exit;
    assertNoCrash(outcome);
    assert.match(outcome.stdout, new RegExp(`^ok ${9 * ROWS_PER_FILE} in ${9 * ROWS_PER_FILE} groups after [1-9]\\d* recoveries$`, "m"));
  });
});
