// The file sources: new files picked up once, maxFilesPerTrigger, bad lines to the dead letter, csv conversion, text.
import assert from "node:assert/strict";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { FileSourceProvider } from "../../src/connectors/sources/files.ts";
import type { SourceReader } from "../../src/connectors/sources/source.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { rowValidator, schemaFromZod, type ZodRowSchema } from "../../src/core/zod-schema.ts";
import { RecordingContext, drain, sourceRequest, tempFolder } from "./helpers.ts";

const events = z.object({ id: z.number().int(), name: z.string(), score: z.number().nullable() });

let root: Awaited<ReturnType<typeof tempFolder>>;
let folders = 0;
const readers: SourceReader[] = [];

before(async () => {
  root = await tempFolder();
});
after(async () => {
  for (const reader of readers) await reader.close();
  await root.remove();
});

async function folder(): Promise<string> {
  const path = join(root.path, `case-${folders++}`);
  await mkdir(path);
  return path;
}

function provider(format: string, path: string, options: Record<string, string> = {}, schema: ZodRowSchema | null = events): FileSourceProvider {
  return new FileSourceProvider(sourceRequest(format, { pollInterval: "1 hour", ...options }, {
    path,
    schema: schema === null ? undefined : schemaFromZod(schema),
    validate: schema === null ? undefined : rowValidator(schema),
  }));
}

async function open(source: FileSourceProvider): Promise<{ reader: SourceReader; context: RecordingContext }> {
  const reader = source.createReader(0);
  readers.push(reader);
  const context = new RecordingContext();
  await reader.open(context);
  return { reader, context };
}

/** Writes a file with a chosen modification time (seconds), to order files deterministically. */
async function put(path: string, name: string, text: string, mtimeSeconds = Date.now() / 1000): Promise<void> {
  await writeFile(join(path, name), text);
  await utimes(join(path, name), mtimeSeconds, mtimeSeconds);
}

describe("json file source", () => {
  it("streams a file of several chunks with a bounded number of rows ready, and a reader seeking to an offset taken mid-file reads each remaining row once", async () => {
    const path = await folder();
    const total = 200_000;
    const lines = Array.from({ length: total }, (_, id) => JSON.stringify({ id, name: "n", score: id % 7 }));
    await put(path, "big.json", `${lines.join("\n")}\n`);
    const first = await open(provider("json", path));
    assert.ok(first.reader.readyCount() > 0 && first.reader.readyCount() < total, `part of the file is ready, not all of it (${first.reader.readyCount()} rows)`);
    assert.equal(first.reader.poll(1234)?.rows.length, 1234);
    const offset = first.reader.offset?.();
    assert.deepEqual(offset, { files: [], partial: { name: "big.json", rows: 1234 } });

    const second = provider("json", path).createReader(0);
    readers.push(second);
    second.seek?.(offset);
    const context = new RecordingContext();
    await second.open(context);
    const ids: number[] = [];
    for (;;) {
      for (const row of drain(second).rows) ids.push(row.id as number);
      const prepared = await second.prepare();
      if (prepared?.dataLeft !== true && second.readyCount() === 0) break;
    }
    assert.equal(ids.length, total - 1234);
    assert.ok(ids.every((id, index) => id === 1234 + index), "the rows after the offset, in order, each once");
    assert.deepEqual(second.offset?.(), { files: ["big.json"], partial: undefined });
    assert.equal(context.deadLetters.length, 0);
  });

  it("reads files present at open, then new files found by the poll timer, each file once", async () => {
    const path = await folder();
    await put(path, "a.json", '{"id":1,"name":"x","score":1.5}\n{"id":2,"name":"y","score":null}\n');
    const { reader, context } = await open(provider("json", path, { pollInterval: "50 ms" }));
    assert.deepEqual(drain(reader).rows, [{ id: 1, name: "x", score: 1.5 }, { id: 2, name: "y", score: null }]);
    await put(path, "b.json", '{"id":3,"name":"z","score":2}');
    await context.waitFor(() => reader.readyCount() === 1, 10_000, "b.json to be read");
    assert.deepEqual(drain(reader).rows, [{ id: 3, name: "z", score: 2 }]);
    await reader.prepare();
    assert.equal(reader.readyCount(), 0, "files already read are not read again");
    assert.equal(context.deadLetters.length, 0);
  });

  it("takes at most maxFilesPerTrigger files per listing, oldest modification time first", async () => {
    const path = await folder();
    await put(path, "1.json", '{"id":1,"name":"newest","score":0}\n', 3000);
    await put(path, "2.json", '{"id":2,"name":"oldest","score":0}\n', 1000);
    await put(path, "3.json", '{"id":3,"name":"middle","score":0}\n', 2000);
    const { reader } = await open(provider("json", path, { maxFilesPerTrigger: "1" }));
    const names: unknown[] = [];
    for (let trigger = 0; trigger < 4; trigger++) {
      if (trigger > 0) await reader.prepare();
      const { rows } = drain(reader);
      assert.ok(rows.length <= 1, `trigger ${trigger} read ${rows.length} files`);
      names.push(...rows.map((row) => row.name));
    }
    assert.deepEqual(names, ["oldest", "middle", "newest"]);
  });

  it("reads the newest files first with latestFirst", async () => {
    const path = await folder();
    await put(path, "a.json", '{"id":1,"name":"old","score":0}\n', 1000);
    await put(path, "b.json", '{"id":2,"name":"new","score":0}\n', 2000);
    const { reader } = await open(provider("json", path, { maxFilesPerTrigger: "1", latestFirst: "true" }));
    assert.deepEqual(drain(reader).rows.map((row) => row.name), ["new"]);
  });

  it("sends a line that is not JSON and a line failing the schema to the dead letter, naming file and line", async () => {
    const path = await folder();
    await put(path, "mixed.json", '{"id":1,"name":"ok","score":1}\n{"id":2,"name":\n\n{"id":"three","name":"bad","score":1}\n{"id":4,"name":"ok","score":4}\n');
    const { reader, context } = await open(provider("json", path));
    assert.deepEqual(drain(reader).rows.map((row) => row.id), [1, 4]);
    assert.equal(context.deadLetters.length, 2);
    const [broken, invalid] = context.deadLetters;
    assert.equal(broken?.raw, '{"id":2,"name":');
    assert.match(broken?.reason ?? "", /^mixed\.json:2: not valid JSON/);
    assert.equal(invalid?.raw, '{"id":"three","name":"bad","score":1}');
    assert.match(invalid?.reason ?? "", /^mixed\.json:4: fails the schema: id: /);
  });

  it("ignores files whose names start with '.' or '_'", async () => {
    const path = await folder();
    await put(path, ".partial.json", '{"id":1,"name":"hidden","score":0}\n');
    await put(path, "_SUCCESS", "");
    await put(path, "data.json", '{"id":2,"name":"seen","score":0}\n');
    const { reader } = await open(provider("json", path));
    assert.deepEqual(drain(reader).rows.map((row) => row.name), ["seen"]);
  });

  it("requires a schema and an existing folder, as Spark does", async () => {
    const path = await folder();
    assert.throws(() => provider("json", path, {}, null), (error: Error) =>
      error instanceof ConfigError && error.message.startsWith("Schema must be specified when creating a streaming source DataFrame from json files; use .schema(zodSchema)"));
    assert.throws(() => provider("json", join(path, "missing")), /Path does not exist: '.*missing'/);
    assert.throws(() => provider("json", path, { maxFilesPerTrigger: "0" }), /'maxFilesPerTrigger'.*'0'.*at least 1/);
    assert.throws(() => provider("json", path, { latestfirst: "yes" }), /'latestfirst'.*'yes'.*'true' or 'false'/);
    assert.throws(() => provider("json", path, { header: "true" }), /Unknown option 'header'/);
  });
});

describe("csv file source", () => {
  const typed = z.object({ id: z.number().int(), price: z.number(), active: z.boolean(), at: z.date(), note: z.string().nullable() });

  it("sends a record larger than the broker's payload limit to the dead letter with its line and size, and reads on", async () => {
    const path = await folder();
    const note = "w".repeat(2 * 1024 * 1024);
    await put(path, "big.csv", `1,2.5,true,2024-01-02T03:04:05Z,small\n2,1,false,2024-01-02T03:04:05Z,"${note}"\n3,1,false,2024-01-02T03:04:05Z,small\n`);
    const { reader, context } = await open(provider("csv", path, {}, typed));
    assert.deepEqual(drain(reader).rows.map((row) => row.id), [1, 3]);
    assert.equal(context.deadLetters.length, 1);
    assert.match(context.deadLetters[0]?.reason ?? "", /^big\.csv:2: record larger than the broker's payload limit \(2097\d{3} bytes, limit \d+\)/);
  });

  it("maps columns by header name and converts values to the schema's types", async () => {
    const path = await folder();
    await put(path, "a.csv", 'note,id,price,active,at\n"two\nlines",1,2.5,true,2024-01-02 03:04:05Z\n,2,3,FALSE,2024-01-02T00:00:00Z\nfine,x,1,true,2024-01-01T00:00:00Z\n');
    const { reader, context } = await open(provider("csv", path, { header: "true" }, typed));
    assert.deepEqual(drain(reader).rows, [
      { id: 1, price: 2.5, active: true, at: Date.parse("2024-01-02T03:04:05Z"), note: "two\nlines" },
      { id: 2, price: 3, active: false, at: Date.parse("2024-01-02T00:00:00Z"), note: null },
    ]);
    assert.equal(context.deadLetters.length, 1);
    assert.equal(context.deadLetters[0]?.raw, "fine,x,1,true,2024-01-01T00:00:00Z");
    assert.match(context.deadLetters[0]?.reason ?? "", /^a\.csv:5: fails the schema: id: /);
  });

  it("maps columns by position without a header, with sep and quote options", async () => {
    const path = await folder();
    await put(path, "b.csv", "1;4.0;false;2024-05-01T00:00:00Z;'a;b'\n");
    const { reader, context } = await open(provider("csv", path, { sep: ";", quote: "'" }, typed));
    assert.deepEqual(drain(reader).rows, [{ id: 1, price: 4, active: false, at: Date.parse("2024-05-01T00:00:00Z"), note: "a;b" }]);
    assert.equal(context.deadLetters.length, 0);
  });

  it("sends an unreadable record to the dead letter", async () => {
    const path = await folder();
    await put(path, "c.csv", '1,2,true,2024-01-01T00:00:00Z,ok\n2,3,true,2024-01-01T00:00:00Z,"unclosed\n');
    const { reader, context } = await open(provider("csv", path, {}, typed));
    assert.deepEqual(drain(reader).rows.map((row) => row.id), [1]);
    assert.equal(context.deadLetters.length, 1);
    assert.match(context.deadLetters[0]?.reason ?? "", /^c\.csv:\d+: not valid CSV/);
  });

  it("rejects a separator that is not one character", async () => {
    const path = await folder();
    assert.throws(() => provider("csv", path, { sep: "::" }, typed), /'sep'.*'::'.*single character/);
    assert.throws(() => provider("csv", path, { quotes: "'" }, typed), /Unknown option 'quotes'.*Did you mean 'quote'\?/);
  });
});

describe("text file source", () => {
  it("makes one row per line in a 'value' column, without a schema", async () => {
    const path = await folder();
    await put(path, "a.txt", "first line\r\n\nthird\n");
    const source = provider("text", path, {}, null);
    assert.deepEqual(source.schema.fields, [{ name: "value", type: "string", nullable: false }]);
    const { reader } = await open(source);
    assert.deepEqual(drain(reader).rows, [{ value: "first line" }, { value: "" }, { value: "third" }]);
  });
});

describe("byte order mark", () => {
  it("is dropped at the start of a JSON Lines, CSV or text file, so line 1 is read like the others", async () => {
    const path = await folder();
    await put(path, "bom.json", '\uFEFF{"id":1,"name":"a","score":1}\n{"id":2,"name":"b","score":null}\n');
    const json = await open(provider("json", path));
    assert.deepEqual(drain(json.reader).rows.map((row) => row.id), [1, 2]);
    assert.equal(json.context.deadLetters.length, 0);

    const csvPath = await folder();
    await put(csvPath, "bom.csv", "\uFEFFid,name,score\n1,a,1\n");
    const csv = await open(provider("csv", csvPath, { header: "true" }));
    assert.deepEqual(drain(csv.reader).rows, [{ id: 1, name: "a", score: 1 }]);
    assert.equal(csv.context.deadLetters.length, 0);

    const textPath = await folder();
    await put(textPath, "bom.txt", "\uFEFFfirst\nsecond\n");
    const text = await open(provider("text", textPath, {}, null));
    assert.deepEqual(drain(text.reader).rows, [{ value: "first" }, { value: "second" }]);
  });
});

describe("invalid UTF-8", () => {
  it("sends a JSON Lines or text line, or a CSV record, that is not UTF-8 to the dead letter with its line, and keeps characters cut by a chunk's end", async () => {
    const path = await folder();
    const bad = Buffer.from([0xff, 0xfe]);
    await writeFile(join(path, "a.json"), Buffer.concat([
      Buffer.from('{"id":1,"name":"a","score":1}\n{"id":2,"name":"'), bad, Buffer.from('","score":1}\n{"id":3,"name":"\u00e9","score":3}\n'),
    ]));
    const json = await open(provider("json", path));
    assert.deepEqual(drain(json.reader).rows.map((row) => [row.id, row.name]), [[1, "a"], [3, "\u00e9"]]);
    assert.equal(json.context.deadLetters.length, 1);
    assert.equal(json.context.deadLetters[0]?.reason, "a.json:2: invalid UTF-8 (the dead letter shows the bad bytes as U+FFFD)");

    const csvPath = await folder();
    await writeFile(join(csvPath, "d.csv"), Buffer.concat([Buffer.from("1,a,1\n2,\"b\n"), bad, Buffer.from("\",2\n3,c,3\n")]));
    const csv = await open(provider("csv", csvPath));
    assert.deepEqual(drain(csv.reader).rows.map((row) => row.id), [1, 3]);
    assert.deepEqual(csv.context.deadLetters.map((letter) => letter.reason), ["d.csv:2: invalid UTF-8 (the dead letter shows the bad bytes as U+FFFD)"]);

    // Across the 4 MiB chunk boundary: a valid 3-byte character cut in two, and a line whose bad byte is in the first chunk.
    const textPath = await folder();
    const before = Buffer.from(`${"x".repeat(99)}\n`.repeat(41_943));
    await writeFile(join(textPath, "b.txt"), Buffer.concat([before, Buffer.from("ab\u20ac\nlast\n")]));
    await writeFile(join(textPath, "c.txt"), Buffer.concat([before, Buffer.from("a"), bad.subarray(0, 1), Buffer.from("bcdef\nlast\n")]));
    const text = await open(provider("text", textPath, {}, null));
    const rows: string[] = [];
    for (;;) {
      for (const row of drain(text.reader).rows) rows.push(row.value as string);
      const prepared = await text.reader.prepare();
      if (prepared?.dataLeft !== true && text.reader.readyCount() === 0) break;
    }
    assert.deepEqual(rows.slice(41_943, 41_945), ["ab\u20ac", "last"]);
    assert.equal(rows.length, 2 * 41_943 + 3);
    assert.deepEqual(rows.slice(-1), ["last"]);
    assert.deepEqual(text.context.deadLetters.map((letter) => letter.reason), ["c.txt:41944: invalid UTF-8 (the dead letter shows the bad bytes as U+FFFD)"]);
  });
});
