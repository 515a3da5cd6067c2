// Test helper: one run of a query over a MemoryStream for the tests of rows by position, which run each query with
// rill.rows.positional auto and off and compare the two.
import assert from "node:assert/strict";
import type { z } from "zod";
import type { ZodRowSchema } from "../../src/core/zod-schema.ts";
import { MemoryStream, type DataFrame, type Row, type StreamingQuery } from "../../src/index.ts";
import { operatorActorRows, type ActorRows } from "./positional-actors.ts";
import type { TestSession } from "./session.ts";

export type RowsMode = "auto" | "off";

/** The settings of the stateful stage tests: two shuffle partitions, frames of at most 32 rows. */
export const STAGE_SETTINGS: Readonly<Record<string, number>> = { "rill.shuffle.partitions": 2, "rill.flow.maxFrameRows": 32 };

/** Adds `data` to `input` in `parts` parts of ceil(length / parts) rows (the last the rest), each processed by `query`. */
export async function feedInParts<S extends ZodRowSchema>(input: MemoryStream<S>, query: StreamingQuery, data: ReadonlyArray<z.input<S>>, parts: number): Promise<void> {
  const size = Math.ceil(data.length / parts);
  for (let part = 0; part < parts; part++) {
    input.addData(data.slice(part * size, (part + 1) * size));
    await query.processAllAvailable();
  }
}

export interface MemoryRunOptions<S extends ZodRowSchema> {
  readonly schema: S;
  /** Fed in thirds. */
  readonly data: ReadonlyArray<z.input<S>>;
  /** The query's name and its memory table's. */
  readonly name: string;
  readonly outputMode: "append" | "update" | "complete";
  readonly build: (input: DataFrame) => DataFrame;
  /** Which operator actors the result reports: those whose name holds it. */
  readonly stage: string;
}

export interface MemoryRun {
  /** The memory table's rows, copied. */
  readonly rows: Row[];
  /** How the operator actors of the stage ran their rows. */
  readonly actors: ActorRows[];
  readonly explain: string;
}

/**
 * Opens a session with `settings`, runs `build` over a MemoryStream of `data` fed in thirds into a memory table,
 * checks the query never recovered and stops the session.
 */
export async function runToMemory<S extends ZodRowSchema>(testSession: TestSession, settings: Record<string, string | number>, options: MemoryRunOptions<S>): Promise<MemoryRun> {
  const session = testSession.open(settings);
  const input = new MemoryStream(session, options.schema);
  const query = await options.build(input.toDF()).writeStream.queryName(options.name).format("memory").outputMode(options.outputMode).start();
  await feedInParts(input, query, options.data, 3);
  assert.equal(query.numRecoveries, 0);
  const result = { rows: session.table(options.name).map((row) => ({ ...row })), actors: operatorActorRows(query, options.stage), explain: query.explain() };
  await testSession.stop();
  return result;
}

export interface SwitchRunOptions<S extends ZodRowSchema, T> {
  readonly schema: S;
  /** Fed in two halves. */
  readonly data: ReadonlyArray<z.input<S>>;
  /** The query's name and its memory table's. */
  readonly name: string;
  /** The query up to its sink, written in complete mode to the memory table. */
  readonly build: (input: DataFrame) => DataFrame;
  /** The table as the test compares it. */
  readonly read: (rows: Row[]) => T;
}

/**
 * Runs `build` over the first half of `data` with rill.rows.positional = `first`; with a checkpoint `location`, stops
 * and starts the query again on it with `second` for the rest (a checkpoint written one way, restored the other);
 * without one, the same run takes both halves. Returns the table (as `read` gives it) and each run's explain().
 */
export async function runAcrossSwitch<S extends ZodRowSchema, T>(testSession: TestSession, settings: Record<string, string | number>, options: SwitchRunOptions<S, T>, first: RowsMode, second: RowsMode, location: string | undefined): Promise<{ rows: T; explains: string[] }> {
  const session = testSession.open(settings);
  const input = new MemoryStream(session, options.schema);
  const start = async (mode: RowsMode): Promise<StreamingQuery> => {
    session.conf.set("rill.rows.positional", mode);
    const writer = options.build(input.toDF()).writeStream.queryName(options.name).format("memory").outputMode("complete");
    return (location === undefined ? writer : writer.option("checkpointLocation", location)).start();
  };
  const half = options.data.length >> 1;
  let query = await start(first);
  const explains = [query.explain()];
  input.addData(options.data.slice(0, half));
  await query.processAllAvailable();
  if (location !== undefined) {
    await query.stop();
    query = await start(second);
    explains.push(query.explain());
  }
  input.addData(options.data.slice(half));
  await query.processAllAvailable();
  const result = { rows: options.read(session.table(options.name).map((row) => ({ ...row }))), explains };
  await testSession.stop();
  return result;
}
