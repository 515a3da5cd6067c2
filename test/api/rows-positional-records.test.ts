// Rows by position in source stages that read records by the schema's names (positionalRecordChecker): JSON files (a
// DDL schema and a zod one), CSV files with a zod schema, text files and MemoryStream. Over real NATS with chaining on, the same query by position
// and named gives the same rows and the same dead letters, and a checkpoint written either way restores the other.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MemoryStream, z, type DataFrame, type Session } from "../../src/index.ts";
import { committedLines } from "../helpers/kill-runs.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { sourcesPositional } from "../helpers/positional-actors.ts";
import { bothWays, DDL, jsonRecords, plain, ZOD, type JsonRecord } from "../helpers/positional-sources.ts";
import { natsSession } from "../helpers/session.ts";
import { useTempFolder } from "../helpers/temp-folder.ts";

const server = useNatsServer();

const good = (records: readonly JsonRecord[]) => records.filter((record) => record.good).length;

describe("rows by position in record sources", () => {
  const folder = useTempFolder("rill-posrec-");

  /** Two JSON Lines files: the second holds blank lines and a line that is not UTF-8. */
  async function jsonFolder(name: string): Promise<{ path: string; records: JsonRecord[] }> {
    const path = join(folder(), name);
    await mkdir(path);
    const first = jsonRecords(200, 5, 0);
    const second = jsonRecords(200, 9, 200);
    await writeFile(join(path, "part-0.json"), `${first.map((record) => record.text).join("\n")}\n`);
    const lines = second.map((record) => Buffer.from(`${record.text}\n`));
    await writeFile(join(path, "part-1.json"), Buffer.concat([...lines.slice(0, 50), Buffer.from("\n  \n"), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), ...lines.slice(50)]));
    return { path, records: [...first, ...second, { text: "", good: false }] };
  }

  for (const [schemaName, schema, columns] of [["a DDL schema", DDL, ["a", "at", "id", "big"]], ["a zod schema", ZOD, ["a", "at", "id", "d"]]] as const) {
    it(`json files with ${schemaName}: bad JSON, wrong types, timestamps as text and numbers, longs, missing and extra fields: the same rows and letters both ways`, async () => {
      const input = await jsonFolder(`json-${schemaName.split(" ")[1]}`);
      const result = await bothWays({
        server: server().options,
        name: `posrec_json_${schemaName.split(" ")[1]}`,
        read: (s) => s.readStream.schema(schema).json(input.path),
        build: (events) => events.where("d > 0 or flag").select(...columns),
        inputRows: good(input.records),
        letters: input.records.length - good(input.records),
      });
      assert.ok(result.rows.length > 50, `rows: ${result.rows.length}`);
      assert.deepStrictEqual(Object.keys(result.rows[0] ?? {}), [...columns]);
      assert.ok(result.rows.some((row) => row.at === null) && result.rows.some((row) => typeof row.at === "number"), "timestamps and nulls");
      if (schema === DDL) assert.ok(result.rows.some((row) => typeof row.big === "bigint"), "a long past 2^53");
      for (const pattern of [/not valid JSON/, /fails the schema/, /invalid UTF-8/]) assert.ok(result.letters.some((letter) => pattern.test(letter.reason)), String(pattern));
    });
  }

  /**
   * CSV files read with a header under a zod schema with refinements: nulls (empty fields), a quoted empty text the
   * schema refuses, quoted texts with commas, quotes and line breaks, a refined id, a value of the wrong type, columns in
   * another order and an extra one, a file whose header leaves out the optional fields, and a quote never closed.
   */
  async function csvZodFolder(name: string): Promise<{ path: string; good: number; bad: number }> {
    const path = join(folder(), name);
    await mkdir(path);
    const first = [
      "note,id,extra,name,score,at",
      "plain,1,x,ann,1.5,2026-01-01 10:00:00Z",
      ',2,x,bob,,2026-01-01T10:00:01Z',
      '"with, comma",32,x,cid,2.5,',
      '"two\nlines, and ""quotes""",4,x,"dee, jr",-1,2026-01-02 00:00:00',
      'bad id,x5,x,eve,1,',
      'refused,13,x,fay,1,',
      'empty name,6,x,"",1,',
      'null name,7,x,,3,',
      'late,8,x,gus,4,not a time',
      '"multi\nline\nnote",9,x,hal,5,',
    ];
    await writeFile(join(path, "part-0.csv"), `${first.join("\n")}\n`);
    const second = ["id,name,score", "20,ida,6", "21,jon,", "22,kim,x", "24,lee,8", "25,\"never closed,9"];
    await writeFile(join(path, "part-1.csv"), `${second.join("\n")}\n`);
    // Good: 1, 2, 32, 4, 7, 9, 20, 21, 24; bad: x5, 13 (refined), 6 (empty name), 8 (not a time), 22 (score), the unclosed quote.
    return { path, good: 9, bad: 6 };
  }

  const CSV_ZOD = z.object({
    id: z.number().int().refine((id) => id % 10 !== 3, "an id ending in 3 is refused"),
    name: z.string().min(1).nullable(),
    score: z.number().nullable(),
    at: z.date().nullable().optional(),
    note: z.string().nullable().optional(),
  });

  it("csv files with a zod schema: nulls, empty and quoted fields, refinements, a left-out optional field, bad rows: the same rows and letters both ways", async () => {
    const input = await csvZodFolder("csv-zod");
    const result = await bothWays({
      server: server().options,
      name: "posrec_csv_zod",
      read: (s) => s.readStream.schema(CSV_ZOD).option("header", "true").csv(input.path),
      build: (events) => events.where("score is null or score > 0").select("note", "id", "name", "at"),
      inputRows: input.good,
      letters: input.bad,
    });
    assert.deepStrictEqual(result.rows.map(plain), [
      { note: "plain", id: 1, name: "ann", at: Date.UTC(2026, 0, 1, 10) },
      { note: null, id: 2, name: "bob", at: Date.UTC(2026, 0, 1, 10, 0, 1) },
      { note: "with, comma", id: 32, name: "cid", at: null },
      { note: "null name", id: 7, name: null, at: null },
      { note: "multi\nline\nnote", id: 9, name: "hal", at: null },
      { note: null, id: 20, name: "ida", at: null },
      { note: null, id: 21, name: "jon", at: null },
      { note: null, id: 24, name: "lee", at: null },
    ]);
    assert.ok(result.rows.some((row) => row.note === null && row.id === 20), "a field the file leaves out is null by position");
    assert.match(result.explain, /source FileStream\[csv[^\n]*\n(?: {4}[^\n]*\n)*? {4}rows by position\n/, "the CSV source's stage runs by position");
    for (const pattern of [/not valid CSV/, /an id ending in 3 is refused/, /fails the schema: name/, /fails the schema: at/, /fails the schema: score/, /fails the schema: id/]) {
      assert.ok(result.letters.some((letter) => pattern.test(letter.reason)), String(pattern));
    }
  });

  it("csv files with a zod schema: a checkpoint written named restores by position, and the reverse: the rows of one run", async () => {
    const input = await csvZodFolder("csv-zod-restart");
    const output = join(folder(), "csv-zod-restart-out");
    const checkpoint = join(folder(), "csv-zod-restart-checkpoint");
    const once = async (mode: "auto" | "off", file?: string): Promise<boolean[]> => {
      if (file) await writeFile(join(input.path, file), `id,name,score\n${[1, 2, 3, 4].map((index) => `${file.length * 100 + index},n${index},${index - 2}`).join("\n")}\n`);
      const session = natsSession(server().options, { "rill.rows.positional": mode });
      try {
        const query = await session.readStream.schema(CSV_ZOD).option("header", "true").option("maxFilesPerTrigger", 1).csv(input.path).where("score is null or score > 0").select("id", "name")
          .writeStream.queryName("posrec_csv_zod_restart").format("json").option("path", output).option("checkpointLocation", checkpoint).start();
        await query.processAllAvailable();
        return sourcesPositional(query);
      } finally {
        await session.stop();
      }
    };
    assert.deepStrictEqual(await once("off"), [false]);
    assert.deepStrictEqual(await once("auto", "part-2.csv"), [true]);
    assert.deepStrictEqual(await once("off", "part-33.csv"), [false]);
    assert.deepStrictEqual(await once("auto", "part-444.csv"), [true]);
    const ids = (await committedLines(output)).map((line) => (JSON.parse(line) as { id: number }).id);
    assert.equal(new Set(ids).size, ids.length, "no row twice");
    // Scores 1 and 2 pass the filter (index 3 and 4); ids ending in 3 are refused by the schema.
    const added = [1000, 1100, 1200].flatMap((base) => [base + 4]);
    assert.deepStrictEqual(ids.sort((a, b) => a - b), [1, 2, 7, 9, 20, 21, 24, 32, ...added]);
  });

  it("text files: each line one row, the same both ways", async () => {
    const path = join(folder(), "text");
    await mkdir(path);
    await writeFile(join(path, "part-0.txt"), "alpha\r\nbeta\n\ngamma delta\n");
    const result = await bothWays({ server: server().options, name: "posrec_text", read: (s) => s.readStream.text(path), build: (lines) => lines.where("value != 'beta'"), inputRows: 4, letters: 0 });
    assert.deepStrictEqual(result.rows.map((row) => ({ ...row })), [{ value: "alpha" }, { value: "" }, { value: "gamma delta" }]);
  });

  it("MemoryStream: rows that fail the zod schema, nulls, the same rows and letters both ways", async () => {
    const events = z.object({ user: z.string(), amount: z.number().int(), note: z.string().nullable().optional() });
    const rows = Array.from({ length: 300 }, (_, index) => index % 17 === 0 ? { user: index, amount: 1 } : index % 13 === 0 ? { amount: index } : { note: index % 3 === 0 ? null : `n${index}`, amount: index % 50, user: `u${index % 7}` });
    const bad = rows.filter((_, index) => index % 17 === 0 || index % 13 === 0).length;
    const result = await bothWays({
      server: server().options,
      name: "posrec_memory",
      read: (s: Session): DataFrame => {
        const stream = new MemoryStream(s, events);
        stream.addData(rows as never);
        return stream.toDF();
      },
      build: (input) => input.where("amount > 10").select("note", "user"),
      inputRows: rows.length - bad,
      letters: bad,
    });
    assert.ok(result.rows.length > 100);
    assert.deepStrictEqual(Object.keys(result.rows[0] ?? {}), ["note", "user"]);
    assert.ok(result.rows.some((row) => row.note === null));
  });

  it("json files: a checkpoint written named restores by position, and the reverse: the rows of one run", async () => {
    const input = await jsonFolder("restart");
    const output = join(folder(), "restart-out");
    const checkpoint = join(folder(), "restart-checkpoint");
    const fileRecords = (file: string) => jsonRecords(100, file.length, 1000 + file.length * 100);
    const once = async (mode: "auto" | "off", file?: string): Promise<boolean[]> => {
      if (file) await writeFile(join(input.path, file), `${fileRecords(file).map((record) => record.text).join("\n")}\n`);
      const session = natsSession(server().options, { "rill.rows.positional": mode });
      try {
        const query = await session.readStream.schema(DDL).option("maxFilesPerTrigger", 1).json(input.path).where("d > 0 or flag").select("id", "a", "big")
          .writeStream.queryName("posrec_restart").format("json").option("path", output).option("checkpointLocation", checkpoint).start();
        await query.processAllAvailable();
        return sourcesPositional(query);
      } finally {
        await session.stop();
      }
    };
    assert.deepStrictEqual(await once("off"), [false]);
    assert.deepStrictEqual(await once("auto", "part-2.json"), [true]);
    assert.deepStrictEqual(await once("off", "part-33.json"), [false]);
    assert.deepStrictEqual(await once("auto", "part-444.json"), [true]);
    const ids = (await committedLines(output)).map((line) => (JSON.parse(line) as { id: number }).id);
    assert.equal(new Set(ids).size, ids.length, "no row twice");
    const records = [...input.records, ...["part-2.json", "part-33.json", "part-444.json"].flatMap(fileRecords)]
      .filter((record) => record.good).map((record) => record.value as { id: number; d?: number | null; flag?: boolean | null })
      .filter((record) => (typeof record.d === "number" && record.d > 0) || record.flag === true);
    assert.deepStrictEqual(ids.sort((a, b) => a - b), records.map((record) => record.id).sort((a, b) => a - b));
  });

  it("MemoryStream: a checkpoint written by position restores named, and the reverse: each row once", async () => {
    const session = natsSession(server().options);
    try {
      const stream = new MemoryStream(session, z.object({ user: z.string(), amount: z.number().int() }));
      const output = join(folder(), "memory-out");
      const checkpoint = join(folder(), "memory-checkpoint");
      const positional: boolean[][] = [];
      for (const [round, mode] of (["auto", "off", "auto", "off"] as const).entries()) {
        session.conf.set("rill.rows.positional", mode);
        stream.addData(Array.from({ length: 50 }, (_, index) => (index === 7 ? { user: 7, amount: round } : { user: `u${round}`, amount: round * 50 + index })) as never);
        const query = await stream.toDF().where("amount % 2 = 0").writeStream.queryName("posrec_memory_restart").format("json").option("path", output).option("checkpointLocation", checkpoint).start();
        await query.processAllAvailable();
        positional.push(sourcesPositional(query));
        await query.stop();
      }
      assert.deepStrictEqual(positional, [[true], [false], [true], [false]]);
      const amounts = (await committedLines(output)).map((line) => (JSON.parse(line) as { amount: number }).amount).sort((a, b) => a - b);
      const expected = Array.from({ length: 200 }, (_, index) => index).filter((amount) => amount % 50 !== 7 && amount % 2 === 0);
      assert.deepStrictEqual(amounts, expected);
    } finally {
      await session.stop();
    }
  });
});
