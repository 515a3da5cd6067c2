// The file sink's formats read back to the rows written: JSON Lines, CSV (csv-parse), Parquet (hyparquet, the writer's sibling reader).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "csv-parse/sync";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { committedFiles, FileSinkProvider } from "../../src/connectors/sinks/files.ts";
import { parquetTypeOf } from "../../src/connectors/sinks/files-format.ts";
import type { Row } from "../../src/core/types.ts";
import { sinkRequest, tempFolder } from "./helpers.ts";

/** Writes each list of rows as one committed epoch and returns the committed files. */
async function writeEpochs(format: string, options: Record<string, string>, epochs: readonly (readonly Row[])[]): Promise<{ files: string[]; remove: () => Promise<void> }> {
  const folder = await tempFolder();
  const path = join(folder.path, "out");
  const writer = new FileSinkProvider(sinkRequest(format, { path, ...options })).createWriter();
  await writer.open({ queryName: "test", queryId: "formats", outputMode: "append", orderReproducible: true, checkpointed: false, lastCommittedEpoch: -1 });
  for (const [epoch, rows] of epochs.entries()) {
    await writer.endEpoch?.(epoch, rows);
    await writer.commitEpoch?.(epoch);
  }
  await writer.close();
  return { files: await committedFiles(path), remove: folder.remove };
}

async function readParquet(file: string): Promise<Row[]> {
  const bytes = await readFile(file);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return (await parquetReadObjects({ file: buffer })).map((row) =>
    Object.fromEntries(Object.entries(row).map(([name, value]) => [name, typeof value === "bigint" ? Number(value) : value])));
}

describe("file sink formats", () => {
  const rows: Row[] = [
    { id: 1, name: "alice, \"the first\"", score: 1.5, ok: true, note: null, tags: ["a", "b"] },
    { id: 2, name: "line\nbreak", score: -3, ok: false, note: "", tags: [] },
  ];

  it("writes JSON Lines that read back to the rows, leaving null fields out as Spark does", async () => {
    const written = await writeEpochs("json", {}, [rows]);
    try {
      assert.equal(written.files.length, 1);
      const text = await readFile(written.files[0] as string, "utf8");
      assert.equal(text.split("\n").length, 3);
      const { note: _note, ...first } = rows[0] as Row;
      assert.deepEqual(text.trimEnd().split("\n").map((line) => JSON.parse(line) as Row), [first, rows[1]]);
    } finally {
      await written.remove();
    }
  });

  it("keeps null fields in JSON with ignoreNullFields false", async () => {
    const written = await writeEpochs("json", { ignoreNullFields: "false" }, [rows]);
    try {
      const text = await readFile(written.files[0] as string, "utf8");
      assert.deepEqual(text.trimEnd().split("\n").map((line) => JSON.parse(line) as Row), rows);
    } finally {
      await written.remove();
    }
  });

  it("writes CSV with a header that csv-parse reads back, nulls empty and empty strings quoted", async () => {
    const written = await writeEpochs("csv", { header: "true" }, [rows]);
    try {
      const text = await readFile(written.files[0] as string, "utf8");
      assert.equal(text.split("\n")[0], "id,name,score,ok,note,tags");
      const records = parse(text, { columns: true, cast: (value, context) => (value === "" && !context.quoting ? null : value) }) as Row[];
      assert.deepEqual(records, [
        { id: "1", name: "alice, \"the first\"", score: "1.5", ok: "true", note: null, tags: "[\"a\",\"b\"]" },
        { id: "2", name: "line\nbreak", score: "-3", ok: "false", note: "", tags: "[]" },
      ]);
    } finally {
      await written.remove();
    }
  });

  it("writes CSV without a header by default, with the given separator", async () => {
    const written = await writeEpochs("csv", { sep: ";" }, [[{ a: 1, b: "x;y" }]]);
    try {
      assert.equal(await readFile(written.files[0] as string, "utf8"), "1;\"x;y\"\n");
    } finally {
      await written.remove();
    }
  });

  it("writes Parquet that hyparquet reads back to the rows, with inferred nullable column types", async () => {
    const at = new Date(Date.UTC(2024, 0, 1, 12));
    const parquetRows: Row[] = [
      { id: 1, name: "alice", score: 1.5, ok: true, at, note: null, tags: ["a", "b"] },
      { id: 2, name: null, score: 2, ok: false, at: null, note: null, tags: null },
    ];
    const written = await writeEpochs("parquet", {}, [parquetRows]);
    try {
      assert.deepEqual(await readParquet(written.files[0] as string), parquetRows);
      const bytes = await readFile(written.files[0] as string);
      const schema = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)).schema.slice(1);
      assert.deepEqual(schema.map((element) => [element.name, element.type, element.converted_type, element.repetition_type]), [
        ["id", "INT64", undefined, "OPTIONAL"],
        ["name", "BYTE_ARRAY", "UTF8", "OPTIONAL"],
        ["score", "DOUBLE", undefined, "OPTIONAL"],
        ["ok", "BOOLEAN", undefined, "OPTIONAL"],
        ["at", "INT64", "TIMESTAMP_MILLIS", "OPTIONAL"],
        ["note", "BYTE_ARRAY", "UTF8", "OPTIONAL"],
        ["tags", "BYTE_ARRAY", "JSON", "OPTIONAL"],
      ]);
    } finally {
      await written.remove();
    }
  });

  it("keeps a Parquet column DOUBLE in later epochs once it held a fraction", async () => {
    const written = await writeEpochs("parquet", { compression: "uncompressed" }, [[{ x: 0.5 }], [{ x: 2 }]]);
    try {
      assert.equal(written.files.length, 2);
      const bytes = await readFile(written.files[1] as string);
      assert.equal(parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)).schema[1]?.type, "DOUBLE");
      assert.deepEqual(await readParquet(written.files[1] as string), [{ x: 2 }]);
    } finally {
      await written.remove();
    }
  });

  it("infers Parquet types from a column's values", () => {
    assert.equal(parquetTypeOf([1, 2, null], undefined), "INT64");
    assert.equal(parquetTypeOf([1, 2.5], undefined), "DOUBLE");
    assert.equal(parquetTypeOf([1, 2], "DOUBLE"), "DOUBLE");
    assert.equal(parquetTypeOf([null, null], undefined), "STRING");
    assert.equal(parquetTypeOf([null], "BOOLEAN"), "BOOLEAN");
    assert.equal(parquetTypeOf([1, "a"], undefined), "JSON");
    assert.equal(parquetTypeOf([new Uint8Array([1])], undefined), "BYTE_ARRAY");
  });
});
