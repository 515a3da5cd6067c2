// Rows by position in source stages (rill.rows.positional, positionalSourcePlanOf): the CSV source (a DDL schema) and the
// activity source build their rows as arrays and run their chained filters and projections over them. Over real NATS
// with chaining on (the default: the chain runs in the source actor), the same query by position and named must give
// the same rows and the same dead letters; a checkpoint written either way restores the other.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { DataFrame, Row, Session } from "../../src/index.ts";
import { watchDeadLetters } from "../helpers/dead-letters.ts";
import { committedLines } from "../helpers/kill-runs.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { sourcesPositional } from "../helpers/positional-actors.ts";
import type { RowsMode } from "../helpers/positional-run.ts";
import { seededInts } from "../helpers/seeded.ts";
import { useNatsSession } from "../helpers/session.ts";
import { useTempFolder } from "../helpers/temp-folder.ts";

const server = useNatsServer();
const testSession = useNatsSession(() => server().options);

/** Every type the CSV source reads; the file's column order. */
const DDL = "id INT, big LONG, d DOUBLE, flag BOOLEAN, at TIMESTAMP, a STRING, b STRING, p STRING";
const VALID = ["a+", "^b", "c$", "x|y"];
const INVALID = ["(", "[a"];

interface Record {
  readonly id: number;
  readonly big: number | bigint | null;
  readonly d: number | null;
  readonly flag: boolean | null;
  readonly at: number | null;
  readonly a: string | null;
  readonly b: string | null;
  readonly p: string | null;
}

/** One CSV line and what it holds: a record, or a record that fails the schema (a dead letter). */
type Line = { readonly text: string; readonly record: Record } | { readonly text: string; readonly bad: true };

const csvText = (value: string): string => (/[,"]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/** CSV lines: nulls (empty fields) now and then, longs past 2^53, quoted texts, invalid patterns, records failing the schema. */
function csvLines(count: number, seed: number, first: number): Line[] {
  const next = seededInts(seed);
  const texts = ["aaa", "bcd", "abc", "xy", "z12", "ccc", "with, comma", 'quote " in'];
  const maybe = <T>(value: T): T | null => (next(6) === 0 ? null : value);
  const lines: Line[] = [];
  for (let index = 0; index < count; index++) {
    const id = first + index;
    const kind = next(40);
    if (kind === 0) lines.push({ text: `${id},notanumber,1.5,true,2026-01-01 00:00:00,a,b,a+`, bad: true });
    else if (kind === 1) lines.push({ text: `${id},1,2.5,maybe,2026-01-01 00:00:00,a,b,a+`, bad: true });
    else if (kind === 2) lines.push({ text: `${id},1,2.5,true,not a time,a,b,a+`, bad: true });
    else if (kind === 3) lines.push({ text: `${id},2`, record: { id, big: 2, d: null, flag: null, at: null, a: null, b: null, p: null } });
    else {
      const record: Record = {
        id,
        big: maybe(next(2) === 0 ? 2n ** 60n + BigInt(id) : id * 1000 - 5000),
        d: maybe((next(2000) - 1000) / 8),
        flag: maybe(next(2) === 0),
        at: maybe(Date.UTC(2026, 0, 1) + id * 1000),
        a: maybe(texts[next(texts.length)] as string),
        b: maybe(`b${next(50)}`),
        p: next(12) === 0 ? (INVALID[next(INVALID.length)] as string) : (VALID[next(VALID.length)] as string),
      };
      const field = (value: unknown): string => (value === null ? "" : value instanceof Date ? value.toISOString() : csvText(String(value)));
      const at = record.at === null ? null : new Date(record.at);
      lines.push({ text: [record.id, record.big, record.d, record.flag, at, record.a, record.b, record.p].map(field).join(","), record });
    }
  }
  return lines;
}

interface Letter {
  readonly operator?: string;
  readonly source?: string;
  readonly reason: string;
  readonly raw: string;
}

interface RunResult {
  readonly rows: Row[];
  readonly letters: Letter[];
  readonly sourcesPositional: boolean[];
  readonly explain: string;
}

let runs = 0;

/** Runs `build` over the source `read` makes, in two triggers (`between` runs after the first), memory sink. */
async function run(mode: RowsMode, read: (session: Session) => DataFrame, build: (input: DataFrame) => DataFrame, expectedLetters: number, between?: () => Promise<void>, inputRows?: number): Promise<RunResult> {
  const session = testSession.open({ "rill.rows.positional": mode, "rill.flow.maxFrameRows": 64 });
  const name = `possrc_${runs++}_${mode}`;
  const watch = await watchDeadLetters<Letter>(server().options, name, expectedLetters);
  const letters = watch.letters;
  try {
    const query = await build(read(session)).writeStream.queryName(name).format("memory").outputMode("append").start();
    await query.processAllAvailable();
    // An open-loop source's rows become available as they fall due: read until all of them have come in.
    for (let attempt = 0; inputRows !== undefined && query.status.numInputRows < inputRows; attempt++) {
      assert.ok(attempt < 1000, `the source read ${query.status.numInputRows} of ${inputRows} rows (${mode})`);
      await query.processAllAvailable();
    }
    if (between) {
      await between();
      await query.processAllAvailable();
    }
    if (expectedLetters > 0) await watch.arrived();
    assert.equal(letters.length, expectedLetters, `dead letters (${mode})`);
    const positional = sourcesPositional(query);
    assert.equal(query.numRecoveries, 0);
    return { rows: session.table(name), letters, sourcesPositional: positional, explain: query.explain() };
  } finally {
    await watch.close();
  }
}

/** Both ways: the same rows in the same order and the same dead letters; the positional run's sources run by position. */
async function bothWays(read: (session: Session) => DataFrame, build: (input: DataFrame) => DataFrame, expectedLetters: number, between?: { auto: () => Promise<void>; off: () => Promise<void> }, unordered = false, inputRows?: number): Promise<RunResult> {
  const positional = await run("auto", read, build, expectedLetters, between?.auto, inputRows);
  await testSession.stop();
  const named = await run("off", read, build, expectedLetters, between?.off, inputRows);
  // Partitions reach the sink in no fixed order: an unordered source's rows are compared sorted (the same multiset).
  const inOrder = (rows: Row[]) => (unordered ? [...rows].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0)) : rows);
  assert.deepStrictEqual(inOrder(positional.rows), inOrder(named.rows), "the same rows by position and named");
  const letterOf = (letter: Letter) => ({ operator: letter.operator?.replace(/^possrc_\d+_\w+/, ""), source: letter.source?.replace(/^possrc_\d+_\w+/, ""), reason: letter.reason, raw: letter.raw });
  const order = (a: ReturnType<typeof letterOf>, b: ReturnType<typeof letterOf>) => (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0);
  assert.deepStrictEqual(positional.letters.map(letterOf).sort(order), named.letters.map(letterOf).sort(order), "the same dead letters");
  assert.ok(positional.sourcesPositional.length > 0 && positional.sourcesPositional.every(Boolean), `sources by position: ${JSON.stringify(positional.sourcesPositional)}`);
  assert.ok(named.sourcesPositional.every((value) => !value), "off: no source by position");
  assert.match(positional.explain, /source-csv|source-activity/);
  assert.ok(!named.explain.includes("rows by position"));
  return positional;
}

function keyOf(row: Row): string {
  return JSON.stringify(row, (_, value: unknown) => (typeof value === "bigint" ? `${value}n` : value));
}

describe("rows by position in source stages", () => {
  const folder = useTempFolder("rill-possrc-");

  /**
   * A folder with two CSV files now and a third written by `third()`; the second file ends with a record that does not
   * parse (a quote never closed), and holds a blank line. `records` are the good records in file order.
   */
  async function csvFolder(name: string): Promise<{ path: string; records: Record[]; badRecords: number; third: () => Promise<void> }> {
    const path = join(folder(), name);
    await mkdir(path);
    const parts = [csvLines(150, 7, 0), csvLines(150, 11, 150), csvLines(150, 13, 300)];
    const text = (lines: readonly Line[], tail = "") => `${lines.map((line) => line.text).join("\n")}\n${tail}`;
    await writeFile(join(path, "part-0.csv"), text(parts[0] as Line[]));
    const second = parts[1] as Line[];
    await writeFile(join(path, "part-1.csv"), text([...second.slice(0, 70), { text: "", bad: true }, ...second.slice(70)], '999,1,1,true,,"never closed,b,a+\n'));
    const lines = parts.flat();
    const records = lines.flatMap((line) => ("record" in line ? [line.record] : []));
    const badRecords = lines.filter((line) => "bad" in line && line.text !== "").length + 1;
    return { path, records, badRecords, third: () => writeFile(join(path, "part-2.csv"), text(parts[2] as Line[])) };
  }

  it("csv: filters on columns not selected, columns in another order, nulls, every type, bad records: plain code's rows, the same rows and letters both ways", async () => {
    const input = await csvFolder("mixed");
    const passes = (row: Record) => (row.d !== null && row.d > 0) || row.flag === true;
    const badPattern = input.records.filter((row) => passes(row) && row.a !== null && row.p !== null && INVALID.includes(row.p));
    assert.ok(badPattern.length > 3 && input.badRecords > 10, `bad patterns ${badPattern.length}, bad records ${input.badRecords}`);
    const result = await bothWays((s) => s.readStream.schema(DDL).csv(input.path), (events) => events.where("d > 0 or flag").where("a rlike p").select("b", "at", "a", "id", "big"), input.badRecords + badPattern.length, { auto: input.third, off: async () => undefined });
    const expected = input.records.filter((row) => passes(row) && row.a !== null && row.p !== null && !INVALID.includes(row.p) && new RegExp(row.p).test(row.a))
      .map((row) => ({ b: row.b, at: row.at, a: row.a, id: row.id, big: row.big }));
    assert.deepStrictEqual(result.rows.map((row) => ({ ...row })), expected);
    assert.deepStrictEqual(Object.keys(result.rows[0] as Row), ["b", "at", "a", "id", "big"]);
    assert.ok(expected.some((row) => typeof row.big === "bigint") && expected.some((row) => row.b === null) && expected.some((row) => row.at === null), "longs past 2^53 and nulls in the output");
    const filterLetters = result.letters.filter((letter) => letter.operator !== undefined && /filter/.test(letter.operator));
    assert.equal(filterLetters.length, badPattern.length);
    for (const letter of filterLetters) {
      const raw = JSON.parse(letter.raw) as { [key: string]: unknown };
      assert.deepStrictEqual(Object.keys(raw), ["id", "big", "d", "flag", "at", "a", "b", "p"], "the filter's input row, every source column named");
      assert.ok(INVALID.includes(raw.p as string));
    }
    assert.ok(result.letters.some((letter) => /not valid CSV/.test(letter.reason)) && result.letters.some((letter) => /fails the schema/.test(letter.reason)));
  });

  it("csv with a header whose columns come in another order than the schema's: read by name, the same both ways", async () => {
    const path = join(folder(), "header");
    await mkdir(path);
    const lines = ["p,b,id,a,d", "x|y,b1,1,xx,1.5", "a+,,2,aaa,-2", "c$,b3,3,abc,", "(,b4,4,,7"];
    await writeFile(join(path, "part-0.csv"), `${lines.join("\n")}\n`);
    const result = await bothWays((s) => s.readStream.schema("id INT, a STRING, b STRING, d DOUBLE, p STRING").option("header", "true").csv(path), (events) => events.where("d is null or d > 0").select("p", "a", "id"), 0);
    assert.deepStrictEqual(result.rows.map((row) => ({ ...row })), [{ p: "x|y", a: "xx", id: 1 }, { p: "c$", a: "abc", id: 3 }, { p: "(", a: null, id: 4 }]);
  });

  it("activity: scenario (a)'s chain over the open-loop generator, the same rows both ways", async () => {
    const read = (s: Session) => s.readStream.format("activity").option("rowsPerSecond", 200_000).option("totalRows", 6000).option("numPartitions", 2).option("seed", 3).option("duplicateFraction", 0.05).load();
    // Arrival_Time and Creation_Time come from the clock: the columns compared are those a seed fixes.
    const result = await bothWays(read, (events) => events.where("gt is not null").where("x > 0").select("Index", "Device", "gt", "z", "User", "y"), 0, undefined, true, 6000);
    assert.ok(result.rows.length > 1000, `rows: ${result.rows.length}`);
    assert.deepStrictEqual(Object.keys(result.rows[0] as Row), ["Index", "Device", "gt", "z", "User", "y"]);
  });

  it("a checkpoint written named restores by position, and the reverse: the rows of one run", async () => {
    const input = await csvFolder("restart");
    const output = join(folder(), "restart-out");
    const checkpoint = join(folder(), "restart-checkpoint");
    const once = async (mode: RowsMode, write?: () => Promise<void>): Promise<boolean[]> => {
      const session = testSession.open({ "rill.rows.positional": mode });
      const query = await session.readStream.schema(DDL).option("maxFilesPerTrigger", 1).csv(input.path).where("d > 0 or flag").select("id", "b", "big")
        .writeStream.queryName("possrc_restart").format("json").option("path", output).option("checkpointLocation", checkpoint).start();
      await query.processAllAvailable();
      await write?.();
      await query.processAllAvailable();
      const positional = sourcesPositional(query);
      await testSession.stop();
      return positional;
    };
    assert.deepStrictEqual(await once("off"), [false]);
    assert.deepStrictEqual(await once("auto", input.third), [true]);
    await writeFile(join(input.path, "part-3.csv"), "1000,5,1.0,,,,b1000,a+\n");
    assert.deepStrictEqual(await once("off"), [false]);
    const expected = [...input.records, { id: 1000, big: 5, d: 1, flag: null, at: null, a: null, b: "b1000", p: "a+" }]
      .filter((row) => (row.d !== null && row.d > 0) || row.flag === true).map((row) => JSON.stringify({ id: row.id, b: row.b, big: row.big === null ? null : Number(row.big) }));
    const committed = (await committedLines(output)).map((line) => {
      const row = JSON.parse(line) as { id: number; b: string | null; big: number | null };
      return JSON.stringify({ id: row.id, b: row.b ?? null, big: row.big ?? null });
    });
    assert.deepStrictEqual(committed.sort(), expected.sort());
  });
});
