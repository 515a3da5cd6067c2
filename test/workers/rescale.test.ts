// Rescaling across restarts: a windowed aggregation stopped and started again on its checkpoint with 2, then 3, then 1
// shuffle partitions (and 1, 2, then 1 processes) commits the windows of a run that never rescaled, and of plain code:
// the state is kept by key group, and each restart deals the key groups over the partitions it has.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runJob, Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { committedWindowRows, type WindowEvent, windowOracle } from "../helpers/windowed-job.ts";

const server = useNatsServer();
const JOB = join(import.meta.dirname, "job.ts");
const START = Date.UTC(2026, 0, 1);
const FILES_PER_PHASE = 4;
const ROWS_PER_FILE = 60;

type Event = WindowEvent;

const rows: Event[] = Array.from({ length: 3 * FILES_PER_PHASE * ROWS_PER_FILE }, (_, id) => ({ id, user: `u${(id * 7) % 9}`, time: START + id * 900 + ((id * 104_729) % 20_000), x: (id * 13) % 17 - 5 }));

/** Adds phase `phase`'s files to the input folder. */
async function writePhase(input: string, phase: number): Promise<void> {
  for (let file = phase * FILES_PER_PHASE; file < (phase + 1) * FILES_PER_PHASE; file++) {
    const lines = rows.slice(file * ROWS_PER_FILE, (file + 1) * ROWS_PER_FILE).map((row) => JSON.stringify({ ...row, time: new Date(row.time).toISOString() }));
    await writeFile(join(input, `part-${String(file).padStart(3, "0")}.json`), `${lines.join("\n")}\n`);
  }
}

/** Three phases, each a new session on the same checkpoint: `partitions[i]` shuffle partitions, `workers[i]` (rill.workers). */
async function runPhases(base: string, partitions: readonly number[], workers: readonly string[]): Promise<string[]> {
  const input = join(base, "input");
  const output = join(base, "output");
  await mkdir(input, { recursive: true });
  await mkdir(output, { recursive: true });
  process.env.RILL_JOB_INPUT = input;
  process.env.RILL_JOB_OUTPUT = output;
  process.env.RILL_JOB_CHECKPOINT = join(base, "checkpoint");
  for (let phase = 0; phase < 3; phase++) {
    await writePhase(input, phase);
    const config = new Map([["rill.shuffle.partitions", String(partitions[phase])], ["rill.workers", workers[phase] as string], ["rill.workers.job", JOB], ["rill.recovery.maxRetries", "5"]]);
    const session = new Session(`rescale-${phase}`, config, server().options, () => undefined);
    try {
      const [query] = await runJob(session, JOB);
      assert.ok(query);
      await query.processAllAvailable();
      assert.match(query.explain(), new RegExp(`s1-aggregate {2}x${partitions[phase]} `), `phase ${phase} runs ${partitions[phase]} aggregate partitions`);
      const aggregate = [...query.placements().keys()].filter((actor) => actor.startsWith("s1-")).length;
      if (workers[phase] !== "local") assert.equal(aggregate, partitions[phase], `phase ${phase}: ${partitions[phase]} aggregate partitions placed`);
      await query.stop();
    } finally {
      await session.stop();
    }
  }
  return await committedWindowRows(output);
}

describe("rescaling across restarts", () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-rescale-"));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("2 -> 3 -> 1 shuffle partitions in one process commits the windows of a run that never rescaled", { timeout: 180_000 }, async () => {
    const expected = windowOracle(rows);
    assert.ok(expected.length > 50, `windows to compare: ${expected.length}`);
    const steady = await runPhases(join(folder, "steady"), [2, 2, 2], ["local", "local", "local"]);
    assert.deepEqual(steady, expected, "the run that never rescaled gives plain code's windows");
    const rescaled = await runPhases(join(folder, "rescaled"), [2, 3, 1], ["local", "local", "local"]);
    assert.equal(new Set(rescaled).size, rescaled.length, "no window committed twice");
    assert.deepEqual(rescaled, steady);
  });

  it("2 -> 3 -> 1 shuffle partitions on 1, then 2, then 1 worker processes commits the same windows", { timeout: 240_000 }, async () => {
    const rescaled = await runPhases(join(folder, "workers"), [2, 3, 1], ["1", "2", "1"]);
    assert.equal(new Set(rescaled).size, rescaled.length, "no window committed twice");
    assert.deepEqual(rescaled, windowOracle(rows));
  });
});
