// Test helper for source stages by position (rows-positional-records, positional-broker-sources): JSON records good
// and bad, and one query run with rill.rows.positional auto or off over real NATS, its rows, dead letters and whether
// its source actors ran by position.
import assert from "node:assert/strict";
import { z } from "zod";
import type { DataFrame, NatsOptions, Row, Session, StreamingQuery } from "../../src/index.ts";
import { schemaOf, type Schema } from "../../src/core/types.ts";
import { parseDdlSchema } from "../../src/expr/ddl.ts";
import { watchDeadLetters } from "./dead-letters.ts";
import { sourcesPositional } from "./positional-actors.ts";
import { seededInts } from "./seeded.ts";
import { natsSession } from "./session.ts";

/** Every type a JSON record holds; `id` may not be null (a StructType-like schema: DDL has no NOT NULL). */
export const DDL: Schema = schemaOf(parseDdlSchema("id INT, big LONG, d DOUBLE, flag BOOLEAN, at TIMESTAMP, a STRING").map((field) => (field.name === "id" ? { ...field, nullable: false } : field)));
/** The same records under a zod schema (no `big`: a field of the record the schema leaves out). */
export const ZOD = z.object({ id: z.number().int(), d: z.number().nullable().optional(), flag: z.boolean().nullable().optional(), at: z.date().nullable().optional(), a: z.string().nullable().optional() });

/** One record as JSON text, and whether it passes the schema (either schema: both judge every record alike). */
export interface JsonRecord {
  readonly text: string;
  readonly good: boolean;
  /** The record as an object, when it is one (for msgpack). */
  readonly value?: unknown;
}

/**
 * JSON records: text that is not JSON, fields of the wrong type, timestamps as text (with a space or a T) or epoch
 * milliseconds, longs past 2^53, missing and extra fields, nulls, arrays and numbers where an object belongs.
 */
export function jsonRecords(count: number, seed: number, first: number): JsonRecord[] {
  const next = seededInts(seed);
  const maybe = <T>(value: T): T | null => (next(6) === 0 ? null : value);
  const records: JsonRecord[] = [];
  const object = (value: { [key: string]: unknown }, good: boolean, text = JSON.stringify(value)) => records.push({ text, good, value });
  for (let index = 0; index < count; index++) {
    const id = first + index;
    const kind = next(30);
    if (kind === 0) records.push({ text: `{"id": ${id}, not json`, good: false });
    else if (kind === 1) object({ id: `x${id}`, d: 1 }, false);
    else if (kind === 2) object({ id, d: 1, flag: "maybe" }, false);
    else if (kind === 3) object({ id, d: 1, at: "not a time" }, false);
    else if (kind === 4) records.push({ text: `[${id}, 2]`, good: false, value: [id, 2] });
    else if (kind === 5) object({ big: id, d: 2 }, false);
    else if (kind === 6) records.push({ text: String(id), good: false, value: id });
    else if (kind === 7) object({ id }, true);
    else if (kind === 8) object({ id, d: 0.5, at: Date.UTC(2026, 0, 1) + id, extra: "x", a: "e" }, true);
    else {
      const at = new Date(Date.UTC(2026, 0, 1) + id * 1000).toISOString();
      const value = { id, d: maybe((next(2000) - 1000) / 8), flag: maybe(next(2) === 0), at: maybe(next(2) === 0 ? at : at.replace("T", " ").replace("Z", "")), a: maybe(`a${next(50)}`) };
      // A long past 2^53 as bare digits (exact by parseJsonWithLongs), now and then.
      const big = next(3) === 0 ? `${2n ** 60n + BigInt(id)}` : String(maybe(id * 1000 - 5000));
      object(value, true, `${JSON.stringify(value).slice(0, -1)},"big":${big}}`);
    }
  }
  return records;
}

export interface Letter {
  readonly operator?: string;
  readonly source?: string;
  readonly reason: string;
  readonly raw: string;
  readonly rawBase64?: string;
}

export interface RunResult {
  readonly rows: Row[];
  readonly letters: Letter[];
  readonly sourcesPositional: boolean[];
  readonly explain: string;
}

export interface RunOptions {
  readonly server: NatsOptions;
  readonly mode: "auto" | "off";
  readonly name: string;
  readonly read: (session: Session) => DataFrame;
  readonly build: (input: DataFrame) => DataFrame;
  /** Rows the source reads (before any filter) and records it dead-letters. */
  readonly inputRows: number;
  readonly letters: number;
  /** Sends the input once the query runs (a broker source that keeps nothing for a query not yet subscribed). */
  readonly feed?: (query: StreamingQuery) => Promise<void>;
  /** When the query has read everything, for a source that reads rows the count leaves out (probes): then `inputRows` is a least. */
  readonly until?: (rows: Row[]) => boolean;
}

/** Runs the query to a memory sink until the source has read `inputRows` rows and `letters` dead letters came; stops the session. */
export async function runQuery(options: RunOptions): Promise<RunResult> {
  const session = natsSession(options.server, { "rill.rows.positional": options.mode, "rill.flow.maxFrameRows": 64 });
  const watch = await watchDeadLetters<Letter>(options.server, options.name, options.letters);
  const letters = watch.letters;
  try {
    const query = await options.build(options.read(session)).writeStream.queryName(options.name).format("memory").outputMode("append").start();
    await options.feed?.(query);
    await query.processAllAvailable();
    // A broker source's messages come in as the broker sends them: read until all of them have.
    const done = () => (options.until ? options.until(session.table(options.name)) : query.status.numInputRows >= options.inputRows);
    for (let attempt = 0; !done(); attempt++) {
      assert.ok(attempt < 2000, `the source read ${query.status.numInputRows} of ${options.inputRows} rows (${options.mode})`);
      await query.processAllAvailable();
    }
    if (options.letters > 0) await watch.arrived();
    assert.equal(letters.length, options.letters, `dead letters (${options.mode})`);
    if (options.until) assert.ok(query.status.numInputRows > options.inputRows, `rows read (${options.mode})`);
    else assert.equal(query.status.numInputRows, options.inputRows, `rows read (${options.mode})`);
    assert.equal(query.numRecoveries, 0);
    return { rows: session.table(options.name), letters, sourcesPositional: sourcesPositional(query), explain: query.explain() };
  } finally {
    await watch.close();
    await session.stop();
  }
}

/** Both ways: the same rows in the same order and the same dead letters; the run by position has every source by position. */
export async function bothWays(options: Omit<RunOptions, "mode" | "name"> & { readonly name: string; readonly beforeEach?: () => Promise<void> }): Promise<RunResult> {
  await options.beforeEach?.();
  const positional = await runQuery({ ...options, mode: "auto", name: `${options.name}_auto` });
  await options.beforeEach?.();
  const named = await runQuery({ ...options, mode: "off", name: `${options.name}_off` });
  assert.deepStrictEqual(positional.rows.map(plain), named.rows.map(plain), "the same rows by position and named");
  const letterOf = (letter: Letter) => ({ operator: letter.operator?.replace(/_(auto|off)/, ""), source: letter.source?.replace(/_(auto|off)/, ""), reason: letter.reason, raw: letter.raw, rawBase64: letter.rawBase64 });
  assert.deepStrictEqual(positional.letters.map(letterOf), named.letters.map(letterOf), "the same dead letters, in the same order");
  assert.ok(positional.sourcesPositional.length > 0 && positional.sourcesPositional.every(Boolean), `sources by position: ${JSON.stringify(positional.sourcesPositional)}`);
  assert.ok(named.sourcesPositional.every((value) => !value), "off: no source by position");
  assert.match(positional.explain, /rows by position/);
  assert.ok(!named.explain.includes("rows by position"));
  return positional;
}

/**
 * A row as a plain object with its keys in order (a memory table's rows may be views). A field a zod row leaves out (an
 * optional field the record lacks) is undefined in a named memory table and null by position (a positional frame
 * carries null): both are compared as null, as Spark reads a missing field.
 */
export function plain(row: Row): Row {
  const copy: Row = {};
  for (const [name, value] of Object.entries(row)) copy[name] = value === undefined ? null : value;
  return copy;
}
