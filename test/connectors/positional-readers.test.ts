// Sources that build their rows by position (SourceProvider.createPositionalReader): the same rows as their named
// readers, in the schema's column order, with the same offsets, seeks and dead letters.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { z } from "zod";
import { ActivityGenerator, ActivitySourceProvider } from "../../src/connectors/sources/activity.ts";
import { FileSourceProvider } from "../../src/connectors/sources/files.ts";
import { RateSourceProvider } from "../../src/connectors/sources/rate.ts";
import type { SourceProvider, SourceReaderOf } from "../../src/connectors/sources/source.ts";
import { parseDdlSchema } from "../../src/expr/ddl.ts";
import { rowValidator, schemaFromZod } from "../../src/core/zod-schema.ts";
import type { PositionalRow, Row } from "../../src/core/types.ts";
import { toPositionalRow } from "../../src/operators/positional-operator.ts";
import { RecordingContext, sourceRequest, tempFolder } from "./helpers.ts";

function drainAny<R>(reader: SourceReaderOf<R>, max: number, offsets: unknown[]): R[] {
  const rows: R[] = [];
  for (let batch = reader.poll(max); batch; batch = reader.poll(max)) {
    rows.push(...batch.rows);
    offsets.push(reader.offset?.());
  }
  return rows;
}

const columnsOf = (provider: SourceProvider) => provider.schema.fields.map((field) => field.name);

describe("readers by position", () => {
  it("the activity generator's nextValues makes next()'s rows as arrays, draw for draw", () => {
    const options = { seed: 11, duplicateFraction: 0.1, outOfOrderFraction: 0.2, lateFraction: 0.05, partition: 1, numPartitions: 3 };
    const named = new ActivityGenerator(options);
    const positional = new ActivityGenerator(options);
    const columns = columnsOf(new ActivitySourceProvider(sourceRequest("activity")));
    assert.deepEqual(columns, ["Arrival_Time", "Creation_Time", "Device", "Index", "Model", "User", "gt", "x", "y", "z"]);
    for (let index = 0; index < 5000; index++) {
      const arrival = 1_700_000_000_000 + index * 0.7;
      const row = named.next(arrival);
      assert.deepEqual(Object.keys(row), columns);
      assert.deepStrictEqual(positional.nextValues(arrival), toPositionalRow(columns, row), `row ${index}`);
    }
  });

  for (const [format, options] of [["activity", { rowsPerSecond: "20000", numPartitions: "2", seed: "5", totalRows: "3000", duplicateFraction: "0.05" }], ["rate", { rowsPerSecond: "20000", numPartitions: "2" }]] as const) {
    it(`${format}: after a seek, the positional reader polls the named reader's rows and offsets`, async () => {
      const provider = format === "activity" ? new ActivitySourceProvider(sourceRequest(format, options)) : new RateSourceProvider(sourceRequest(format, options));
      const columns = columnsOf(provider);
      const createPositional = provider.createPositionalReader?.bind(provider);
      assert.ok(createPositional);
      const start = Date.now() - 1000;
      const read = async <R>(reader: SourceReaderOf<R>): Promise<{ rows: R[]; offsets: unknown[] }> => {
        reader.seek?.({ start, emitted: 100 });
        const context = new RecordingContext(1, 2);
        await reader.open(context);
        // The schedule started a second before: the rows asked for are due already (the wait covers a slow machine).
        await context.waitFor(() => reader.readyCount() >= 500, 20_000, "500 rows due");
        const offsets: unknown[] = [];
        const rows = drainAny(reader, 64, offsets).slice(0, 500);
        await reader.close();
        return { rows, offsets: offsets.slice(0, 5) };
      };
      const named = await read<Row>(provider.createReader(1));
      const positional = await read<PositionalRow>(createPositional(1));
      assert.ok(named.rows.length === 500 && positional.rows.length === 500, `${named.rows.length}, ${positional.rows.length}`);
      assert.deepStrictEqual(positional.rows, named.rows.map((row) => toPositionalRow(columns, row)));
      assert.deepStrictEqual(positional.offsets, named.offsets);
    });
  }

  const ddlSchema = { fields: parseDdlSchema("id INT, big LONG, d DOUBLE, flag BOOLEAN, at TIMESTAMP, t STRING") };
  const zodSchema = z.object({ id: z.number().int().refine((id) => id % 11 !== 4, "refused"), big: z.union([z.bigint(), z.number().int()]).nullable(), d: z.number(), flag: z.boolean(), at: z.date(), t: z.string() });
  for (const [label, request] of [["a DDL schema", { schema: ddlSchema }], ["a zod schema", { schema: schemaFromZod(zodSchema), validate: rowValidator(zodSchema) }]] as const) {
    it(`csv with ${label}: the positional reader's rows, offsets, resumed partial file and dead letters are the named reader's`, async () => {
      const folder = await tempFolder();
      try {
        const lines = Array.from({ length: 300 }, (_, index) => (index % 37 === 5 ? `${index},notanumber,x,` : `${index},${index % 7 === 0 ? "" : 2n ** 60n + BigInt(index)},${index / 4},${index % 2 === 0},2026-01-01 00:00:${String(index % 60).padStart(2, "0")},"t,${index}"`));
        await writeFile(join(folder.path, "a.csv"), `${lines.slice(0, 150).join("\n")}\n`);
        await writeFile(join(folder.path, "b.csv"), `${lines.slice(150).join("\n")}\n1000,"never closed\n`);
        const provider = new FileSourceProvider(sourceRequest("csv", { path: folder.path }, request));
        const createPositional = provider.createPositionalReader;
        assert.ok(createPositional);
        const columns = columnsOf(provider);
        const read = async <R>(reader: SourceReaderOf<R>, seek?: unknown): Promise<{ rows: R[]; offsets: unknown[]; letters: string[] }> => {
          if (seek !== undefined) reader.seek?.(seek);
          const context = new RecordingContext();
          await reader.open(context);
          await reader.prepare("all");
          const offsets: unknown[] = [];
          const rows = drainAny(reader, 50, offsets);
          await reader.close();
          return { rows, offsets, letters: context.deadLetters.map((letter) => `${String(letter.raw)} ${letter.reason}`) };
        };
        const named = await read<Row>(provider.createReader(0));
        const positional = await read<PositionalRow>(createPositional(0));
        const refused = !("validate" in request) ? 0 : lines.filter((line, index) => index % 37 !== 5 && index % 11 === 4).length;
        assert.equal(named.rows.length, 300 - 8 - refused);
        assert.deepStrictEqual(positional.rows, named.rows.map((row) => toPositionalRow(columns, row)));
        assert.deepStrictEqual(positional.offsets, named.offsets);
        assert.deepStrictEqual(positional.letters, named.letters);
        assert.ok(named.letters.some((letter) => /fails the schema/.test(letter)) && named.letters.some((letter) => /not valid CSV/.test(letter)));
        // A checkpoint's offset (part-way through a.csv) resumes either reader at the same row.
        const resumeAt = named.offsets[1];
        const namedResumed = await read<Row>(provider.createReader(0), resumeAt);
        const positionalResumed = await read<PositionalRow>(createPositional(0), resumeAt);
        assert.equal(namedResumed.rows.length, 300 - 8 - refused - 100);
        assert.deepStrictEqual(positionalResumed.rows, namedResumed.rows.map((row) => toPositionalRow(columns, row)));
      } finally {
        await folder.remove();
      }
    });
  }
});
