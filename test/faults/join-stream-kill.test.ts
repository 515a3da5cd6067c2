// Exactly-once for stream-stream joins: a left outer join with a time range, killed with SIGKILL three times at random
// moments and restarted from its checkpoint (both sides' buffered rows, their matched marks, the watermark, both
// sources' offsets), on 3, then 2, 4 and 1 partitions, writes every joined row and every unmatched impression exactly once, as plain code computes them.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { committedLines, killSeed, runWithKills } from "../helpers/kill-runs.ts";
import { childEnvironment, useNatsServer } from "../helpers/nats.ts";

const server = useNatsServer();
const CHILD = join(import.meta.dirname, "join-stream-child.ts");
const FILES = 24;
const ROWS_PER_FILE = 60;
const MINUTE = 60_000;

interface Impression { impressionId: number; impressionAdId: number; impressionTime: number }
interface Click { clickId: number; clickAdId: number; clickTime: number }

/**
 * Times are written in seconds (cast to timestamp, as Spark casts numbers). File f of each side holds rows of the ten minutes from f * 10 minutes, in random order: no row is ever more than ten
 * minutes behind one before it on its side, less than either watermark delay, so none is late however the two sources
 * interleave (the watermark is the minimum of both). The last file of each side adds a row far ahead, on an ad of its
 * own, whose watermark releases every impression before it.
 */
function makeData(): { impressions: Impression[][]; clicks: Click[][] } {
  const random = mulberry32(1405);
  const impressions: Impression[][] = [];
  const clicks: Click[][] = [];
  let id = 0;
  for (let file = 0; file < FILES; file++) {
    const start = file * 10 * MINUTE;
    impressions.push(Array.from({ length: ROWS_PER_FILE }, () => ({ impressionId: id++, impressionAdId: Math.floor(random() * 30), impressionTime: start + Math.floor(random() * 600) * 1000 })));
    clicks.push(Array.from({ length: ROWS_PER_FILE }, () => ({ clickId: id++, clickAdId: Math.floor(random() * 30), clickTime: start + Math.floor(random() * 600) * 1000 })));
  }
  (impressions[FILES - 1] as Impression[]).push({ impressionId: id++, impressionAdId: -1, impressionTime: 1000 * 60 * MINUTE });
  (clicks[FILES - 1] as Click[]).push({ clickId: id++, clickAdId: -2, clickTime: 1000 * 60 * MINUTE });
  return { impressions, clicks };
}

async function run(folders: { impressions: string; clicks: string }, base: string, killAfterEpochs: readonly number[], random: () => number): Promise<{ output: string; midRunKills: number; finalState: number }> {
  const output = join(base, "output");
  await mkdir(output, { recursive: true });
  const checkpoint = join(base, "checkpoint");
  // Each restart joins on another number of partitions: the buffered rows move with their key groups.
  const args = (index: number) => [folders.impressions, folders.clicks, output, checkpoint, String([3, 2, 4, 1][index % 4] as number)];
  const runs = await runWithKills({ script: CHILD, args, env: childEnvironment(server()), killAfterEpochs, random });
  const done = runs.lastStdout.match(/done \d+ state (\d+)/);
  assert.ok(done, runs.lastStdout);
  return { output, midRunKills: runs.midRunKills, finalState: Number(done[1]) };
}

describe("stream-stream joins: exactly-once under SIGKILL", () => {
  let folder: string;
  const data = makeData();
  const folders = { impressions: "", clicks: "" };
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-join-stream-kill-"));
    folders.impressions = join(folder, "impressions");
    folders.clicks = join(folder, "clicks");
    await mkdir(folders.impressions);
    await mkdir(folders.clicks);
    for (let file = 0; file < FILES; file++) {
      const name = `part-${String(file).padStart(3, "0")}.json`;
      await writeFile(join(folders.impressions, name), `${(data.impressions[file] as Impression[]).map((row) => JSON.stringify({ ...row, impressionTime: row.impressionTime / 1000 })).join("\n")}\n`);
      await writeFile(join(folders.clicks, name), `${(data.clicks[file] as Click[]).map((row) => JSON.stringify({ ...row, clickTime: row.clickTime / 1000 })).join("\n")}\n`);
    }
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("a left outer join with a time range, killed three times, commits each joined row and each unmatched impression once", async () => {
    const seed = killSeed();
    const random = mulberry32(seed);
    const delays = Array.from({ length: 3 }, () => 1 + Math.floor(random() * 4));
    const killed = await run(folders, join(folder, "killed"), delays, random);
    // The JSON sink leaves null fields out, as Spark's JSON writer does.
    const rows = (await committedLines(killed.output)).map((line) => JSON.parse(line) as { impressionId: number; clickId?: number }).map((row) => `${row.impressionId}-${row.clickId ?? "null"}`);
    const impressions = data.impressions.flat();
    const clicks = data.clicks.flat();
    const expected: string[] = [];
    for (const impression of impressions) {
      const found = clicks.filter((click) => click.clickAdId === impression.impressionAdId && click.clickTime >= impression.impressionTime && click.clickTime <= impression.impressionTime + 20 * MINUTE);
      if (found.length === 0 && impression.impressionAdId !== -1) expected.push(`${impression.impressionId}-null`);
      for (const click of found) expected.push(`${impression.impressionId}-${click.clickId}`);
    }
    assert.ok(expected.some((row) => row.endsWith("-null")) && expected.some((row) => !row.endsWith("-null")), "matched and unmatched impressions both occur");
    assert.equal(rows.length, new Set(rows).size, `no row twice (killed after ${delays.join(", ")} epochs, RILL_KILL_SEED=${seed})`);
    assert.deepEqual(rows.sort(), expected.sort(), `killed after ${delays.join(", ")} epochs (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.midRunKills, delays.length, "every kill landed mid-run");
    // What is left buffered at the end: the two far rows (the impression waits for its window of clicks to pass), and
    // the clicks of the last minutes before them, which no watermark has passed yet... none: the far rows' watermark
    // passes every earlier row. Only the far rows remain.
    assert.equal(killed.finalState, 2);
  });
});
