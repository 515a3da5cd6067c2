// Exactly-once, proved: a query killed with SIGKILL at random moments and restarted gives the output of a run never killed.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { committedLines, type KilledRuns, killSeed, runWithKills } from "../helpers/kill-runs.ts";
import { childEnvironment, useNatsServer } from "../helpers/nats.ts";

const server = useNatsServer();
const CHILD = join(import.meta.dirname, "child-query.ts");
const FILES = 24;
const ROWS_PER_FILE = 250;

interface Run extends KilledRuns {
  readonly output: string;
}

async function writeInput(folder: string): Promise<void> {
  const random = mulberry32(2026);
  for (let file = 0; file < FILES; file++) {
    const lines = Array.from({ length: ROWS_PER_FILE }, (_, index) => JSON.stringify({ id: file * ROWS_PER_FILE + index, user: `u${Math.floor(random() * 7)}`, x: Math.round((random() - 0.4) * 1000) / 10 }));
    await writeFile(join(folder, `part-${String(file).padStart(3, "0")}.json`), `${lines.join("\n")}\n`);
  }
}

/** The same kind of rows as CSV (id, user, x), a null x now and then and a record failing the schema in each file. */
async function writeCsvInput(folder: string): Promise<void> {
  const random = mulberry32(2027);
  for (let file = 0; file < FILES; file++) {
    const lines = Array.from({ length: ROWS_PER_FILE }, (_, index) => {
      const id = file * ROWS_PER_FILE + index;
      if (index === 17) return `${id},u1,not-a-number`;
      const x = random() < 0.05 ? "" : String(Math.round((random() - 0.4) * 1000) / 10);
      return `${id},"u${Math.floor(random() * 7)}",${x}`;
    });
    await writeFile(join(folder, `part-${String(file).padStart(3, "0")}.csv`), `${lines.join("\n")}\n`);
  }
}

async function run(mode: string, input: string, base: string, killAfterEpochs: readonly number[], random?: () => number, settings: readonly string[] = []): Promise<Run> {
  const output = join(base, "output");
  await mkdir(output, { recursive: true });
  const runs = await runWithKills({ script: CHILD, args: [mode, input, output, join(base, "checkpoint"), ...settings], env: childEnvironment(server()), killAfterEpochs, random });
  return { output, ...runs };
}

async function readTable(output: string): Promise<Array<{ user: string; n: number; total: number }>> {
  const rows = JSON.parse(await readFile(join(output, "table.json"), "utf8")) as Array<{ user: string; n: number; total: number }>;
  return rows.map((row) => ({ user: row.user, n: row.n, total: Math.round(row.total * 10) / 10 })).sort((a, b) => a.user.localeCompare(b.user));
}

/** The rows the file sink committed (what a reader of its log sees), sorted. */
async function readCommittedRows(output: string): Promise<string[]> {
  return (await committedLines(output)).sort();
}

describe("exactly-once under SIGKILL", () => {
  let folder: string;
  let input: string;
  let csvInput: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-kill-"));
    input = join(folder, "input");
    await mkdir(input);
    await writeInput(input);
    csvInput = join(folder, "csv-input");
    await mkdir(csvInput);
    await writeCsvInput(csvInput);
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("an aggregation killed at random moments ends with the table of a run never killed", async () => {
    const reference = await run("aggregate", input, join(folder, "agg-reference"), []);
    const seed = killSeed();
    const random = mulberry32(seed);
    const delays = Array.from({ length: 4 }, () => 1 + Math.floor(random() * 4));
    const killed = await run("aggregate", input, join(folder, "agg-killed"), delays, random);
    const expected = await readTable(reference.output);
    assert.equal(expected.reduce((sum, row) => sum + row.n, 0), FILES * ROWS_PER_FILE, "the reference saw every row once");
    assert.deepEqual(await readTable(killed.output), expected, `killed ${killed.kills} times, after ${delays.join(", ")} epochs (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.midRunKills, delays.length, `every kill landed mid-run (kills ${killed.kills}, mid-run ${killed.midRunKills})`);
  });

  it("a filter-and-project query into the file sink, killed at random moments, commits every output row exactly once", async () => {
    const reference = await run("stateless", input, join(folder, "rows-reference"), []);
    const seed = killSeed();
    const random = mulberry32(seed + 1);
    const delays = Array.from({ length: 4 }, () => 1 + Math.floor(random() * 4));
    const killed = await run("stateless", input, join(folder, "rows-killed"), delays, random);
    const expected = await readCommittedRows(reference.output);
    assert.ok(expected.length > FILES * ROWS_PER_FILE * 0.4, `the filter keeps a good share of rows: ${expected.length}`);
    assert.equal(new Set(expected).size, expected.length, "the reference has no duplicate");
    assert.deepEqual(await readCommittedRows(killed.output), expected, `killed after ${delays.join(", ")} epochs (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.midRunKills, delays.length);
  });

  it("every operator its own actor, rows by position, killed at random moments: the rows of a named run never killed", async () => {
    // The filter and the projection run in actors of their own, by position (rill.rows.positional auto); the
    // reference runs them named. A restart replays frames from the checkpoint's offsets into the positional actors.
    const reference = await run("stateless", input, join(folder, "positional-reference"), [], undefined, ["false", "off"]);
    const seed = killSeed();
    const random = mulberry32(seed + 2);
    const delays = Array.from({ length: 3 }, () => 1 + Math.floor(random() * 4));
    const killed = await run("stateless", input, join(folder, "positional-killed"), delays, random, ["false", "auto"]);
    const expected = await readCommittedRows(reference.output);
    assert.ok(expected.length > FILES * ROWS_PER_FILE * 0.4, `the filter keeps a good share of rows: ${expected.length}`);
    assert.deepEqual(await readCommittedRows(killed.output), expected, `killed after ${delays.join(", ")} epochs (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.midRunKills, delays.length);
  });

  it("a positional filter and projection before a 3-partition aggregation, killed at random moments: the table of a named run never killed", async () => {
    // The filter and the projection run by position in actors of their own and send their frames (layout 2, arrays)
    // to the aggregation's key projection, which runs named and routes by key; a restart replays from the checkpoint's
    // offsets through the positional actors into restored state. (A positional stage's own routing by key place is
    // tested with dropDuplicates in test/api/rows-positional-attack.test.ts.)
    const reference = await run("filtered-aggregate", input, join(folder, "positional-agg-reference"), [], undefined, ["false", "off"]);
    const seed = killSeed();
    const random = mulberry32(seed + 3);
    const delays = Array.from({ length: 3 }, () => 1 + Math.floor(random() * 4));
    const killed = await run("filtered-aggregate", input, join(folder, "positional-agg-killed"), delays, random, ["false", "auto"]);
    const expected = await readTable(reference.output);
    assert.equal(expected.length, 7);
    assert.deepEqual(await readTable(killed.output), expected, `killed after ${delays.join(", ")} epochs (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.midRunKills, delays.length);
  });

  it("the aggregation by position in the chained layout, killed at random moments: the table of a named run never killed", async () => {
    // Chaining on (the default): the key projection runs in the source actors, the aggregation's actors read their
    // input by position; a restart restores state written by position and replays frames from the checkpoint's offsets.
    const reference = await run("aggregate", input, join(folder, "positional-chained-reference"), [], undefined, ["true", "off"]);
    assert.doesNotMatch(reference.lastStdout, /aggregate by position/);
    const seed = killSeed();
    const random = mulberry32(seed + 4);
    const delays = Array.from({ length: 3 }, () => 1 + Math.floor(random() * 4));
    const killed = await run("aggregate", input, join(folder, "positional-chained-killed"), delays, random, ["true", "auto"]);
    assert.match(killed.lastStdout, /aggregate by position/);
    const expected = await readTable(reference.output);
    assert.equal(expected.reduce((sum, row) => sum + row.n, 0), FILES * ROWS_PER_FILE, "the reference saw every row once");
    assert.deepEqual(await readTable(killed.output), expected, `killed after ${delays.join(", ")} epochs (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.midRunKills, delays.length);
  });

  it("the aggregation's output by position into a filter and a projection, killed at random moments: the table of a named run never killed", async () => {
    // Chaining on: the filter and projection after the aggregation run by position in its actors, from the arrays it
    // emits; a restart restores state written that way and replays frames from the checkpoint's offsets.
    const reference = await run("aggregate-select", input, join(folder, "positional-out-reference"), [], undefined, ["true", "off"]);
    assert.doesNotMatch(reference.lastStdout, /aggregate out by position/);
    const seed = killSeed();
    const random = mulberry32(seed + 6);
    const delays = Array.from({ length: 3 }, () => 1 + Math.floor(random() * 4));
    const killed = await run("aggregate-select", input, join(folder, "positional-out-killed"), delays, random, ["true", "auto"]);
    assert.match(killed.lastStdout, /aggregate out by position/);
    const expected = await readTable(reference.output);
    assert.equal(expected.reduce((sum, row) => sum + row.n, 0), FILES * ROWS_PER_FILE, "the reference saw every row once");
    assert.deepEqual(await readTable(killed.output), expected, `killed after ${delays.join(", ")} epochs (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.midRunKills, delays.length);
  });

  it("the session window's output by position into a filter and a projection, killed at random moments: the sessions of a named run never killed", async () => {
    // Chaining on: the session window reads its input by index and emits arrays, the filter and projection after it run
    // by position; a restart restores the sessions written that way and replays frames from the checkpoint's offsets.
    const reference = await run("session-select", input, join(folder, "positional-session-reference"), [], undefined, ["true", "off"]);
    assert.doesNotMatch(reference.lastStdout, /session-window out by position/);
    const seed = killSeed();
    const random = mulberry32(seed + 8);
    const delays = Array.from({ length: 3 }, () => 1 + Math.floor(random() * 4));
    const killed = await run("session-select", input, join(folder, "positional-session-killed"), delays, random, ["true", "auto"]);
    assert.match(killed.lastStdout, /session-window out by position/);
    const readSessions = async (output: string) => (JSON.parse(await readFile(join(output, "table.json"), "utf8")) as Array<{ user: string; start: number; n: number; total: number }>)
      .map((row) => `${row.user} ${row.start} ${row.n} ${Math.round(row.total * 10) / 10}`).sort();
    const expected = await readSessions(reference.output);
    assert.ok(expected.length > FILES, `sessions: ${expected.length}`);
    assert.equal(expected.reduce((sum, line) => sum + Number(line.split(" ")[2]), 0), FILES * ROWS_PER_FILE, "the reference saw every row once");
    assert.deepEqual(await readSessions(killed.output), expected, `killed after ${delays.join(", ")} epochs (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.midRunKills, delays.length);
  });

  it("mapGroupsWithState with its input by position, killed at random moments: the totals of a named run never killed", async () => {
    // The group state actors read the key by index and name each row for the function; a restart restores the state
    // written that way and replays frames from the checkpoint's offsets.
    const reference = await run("group-state", input, join(folder, "positional-group-state-reference"), [], undefined, ["true", "off"]);
    assert.doesNotMatch(reference.lastStdout, /group-state by position/);
    const seed = killSeed();
    const random = mulberry32(seed + 7);
    const delays = Array.from({ length: 3 }, () => 1 + Math.floor(random() * 4));
    const killed = await run("group-state", input, join(folder, "positional-group-state-killed"), delays, random, ["true", "auto"]);
    assert.match(killed.lastStdout, /group-state by position/);
    const expected = await readTable(reference.output);
    assert.equal(expected.reduce((sum, row) => sum + row.n, 0), FILES * ROWS_PER_FILE, "the reference saw every row once");
    assert.deepEqual(await readTable(killed.output), expected, `killed after ${delays.join(", ")} epochs (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.midRunKills, delays.length);
  });

  it("a CSV source by position (its filter and projection chained into it), killed at random moments: the rows of a named run never killed", async () => {
    // With chaining on (the default) the filter and projection run in the source actor; by position, the CSV reader
    // parses records straight into arrays. A restart seeks the positional reader to the offsets in the checkpoint.
    const reference = await run("csv-stateless", csvInput, join(folder, "csv-reference"), [], undefined, ["true", "off"]);
    const seed = killSeed();
    const random = mulberry32(seed + 5);
    const delays = Array.from({ length: 3 }, () => 1 + Math.floor(random() * 4));
    const killed = await run("csv-stateless", csvInput, join(folder, "csv-killed"), delays, random, ["true", "auto"]);
    const expected = await readCommittedRows(reference.output);
    assert.ok(expected.length > FILES * ROWS_PER_FILE * 0.4, `the filter keeps a good share of rows: ${expected.length}`);
    assert.equal(new Set(expected).size, expected.length, "the reference has no duplicate");
    assert.deepEqual(await readCommittedRows(killed.output), expected, `killed after ${delays.join(", ")} epochs (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.midRunKills, delays.length);
  });

  it("withWatermark and dropDuplicates by position (CSV source stage, de-duplication stage), killed at random moments: the rows of a named run never killed", async () => {
    // The source stage (projection, withWatermark) and the de-duplication's stage (dropDuplicates, projection) run by
    // position; their state (latest event time, seen keys) is restored from the checkpoint after each kill.
    const reference = await run("csv-dedupe", csvInput, join(folder, "dedupe-reference"), [], undefined, ["true", "off"]);
    assert.doesNotMatch(reference.lastStdout, /deduplicate by position/);
    const seed = killSeed();
    const random = mulberry32(seed + 6);
    const delays = Array.from({ length: 3 }, () => 1 + Math.floor(random() * 4));
    const killed = await run("csv-dedupe", csvInput, join(folder, "dedupe-killed"), delays, random, ["true", "auto"]);
    assert.match(killed.lastStdout, /deduplicate by position/);
    const expected = await readCommittedRows(reference.output);
    assert.ok(expected.length > 100 && expected.length < FILES * ROWS_PER_FILE * 0.8, `duplicates of (user, x) are dropped: ${expected.length} rows`);
    assert.equal(new Set(expected.map((row) => JSON.stringify({ ...(JSON.parse(row) as object), id: 0 }))).size, expected.length, "one row a key in the reference");
    assert.deepEqual(await readCommittedRows(killed.output), expected, `killed after ${delays.join(", ")} epochs (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.midRunKills, delays.length);
  });

  it("a JSON source by position (a zod schema; its filter and projection chained into it), killed at random moments: the rows of a named run never killed", async () => {
    // By position, the JSON reader reads each parsed object by the schema's names into an array after zod's check. A
    // restart seeks the positional reader to the offsets (files and rows) in the checkpoint.
    const reference = await run("stateless", input, join(folder, "json-positional-reference"), [], undefined, ["true", "off"]);
    const seed = killSeed();
    const random = mulberry32(seed + 7);
    const delays = Array.from({ length: 3 }, () => 1 + Math.floor(random() * 4));
    const killed = await run("stateless", input, join(folder, "json-positional-killed"), delays, random, ["true", "auto"]);
    assert.match(killed.lastStdout, /rows by position/);
    const expected = await readCommittedRows(reference.output);
    assert.equal(new Set(expected).size, expected.length, "the reference has no duplicate");
    assert.deepEqual(await readCommittedRows(killed.output), expected, `killed after ${delays.join(", ")} epochs (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.midRunKills, delays.length);
  });

  it("checkpoint folders hold no half-written epoch after the kills", async () => {
    const names = await readdir(join(folder, "agg-killed", "checkpoint"));
    assert.ok(names.includes("data.mdb"), `LMDB files: ${names.join(", ")}`);
  });
});
