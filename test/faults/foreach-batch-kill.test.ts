// foreachBatch with a checkpoint location SIGKILLed at the two points of an epoch's delivery: after the function's call
// (the epoch committed, `_delivered.json` not written) and between the barrier's preparation and the commit. The child
// (hostile/foreach-batch-child.ts) skips epoch ids it has written and logs every call to `calls.jsonl`.
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { unpack } from "msgpackr";
import { runWithKills } from "../helpers/kill-runs.ts";
import { childEnvironment, useNatsServer } from "../helpers/nats.ts";
import { useTempFolder } from "../helpers/temp-folder.ts";

const server = useNatsServer();
const CHILD = join(import.meta.dirname, "hostile", "foreach-batch-child.ts");
const ROWS_PER_FILE = 100;

interface Call {
  readonly epochId: number;
  readonly ids: number[];
}

async function addFiles(input: string, from: number, to: number): Promise<void> {
  for (let file = from; file < to; file++) {
    const lines = Array.from({ length: ROWS_PER_FILE }, (_, index) => JSON.stringify({ id: file * ROWS_PER_FILE + index, user: `u${index % 5}` }));
    await writeFile(join(input, `part-${String(file).padStart(3, "0")}.json`), `${lines.join("\n")}\n`);
  }
}

/** A test's input and output folders (made) and its checkpoint location, under `base`. */
async function runFolders(base: string): Promise<{ input: string; output: string; checkpoint: string }> {
  const input = join(base, "input");
  const output = join(base, "output");
  await mkdir(input, { recursive: true });
  await mkdir(output);
  return { input, output, checkpoint: join(base, "checkpoint") };
}

async function readCalls(output: string): Promise<Call[]> {
  const text = await readFile(join(output, "calls.jsonl"), "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return "";
    throw error;
  });
  return text.split("\n").filter((line) => line.trim()).map((line) => JSON.parse(line) as Call);
}

/** The foreachBatch sink's preparation folder and the .msgpack files in it. */
async function preparations(checkpoint: string): Promise<{ folder: string; files: string[] }> {
  const sinks = join(checkpoint, "sinks");
  const name = (await readdir(sinks)).find((entry) => entry.startsWith("foreachBatch-"));
  assert.ok(name, `a foreachBatch folder under ${sinks}`);
  const folder = join(sinks, name);
  return { folder, files: (await readdir(folder)).filter((entry) => entry.endsWith(".msgpack")).sort() };
}

/** Every row id the child wrote, checked to be 0..total-1 once each. */
async function assertEveryRowOnce(output: string, total: number): Promise<void> {
  const ids: number[] = [];
  for (const name of (await readdir(output)).filter((entry) => entry.endsWith(".json"))) ids.push(...(JSON.parse(await readFile(join(output, name), "utf8")) as number[]));
  ids.sort((a, b) => a - b);
  assert.deepEqual(ids, Array.from({ length: total }, (_, id) => id), "every input row written exactly once");
}

describe("foreachBatch with a checkpoint location killed around an epoch's delivery", () => {
  const folder = useTempFolder("rill-foreach-batch-kill-");

  it("calls the function again with the same epoch id and exactly the same rows when the crash came after its call", async () => {
    const { input, output, checkpoint } = await runFolders(join(folder(), "after-call"));
    await addFiles(input, 0, 3);
    let firstRunCalls: Call[] = [];
    const runs = await runWithKills({
      script: CHILD, args: [input, output, checkpoint], env: childEnvironment(server()),
      killAfterEpochs: [{ faultPoint: "foreach-batch-called:1" }],
      beforeLastRun: async () => {
        firstRunCalls = await readCalls(output);
        await addFiles(input, 3, 6);
      },
    });
    assert.equal(runs.kills, 1);
    assert.equal(firstRunCalls.length, 1, "the first run was killed right after its first call");
    const [first] = firstRunCalls as [Call];
    assert.ok(first.ids.length > 0);
    const calls = await readCalls(output);
    assert.deepEqual(calls[1], first, "the restart calls the function again first, with the same epoch id and the same rows");
    assert.deepEqual(calls.slice(2).filter((call) => call.epochId <= first.epochId), [], "no other call repeats or precedes that epoch");
    await assertEveryRowOnce(output, 6 * ROWS_PER_FILE);
    assert.deepEqual((await preparations(checkpoint)).files, [], "every preparation is removed once delivered");
  });

  it("never calls the function with an epoch prepared but not committed: the restart forms it again and calls once", async () => {
    const { input, output, checkpoint } = await runFolders(join(folder(), "before-commit"));
    await addFiles(input, 0, 3);
    let firstRunCalls: Call[] = [];
    let prepared: Array<{ epoch: number; rows: number }> = [];
    const runs = await runWithKills({
      script: CHILD, args: [input, output, checkpoint], env: childEnvironment(server()),
      killAfterEpochs: [{ faultPoint: "before-commit:1" }],
      beforeLastRun: async () => {
        firstRunCalls = await readCalls(output);
        const { folder: sinkFolder, files } = await preparations(checkpoint);
        prepared = await Promise.all(files.map(async (name) => ({ epoch: Number(name.slice(0, 12)), rows: (unpack(await readFile(join(sinkFolder, name))) as { rows: unknown[] }).rows.length })));
        await addFiles(input, 3, 6);
      },
    });
    assert.equal(runs.kills, 1);
    assert.deepEqual(firstRunCalls, [], "the first run never called the function: its epoch was not committed");
    assert.equal(prepared.length, 1, `the first run prepared its first epoch durably at the barrier: ${JSON.stringify(prepared)}`);
    assert.ok((prepared[0] as { rows: number }).rows > 0);
    const calls = await readCalls(output);
    const epochIds = calls.map((call) => call.epochId);
    assert.deepEqual(epochIds, [...new Set(epochIds)].sort((a, b) => a - b), "each epoch id is called once, in order");
    await assertEveryRowOnce(output, 6 * ROWS_PER_FILE);
    assert.deepEqual((await preparations(checkpoint)).files, [], "the uncommitted preparation is discarded and the rest delivered");
  });
});
