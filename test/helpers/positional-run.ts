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
