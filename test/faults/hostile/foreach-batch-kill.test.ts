// Hostile: foreachBatch with Spark's exactly-once idiom (skip an epoch id already written), the process SIGKILLed
// frozen right before the first commit, and more input arriving while it is down. In Spark a batch's offsets are
// written to the offset log before the batch runs, so a replay of batch N reads exactly the rows of the first try and
// de-duplicating on the batch id is exact. README promises "an epoch may come again with the same epochId", and tells
// the user to make fn idempotent on it.
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runWithKills } from "../../helpers/kill-runs.ts";
import { childEnvironment, useNatsServer } from "../../helpers/nats.ts";
import { useTempFolder } from "../../helpers/temp-folder.ts";

const server = useNatsServer();
const CHILD = join(import.meta.dirname, "foreach-batch-child.ts");
const ROWS_PER_FILE = 100;

async function addFiles(input: string, from: number, to: number): Promise<void> {
  for (let file = from; file < to; file++) {
    const lines = Array.from({ length: ROWS_PER_FILE }, (_, index) => JSON.stringify({ id: file * ROWS_PER_FILE + index, user: `u${index % 5}` }));
    await writeFile(join(input, `part-${String(file).padStart(3, "0")}.json`), `${lines.join("\n")}\n`);
  }
}

describe("hostile: foreachBatch de-duplicated on the epoch id across a crash", () => {
  const folder = useTempFolder("rill-hostile-foreach-batch-");

  it("writes every input row once when the function skips epoch ids it wrote before", async () => {
    const input = join(folder(), "input");
    const output = join(folder(), "output");
    await mkdir(input);
    await mkdir(output);
    await addFiles(input, 0, 3);
    // The first run is frozen at its first commit (its first epoch already handed to the function) and killed; files
    // arrive while it is down; the second run replays that epoch from the start and runs to the end.
    const runs = await runWithKills({
      script: CHILD, args: [input, output, join(folder(), "checkpoint")], env: childEnvironment(server()),
      killAfterEpochs: [{ faultPoint: "before-commit:1" }], beforeLastRun: () => addFiles(input, 3, 6),
    });
    assert.equal(runs.kills, 1);
    const ids: number[] = [];
    for (const name of (await readdir(output)).filter((entry) => entry.endsWith(".json"))) ids.push(...(JSON.parse(await readFile(join(output, name), "utf8")) as number[]));
    ids.sort((a, b) => a - b);
    assert.equal(new Set(ids).size, ids.length, "no row written twice");
    const missing = Array.from({ length: 6 * ROWS_PER_FILE }, (_, id) => id).filter((id) => !ids.includes(id));
    assert.deepEqual(missing.length === 0 ? [] : [`${missing.length} rows missing, ids ${missing[0]}..${missing[missing.length - 1]}`], [], `epoch files: ${(await readdir(output)).join(", ")}; last run: ${runs.lastStdout.replaceAll("\n", " | ")}`);
  });
});
