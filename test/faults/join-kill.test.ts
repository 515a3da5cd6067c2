// Exactly-once for stream-static joins: a join killed with SIGKILL at random moments and restarted (the static side
// loaded again, the stream side's state and offsets from the checkpoint) gives exactly what plain code computes.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { committedLines, killSeed, runWithKills } from "../helpers/kill-runs.ts";
import { childEnvironment, useNatsServer } from "../helpers/nats.ts";

const server = useNatsServer();
const CHILD = join(import.meta.dirname, "join-child.ts");
const FILES = 20;
const ROWS_PER_FILE = 200;
const DEVICES = [["d0", "m-a"], ["d1", "m-b"], ["d2", "m-a"], ["d3", "m-c"], ["d4", "m-b"]] as const;

interface Reading { id: number; device: string; v: number }

function makeReadings(): Reading[] {
  const random = mulberry32(1404);
  return Array.from({ length: FILES * ROWS_PER_FILE }, (_, id) => ({ id, device: `d${Math.floor(random() * 7)}`, v: Math.round(random() * 1000) / 10 }));
}

async function run(mode: string, input: string, devices: string, base: string, killAfterEpochs: readonly number[], random: () => number): Promise<{ output: string; midRunKills: number }> {
  const output = join(base, "output");
  await mkdir(output, { recursive: true });
  const runs = await runWithKills({ script: CHILD, args: [mode, input, devices, output, join(base, "checkpoint")], env: childEnvironment(server()), killAfterEpochs, random });
  return { output, midRunKills: runs.midRunKills };
}

describe("stream-static joins: exactly-once under SIGKILL", () => {
  let folder: string;
  let input: string;
  let devices: string;
  const readings = makeReadings();
  const modelOf = new Map<string, string>(DEVICES);
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-join-kill-"));
    input = join(folder, "input");
    devices = join(folder, "devices");
    await mkdir(input);
    await mkdir(devices);
    for (let file = 0; file < FILES; file++) {
      const lines = readings.slice(file * ROWS_PER_FILE, (file + 1) * ROWS_PER_FILE).map((reading) => JSON.stringify(reading));
      await writeFile(join(input, `part-${String(file).padStart(3, "0")}.json`), `${lines.join("\n")}\n`);
    }
    await writeFile(join(devices, "devices.json"), `${DEVICES.map(([device, model]) => JSON.stringify({ device, model })).join("\n")}\n`);
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("a left outer join into the file sink, killed at random moments, commits each joined row exactly once", async () => {
    const seed = killSeed();
    const random = mulberry32(seed);
    const delays = Array.from({ length: 3 }, () => 1 + Math.floor(random() * 4));
    const killed = await run("join", input, devices, join(folder, "join"), delays, random);
    const actual = (await committedLines(killed.output)).map((line) => JSON.parse(line) as { id: number; device: string; model: string | null; v10: number }).sort((a, b) => a.id - b.id);
    const expected = readings.map((reading) => ({ id: reading.id, device: reading.device, model: modelOf.get(reading.device) ?? null, v10: reading.v * 10 }));
    assert.equal(actual.length, expected.length, `every reading once (killed after ${delays.join(", ")} epochs, RILL_KILL_SEED=${seed})`);
    actual.forEach((row, index) => {
      const want = expected[index] as (typeof expected)[number];
      // The JSON sink leaves null fields out, as Spark's JSON writer does.
      assert.deepEqual({ ...row, model: row.model ?? null, v10: Math.round(row.v10 * 1000) }, { ...want, v10: Math.round(want.v10 * 1000) });
    });
    assert.ok(expected.some((row) => row.model === null) && expected.some((row) => row.model !== null), "unmatched and matched readings both occur");
    assert.equal(killed.midRunKills, delays.length, "every kill landed mid-run");
  });

  it("a join feeding an aggregation, killed at random moments, ends with the table plain code computes", async () => {
    const seed = killSeed();
    const random = mulberry32(seed + 1);
    const delays = Array.from({ length: 3 }, () => 1 + Math.floor(random() * 4));
    const killed = await run("join-aggregate", input, devices, join(folder, "join-aggregate"), delays, random);
    const table = (JSON.parse(await readFile(join(killed.output, "table.json"), "utf8")) as Array<{ model: string; n: number; total: number }>)
      .map((row) => ({ model: row.model, n: row.n, total: Math.round(row.total * 10) })).sort((a, b) => a.model.localeCompare(b.model));
    const expected = new Map<string, { n: number; total: number }>();
    for (const reading of readings) {
      const model = modelOf.get(reading.device);
      if (model === undefined) continue;
      const entry = expected.get(model) ?? { n: 0, total: 0 };
      entry.n++;
      entry.total += reading.v;
      expected.set(model, entry);
    }
    const want = [...expected].map(([model, entry]) => ({ model, n: entry.n, total: Math.round(entry.total * 10) })).sort((a, b) => a.model.localeCompare(b.model));
    assert.deepEqual(table, want, `killed after ${delays.join(", ")} epochs (RILL_KILL_SEED=${seed})`);
    assert.equal(killed.midRunKills, delays.length, "every kill landed mid-run");
  });
});
