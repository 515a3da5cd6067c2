// Hostile: stateful queries SIGKILLed at random moments and restarted each time with another number of shuffle
// partitions (3, then 1, 5, 2, 4 in a seeded order), so a run restores key groups another partitioning wrote, and a
// replayed epoch's rows go to other partitions than the first time. ARCHITECTURE's invariants promise "a restart may
// change the parallelism"; the output must still be that of a run never killed nor rescaled: each closed window once
// (append mode with a watermark), each first occurrence once (dropDuplicates), each key's running state exact
// (mapGroupsWithState).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { mulberry32 } from "../../../src/connectors/sources/activity.ts";
import { committedLines, killSeed, runWithKills } from "../../helpers/kill-runs.ts";
import { childEnvironment, useNatsServer } from "../../helpers/nats.ts";

const server = useNatsServer();
const CHILD = join(import.meta.dirname, "rescale-child.ts");
const FILES = 24;
const ROWS_PER_FILE = 250;

async function writeInput(folder: string): Promise<void> {
  const random = mulberry32(2031);
  for (let file = 0; file < FILES; file++) {
    const lines = Array.from({ length: ROWS_PER_FILE }, (_, index) => JSON.stringify({ id: file * ROWS_PER_FILE + index, user: `u${Math.floor(random() * 7)}`, x: Math.round((random() - 0.4) * 300) / 10 }));
    await writeFile(join(folder, `part-${String(file).padStart(3, "0")}.json`), `${lines.join("\n")}\n`);
  }
}

/** Partition counts of the killed runs and the last one: another count at every restart. */
function partitionPlan(random: () => number, runs: number): number[] {
  const counts = [3];
  while (counts.length < runs) {
    const choices = [1, 2, 3, 4, 5].filter((count) => count !== counts[counts.length - 1]);
    counts.push(choices[Math.floor(random() * choices.length)] as number);
  }
  return counts;
}

/**
 * A run planned to be killed after n epochs ends by itself when fewer than n epochs of input are left (a late run of
 * the plan after the earlier ones read most files), and the plan's later kills then never come: at least two kills must
 * have landed mid-run, each restart on another partition count, for the attack to count.
 */
function assertKilledMidRun(midRunKills: number, planned: number, note: string): void {
  assert.ok(midRunKills >= 2 && midRunKills <= planned, `${midRunKills} of ${planned} planned kills landed mid-run: ${note}`);
}

describe("hostile: kills with a changed parallelism at every restart", () => {
  let folder: string;
  let input: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-hostile-rescale-"));
    input = join(folder, "input");
    await mkdir(input);
    await writeInput(input);
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  async function runMode(mode: string, name: string, kills: number[], partitions: readonly number[], random?: () => number): Promise<{ output: string; kills: number; midRunKills: number }> {
    const output = join(folder, name, "output");
    await mkdir(output, { recursive: true });
    const checkpoint = join(folder, name, "checkpoint");
    const runs = await runWithKills({ script: CHILD, args: (run) => [mode, input, output, checkpoint, String(partitions[run] ?? 3)], env: childEnvironment(server()), killAfterEpochs: kills, random });
    return { output, ...runs };
  }

  async function attack(mode: string, offset: number): Promise<{ expected: string[]; got: string[]; note: string; midRunKills: number; kills: number }> {
    const reference = await runMode(mode, `${mode}-reference`, [], [3]);
    const seed = killSeed() + offset;
    const random = mulberry32(seed);
    const kills = Array.from({ length: 4 }, () => 1 + Math.floor(random() * 5));
    const partitions = partitionPlan(random, kills.length + 1);
    const killed = await runMode(mode, `${mode}-killed`, kills, partitions, random);
    const read = async (output: string) => (mode === "group-state" ? (JSON.parse(await readFile(join(output, "table.json"), "utf8")) as Array<Record<string, unknown>>).map((row) => JSON.stringify({ ...row, total: Math.round((row.total as number) * 10) / 10 })) : await committedLines(output)).sort();
    const note = `partitions ${partitions.join(" -> ")}, killed after ${kills.join(", ")} epochs (RILL_KILL_SEED=${seed - offset})`;
    return { expected: await read(reference.output), got: await read(killed.output), note, midRunKills: killed.midRunKills, kills: kills.length };
  }

  it("an event-time window aggregation in append mode writes each closed window once", async () => {
    const { expected, got, note, midRunKills, kills } = await attack("window-append", 0);
    console.log(note);
    assert.ok(expected.length > 300, `most windows closed: ${expected.length}`);
    assert.equal(new Set(got).size, got.length, `no window written twice: ${note}`);
    assert.deepEqual(got, expected, note);
    assertKilledMidRun(midRunKills, kills, note);
  });

  it("dropDuplicates writes each first occurrence once", async () => {
    const { expected, got, note, midRunKills, kills } = await attack("dedupe", 1);
    console.log(note);
    assert.ok(expected.length > 1000 && expected.length < FILES * ROWS_PER_FILE, `the input has duplicates and distinct rows: ${expected.length}`);
    assert.deepEqual(got, expected, note);
    assertKilledMidRun(midRunKills, kills, note);
  });

  it("mapGroupsWithState keeps each key's exact running state", async () => {
    const { expected, got, note, midRunKills, kills } = await attack("group-state", 2);
    console.log(note);
    assert.equal(expected.length, 7);
    assert.deepEqual(got, expected, note);
    assertKilledMidRun(midRunKills, kills, note);
  });
});
