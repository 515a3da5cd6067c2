// A streaming SQL aggregation over window(), checkpointed, SIGKILLed at random moments and restarted, gives the result of
// a run never killed and of plain code, in update and in complete mode.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runWithKills } from "../helpers/kill-runs.ts";
import { childEnvironment, useNatsServer } from "../helpers/nats.ts";

const server = useNatsServer();
const CHILD = join(import.meta.dirname, "sql-child.ts");
// One file per epoch (maxFilesPerTrigger 1): 20 epochs of input, so all three kills land before the input runs out.
const FILES = 20;
const ROWS_PER_FILE = 150;
const TEN_MINUTES = 600_000;

interface Event {
  readonly id: number;
  readonly user: string;
  readonly time: number;
  readonly x: number;
}

/** Deterministic events over ~100 minutes, a little out of order (never by more than the watermark's hour). */
function events(): Event[] {
  let seed = 1414;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  return Array.from({ length: FILES * ROWS_PER_FILE }, (_, id) => ({
    id,
    user: `u${Math.floor(random() * 5)}`,
    time: 1_700_000_000_000 + id * 2_000 - Math.floor(random() * 120_000),
    x: Math.round((random() - 0.4) * 1000) / 10,
  }));
}

function plainCounts(rows: readonly Event[]): Map<string, string> {
  const groups = new Map<string, { n: number; total: number }>();
  for (const row of rows) {
    const key = `${row.time - (row.time % TEN_MINUTES)}|${row.user}`;
    const group = groups.get(key) ?? { n: 0, total: 0 };
    group.n++;
    group.total += row.x;
    groups.set(key, group);
  }
  return new Map([...groups].map(([key, group]): [string, string] => [key, `${group.n}:${group.total.toFixed(1)}`]).sort());
}

function keyed(rows: ReadonlyArray<Record<string, unknown>>): Array<[string, string]> {
  return rows.map((row): [string, string] => [`${String(row.start)}|${String(row.user)}`, `${String(row.n)}:${(row.total as number).toFixed(1)}`]);
}

/** Update mode: every epoch's changed rows in epoch order; the last row of a key is its final value. */
async function finalUpdates(output: string): Promise<Map<string, string>> {
  const latest = new Map<string, string>();
  for (const file of (await readdir(output)).filter((name) => name.startsWith("epoch-")).sort()) {
    for (const [key, value] of keyed(JSON.parse(await readFile(join(output, file), "utf8")) as Array<Record<string, unknown>>)) latest.set(key, value);
  }
  return new Map([...latest].sort());
}

async function completeTable(output: string): Promise<Map<string, string>> {
  return new Map(keyed(JSON.parse(await readFile(join(output, "table.json"), "utf8")) as Array<Record<string, unknown>>).sort());
}

/** Runs the child to the end; the first runs are SIGKILLed after the given number of epochs (plus 0-30 ms). */
async function run(mode: string, input: string, base: string, killAfterEpochs: readonly number[]): Promise<{ output: string; kills: number }> {
  const output = join(base, "output");
  await mkdir(output, { recursive: true });
  const runs = await runWithKills({ script: CHILD, args: [mode, input, output, join(base, "checkpoint")], env: childEnvironment(server()), killAfterEpochs });
  return { output, kills: runs.kills };
}

describe("SQL window aggregation killed and restarted", () => {
  let folder: string;
  let input: string;
  const rows = events();
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-sql-restart-"));
    input = join(folder, "input");
    await mkdir(input);
    for (let file = 0; file < FILES; file++) {
      const lines = rows.slice(file * ROWS_PER_FILE, (file + 1) * ROWS_PER_FILE).map((row) => JSON.stringify(row));
      await writeFile(join(input, `part-${String(file).padStart(3, "0")}.json`), `${lines.join("\n")}\n`);
    }
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  for (const mode of ["update", "complete"] as const) {
    it(`${mode} mode: three SIGKILLs mid-run, then the same table as an undisturbed run and as plain code`, async () => {
      const read = mode === "update" ? finalUpdates : completeTable;
      const undisturbed = await run(mode, input, join(folder, `${mode}-clean`), []);
      const killed = await run(mode, input, join(folder, `${mode}-killed`), [2, 2, 2]);
      assert.equal(killed.kills, 3, "every kill landed before the input ran out");
      const expected = plainCounts(rows);
      assert.ok(expected.size > 40, `enough windows and users to mean something (${expected.size})`);
      assert.deepEqual(await read(undisturbed.output), expected);
      assert.deepEqual(await read(killed.output), expected);
    });
  }
});
