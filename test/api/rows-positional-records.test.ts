// Rows by position in source stages that read records by the schema's names (positionalRecordChecker): JSON files (a
// DDL schema and a zod one), text files and MemoryStream. Over real NATS with chaining on, the same query by position
// and named gives the same rows and the same dead letters, and a checkpoint written either way restores the other.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MemoryStream, z, type DataFrame, type Session } from "../../src/index.ts";
import { committedLines } from "../helpers/kill-runs.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { sourcesPositional } from "../helpers/positional-actors.ts";
import { bothWays, DDL, jsonRecords, ZOD, type JsonRecord } from "../helpers/positional-sources.ts";
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
