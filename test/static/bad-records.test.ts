// Bad records in static files (session.read): Rill's default sends each to the dead-letter subject with its file, line
// and reason, and counts it; Spark's mode option (PERMISSIVE with columnNameOfCorruptRecord, DROPMALFORMED, FAILFAST)
// does what Spark documents. Real files with bad lines, checked against the lines written.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigError, RecordError, type Row, type Session } from "../../src/index.ts";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { inProcessSession } from "../helpers/session.ts";

interface Letter { query: string; source: string; reason: string; raw: string }

/** 200 JSON lines, with malformed text, a wrong type and a non-object at seeded places; the bad ones by line number. */
function jsonLines(seed: number): { text: string; good: Row[]; bad: Map<number, { raw: string; partial: Row }> } {
  const random = mulberry32(seed);
  const lines: string[] = [];
  const good: Row[] = [];
  const bad = new Map<number, { raw: string; partial: Row }>();
  for (let index = 0; index < 200; index++) {
    const row = { id: index, name: `n${index}`, score: Math.round(random() * 1000) / 10 };
    const pick = random();
    let line: string;
    if (pick < 0.04) {
      line = `{"id": ${index}, "name": "n${index}", "score": `;
      bad.set(index + 1, { raw: line, partial: { id: null, name: null, score: null } });
    } else if (pick < 0.08) {
      line = JSON.stringify({ ...row, score: "high" });
      bad.set(index + 1, { raw: line, partial: { id: index, name: `n${index}`, score: null } });
    } else if (pick < 0.1) {
      line = "[1, 2, 3]";
      bad.set(index + 1, { raw: line, partial: { id: null, name: null, score: null } });
    } else {
      line = JSON.stringify(row);
      good.push(row);
    }
    lines.push(line);
  }
  return { text: `${lines.join("\n")}\n`, good, bad };
}

const byId = (a: Row, b: Row) => String(a.id ?? a.name ?? a._corrupt_record).localeCompare(String(b.id ?? b.name ?? b._corrupt_record), undefined, { numeric: true });

describe("bad records in static files", () => {
  let session: Session;
  let folder: string;
  const letters: Letter[] = [];
  const logged: string[] = [];
  const data = jsonLines(1401);
  let jsonDir: string;
  let csvDir: string;
  before(async () => {
    session = inProcessSession();
    Object.assign(session, { log: (line: string) => logged.push(line) });
    folder = await mkdtemp(join(tmpdir(), "rill-bad-records-"));
    jsonDir = join(folder, "json");
    await mkdir(jsonDir);
    await writeFile(join(jsonDir, "part-0.json"), data.text);
    csvDir = join(folder, "csv");
    await mkdir(csvDir);
    // Line 3: a value that is not an int; line 5: an unclosed quote runs to the end of the file... so it is the last record.
    await writeFile(join(csvDir, "a.csv"), "id,name,score\n1,a,1.5\nx,b,2.5\n3,c,\n4,\"d,4.5\n");
    const transport = await session.connect();
    transport.subscribe(session.staticDeadLetterSubject(), (payload) => letters.push(JSON.parse(new TextDecoder().decode(payload)) as Letter));
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("by default sends each bad JSON line to the dead-letter subject with its file, line and reason, counts it, and keeps the good rows", async () => {
    letters.length = 0;
    const before = session.staticBadRecords;
    const rows = await session.read.schema("id LONG, name STRING, score DOUBLE").json(jsonDir).collect();
    assert.deepEqual(rows.sort(byId), data.good);
    assert.equal(letters.length, data.bad.size);
    assert.ok(data.bad.size >= 10, "the seeded data has bad lines of each kind");
    for (const letter of letters) {
      const match = /part-0\.json:(\d+): (not valid JSON|fails the schema)/.exec(letter.reason);
      assert.ok(match, letter.reason);
      const expected = data.bad.get(Number(match[1]));
      assert.equal(letter.raw, expected?.raw, letter.reason);
      assert.equal(letter.query, "static");
      assert.match(letter.source, /StaticFiles\[json, .*json\]/);
    }
    assert.deepEqual([...new Set(letters.map((letter) => Number(/:(\d+):/.exec(letter.reason)?.[1])))].sort((a, b) => a - b), [...data.bad.keys()]);
    assert.equal(session.staticBadRecords.numDeadLetters - before.numDeadLetters, data.bad.size);
    assert.ok(logged.some((line) => line.includes(`${data.bad.size} bad records went to the dead-letter subject ${session.staticDeadLetterSubject()}`)), logged.join("\n"));
  });

  it("PERMISSIVE keeps each bad line: its well-typed fields, nulls elsewhere, and the line in columnNameOfCorruptRecord when the schema has it", async () => {
    letters.length = 0;
    const rows = await session.read.option("mode", "permissive").schema("id LONG, name STRING, score DOUBLE, _corrupt_record STRING").json(jsonDir).collect();
    const expected = [
      ...data.good.map((row) => ({ ...row, _corrupt_record: null })),
      ...[...data.bad.values()].map(({ raw, partial }) => ({ ...partial, _corrupt_record: raw })),
    ];
    const key = (row: Row) => JSON.stringify(row);
    assert.deepEqual(rows.map(key).sort(), expected.map(key).sort());
    // Without the column the record is still kept, with nulls; a renamed column; inference adds the column (string).
    assert.equal(await session.read.option("mode", "PERMISSIVE").schema("id LONG, name STRING, score DOUBLE").json(jsonDir).count(), 200);
    const renamed = await session.read.options({ mode: "PERMISSIVE", columnNameOfCorruptRecord: "broken" }).schema("id LONG, broken STRING").json(jsonDir).where("broken IS NOT NULL").collect();
    assert.equal(renamed.length, [...data.bad.values()].filter(({ partial }) => partial.id === null).length);
    const inferred = session.read.option("mode", "PERMISSIVE").json(jsonDir);
    assert.deepEqual(inferred.schema.fields.map((field) => [field.name, field.type]), [["_corrupt_record", "string"], ["id", "long"], ["name", "string"], ["score", "string"]], "score 'high' makes the inferred score a string, as Spark's inference");
    assert.equal(await inferred.where("_corrupt_record IS NOT NULL").count(), [...data.bad.values()].filter(({ partial }) => partial.id === null).length, "with the inferred schema only the unparsable lines are corrupt");
    assert.equal(letters.length, 0, "PERMISSIVE dead-letters nothing");
    assert.throws(() => session.read.option("mode", "PERMISSIVE").schema("id LONG, _corrupt_record INT").json(jsonDir), (error: unknown) => error instanceof ConfigError && /The field for corrupt records must be string type and nullable: '_corrupt_record' is int/.test(error.message));
  });

  it("DROPMALFORMED drops the bad lines and counts them; FAILFAST fails the action at the first, naming the file and line", async () => {
    letters.length = 0;
    const before = session.staticBadRecords.numDroppedMalformed;
    const rows = await session.read.option("mode", "DROPMALFORMED").schema("id LONG, name STRING, score DOUBLE").json(jsonDir).collect();
    assert.deepEqual(rows.sort(byId), data.good);
    assert.equal(session.staticBadRecords.numDroppedMalformed - before, data.bad.size);
    assert.equal(letters.length, 0);
    assert.ok(logged.some((line) => line.includes(`mode DROPMALFORMED dropped ${data.bad.size} malformed records`)));
    const first = Math.min(...data.bad.keys());
    await assert.rejects(session.read.option("mode", "FailFast").schema("id LONG, name STRING, score DOUBLE").json(jsonDir).collect(), (error: unknown) => error instanceof RecordError && /Malformed records are detected in record parsing\. Parse Mode: FAILFAST/.test(error.message) && error.message.includes(`part-0.json:${first}:`));
    assert.throws(() => session.read.option("mode", "lenient").json(jsonDir), (error: unknown) => error instanceof ConfigError && /mode/.test(error.message) && /PERMISSIVE, DROPMALFORMED or FAILFAST/.test(error.message));
  });

  it("CSV: a value of the wrong type and an unclosed quote follow the same rules", async () => {
    letters.length = 0;
    const reader = () => session.read.option("header", true);
    const schema = "id INT, name STRING, score DOUBLE";
    assert.deepEqual(await reader().schema(schema).csv(csvDir).collect(), [{ id: 1, name: "a", score: 1.5 }, { id: 3, name: "c", score: null }]);
    assert.deepEqual(letters.map((letter) => /a\.csv:(\d+):/.exec(letter.reason)?.[1]).sort(), ["3", "5"]);
    assert.equal(letters.find((letter) => letter.reason.includes("a.csv:3:"))?.raw, "x,b,2.5");
    const permissive = await reader().option("mode", "PERMISSIVE").schema(`${schema}, _corrupt_record STRING`).csv(csvDir).collect();
    assert.deepEqual(permissive.find((row) => row.name === "b"), { id: null, name: "b", score: 2.5, _corrupt_record: "x,b,2.5" });
    assert.equal(permissive.length, 4);
    // Without a header the columns map by position to the schema without the corrupt-record column, as in Spark.
    const positional = await session.read.option("mode", "PERMISSIVE").schema(`_corrupt_record STRING, ${schema}`).csv(csvDir).collect();
    const key = (row: Row) => JSON.stringify(row);
    assert.deepEqual(positional.map(key).sort(), [
      { _corrupt_record: "id,name,score", id: null, name: "name", score: null },
      { _corrupt_record: null, id: 1, name: "a", score: 1.5 },
      { _corrupt_record: "x,b,2.5", id: null, name: "b", score: 2.5 },
      { _corrupt_record: null, id: 3, name: "c", score: null },
      { _corrupt_record: '4,"d,4.5', id: null, name: null, score: null },
    ].map(key).sort());
    assert.deepEqual((await reader().option("mode", "DROPMALFORMED").schema(schema).csv(csvDir).collect()).map((row) => row.id), [1, 3]);
    await assert.rejects(reader().option("mode", "FAILFAST").schema(schema).csv(csvDir).collect(), (error: unknown) => error instanceof RecordError && /FAILFAST.*a\.csv:(3: fails the schema|5: not valid CSV)/s.test(error.message));
  });

  it("a line that is not UTF-8 and a Parquet file that does not read are bad records too", async () => {
    letters.length = 0;
    const dir = join(folder, "mixed");
    await mkdir(dir);
    await writeFile(join(dir, "t.txt"), Buffer.concat([Buffer.from("first\nse"), Buffer.from([0xff, 0xfe]), Buffer.from("cond\nthird\n")]));
    assert.deepEqual(await session.read.text(dir).collect(), [{ value: "first" }, { value: "third" }]);
    assert.equal(letters.length, 1);
    assert.match(letters[0]?.reason ?? "", /t\.txt:2: invalid UTF-8/);
    const parquetDir = join(folder, "parquet");
    await mkdir(parquetDir);
    await writeFile(join(parquetDir, "broken.parquet"), "PAR1 this is not a parquet file PAR1");
    letters.length = 0;
    assert.deepEqual(await session.read.schema("id LONG").parquet(parquetDir).collect(), []);
    assert.equal(letters.length, 1);
    assert.match(letters[0]?.reason ?? "", /broken\.parquet: not a readable Parquet file/);
    await assert.rejects(session.read.option("mode", "FAILFAST").schema("id LONG").parquet(parquetDir).collect(), (error: unknown) => error instanceof RecordError && /broken\.parquet/.test(error.message));
  });
});
