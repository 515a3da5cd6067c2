// A .sql pipeline file: sources declared with USING ... OPTIONS, a view, sinks as tables, INSERT INTO starts the queries.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { AnalysisError, ParseError, committedFiles, runSqlScript, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();

interface Reading {
  readonly device: string;
  readonly celsius: number | null;
  readonly ok: boolean;
}

const READINGS: Reading[] = Array.from({ length: 600 }, (_, index) => ({
  device: `d${index % 7}`,
  celsius: index % 50 === 0 ? null : ((index * 37) % 400) / 10,
  ok: index % 3 !== 0,
}));

describe("runSqlScript", () => {
  let session: Session;
  let folder: string;
  let input: string;
  before(async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2 });
    folder = await mkdtemp(join(tmpdir(), "rill-sql-script-"));
    input = join(folder, "input");
    await mkdir(input);
    for (let file = 0; file < 3; file++) {
      const lines = READINGS.slice(file * 200, (file + 1) * 200).map((reading) => JSON.stringify(reading));
      await writeFile(join(input, `part-${file}.json`), `${lines.join("\n")}\n`);
    }
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  it("defines a file source, a view and two sinks, and runs one query per INSERT INTO", async () => {
    const output = join(folder, "hot");
    const queries = await runSqlScript(session, `
      -- readings from JSON files
      CREATE TEMPORARY VIEW readings (device STRING, celsius DOUBLE, ok BOOLEAN)
        USING json OPTIONS (path '${input}', maxFilesPerTrigger 1);
      CREATE OR REPLACE TEMPORARY VIEW good AS SELECT device, celsius FROM readings WHERE ok AND celsius IS NOT NULL;
      CREATE TABLE per_device USING memory OPTIONS (outputMode 'complete');
      CREATE TABLE hot USING json OPTIONS (path '${output}', checkpointLocation '${join(folder, "hot-checkpoint")}');
      INSERT INTO per_device SELECT device, count(*) AS n, max(celsius) AS hottest FROM good GROUP BY device;
      INSERT INTO hot SELECT device, celsius * 9 / 5 + 32 AS fahrenheit FROM good WHERE celsius > 30;`);
    assert.deepEqual(queries.map((query) => query.name), ["per_device", "hot"]);
    for (const query of queries) await query.processAllAvailable();
    const good = READINGS.filter((reading) => reading.ok && reading.celsius !== null);
    const expected = new Map<string, { n: number; hottest: number }>();
    for (const reading of good) {
      const entry = expected.get(reading.device) ?? { n: 0, hottest: Number.NEGATIVE_INFINITY };
      entry.n++;
      entry.hottest = Math.max(entry.hottest, reading.celsius as number);
      expected.set(reading.device, entry);
    }
    const table = new Map(session.table("per_device").map((row) => [row.device as string, { n: row.n as number, hottest: row.hottest as number }]));
    assert.deepEqual(new Map([...table].sort()), new Map([...expected].sort()));
    const written: string[] = [];
    for (const file of await committedFiles(output)) for (const line of (await readFile(file, "utf8")).split("\n")) if (line.trim()) written.push(line);
    const hot = good.filter((reading) => (reading.celsius as number) > 30).map((reading) => JSON.stringify({ device: reading.device, fahrenheit: ((reading.celsius as number) * 9) / 5 + 32 }));
    assert.ok(hot.length > 20);
    assert.deepEqual(written.sort(), hot.sort());
  });

  it("fails before starting anything: an unknown table, a view of an unknown column, a parse error, all at their line", async () => {
    await assert.rejects(runSqlScript(session, "CREATE TABLE out USING memory;\nINSERT INTO out SELECT 1 AS one FROM nowhere"), (error: unknown) => error instanceof AnalysisError && /Table or view not found: 'nowhere' at line 2/.test(error.message));
    await assert.rejects(runSqlScript(session, `CREATE TEMPORARY VIEW r (device STRING) USING json OPTIONS (path '${input}');\nCREATE TABLE out USING memory;\nINSERT INTO outt SELECT device FROM r`), (error: unknown) => error instanceof AnalysisError && error.message.startsWith("INSERT INTO an unknown table 'outt' at line 3, column 1") && error.message.includes("Did you mean 'out'?"));
    await assert.rejects(runSqlScript(session, `CREATE OR REPLACE TEMPORARY VIEW r (device STRING) USING json OPTIONS (path '${input}');\n\nCREATE TEMPORARY VIEW v AS SELECT devise FROM r`), (error: unknown) => error instanceof AnalysisError && /Column 'devise' does not exist in the SELECT list at line 3, column 35[\s\S]*Did you mean 'device'\?/.test(error.message));
    await assert.rejects(runSqlScript(session, "CREATE TABLE out USING memory\nINSERT INTO out SELECT 1"), (error: unknown) => error instanceof ParseError && error.line === 2 && error.column === 1);
    assert.equal(session.streams.active.length, 0);
  });
});
