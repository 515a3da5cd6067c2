// A SQL windowed aggregation run as its own process by the restart test: reads a folder of JSON files, writes each
// epoch's rows (update mode) or the whole table (complete mode), checkpointed; exits when every file is read.
// Usage: node --import tsx sql-child.ts <update|complete> <input> <output> <checkpoint> (NATS options in RILL_TEST_NATS)
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Session, z, type Row } from "../../src/index.ts";
import { natsOptionsFromParent } from "../helpers/nats.ts";

const [mode, input, output, checkpoint] = process.argv.slice(2) as ["update" | "complete", string, string, string];
const session = Session.builder().appName("sql-restart").nats(natsOptionsFromParent()).config("rill.shuffle.partitions", 3).log(() => undefined).getOrCreate();
const schema = z.object({ id: z.number().int(), user: z.string(), time: z.number(), x: z.number() });
session.readStream.schema(schema).option("maxFilesPerTrigger", 1).json(input)
  .selectExpr("*", "cast(time / 1000 as timestamp) as event_time")
  .withWatermark("event_time", "1 hour")
  .createOrReplaceTempView("events");

const frame = session.sql(`
  SELECT window.start AS start, user, count(*) AS n, sum(x) AS total
  FROM events
  GROUP BY window(event_time, '10 minutes'), user`);

/** Written whole under a temporary name and renamed: a kill never leaves half a file. */
async function writeAtomically(name: string, rows: readonly Row[]): Promise<void> {
  const temporary = join(output, `.${name}.tmp`);
  await writeFile(temporary, JSON.stringify(rows));
  await rename(temporary, join(output, name));
}

// foreachBatch is at-least-once: an epoch delivered again after a kill overwrites its own file (idempotent on the id).
const writer = frame.writeStream.outputMode(mode).foreachBatch(async (rows, epochId) => {
  if (mode === "complete") await writeAtomically("table.json", rows);
  else if (rows.length > 0) await writeAtomically(`epoch-${String(epochId).padStart(6, "0")}.json`, rows);
});

session.streams.addListener({
  onQueryProgress: ({ progress }) => {
    if (progress.numInputRows > 0) process.stdout.write(`epoch ${progress.batchId}\n`);
  },
});
const query = await writer.queryName(`sql_${mode}`).option("checkpointLocation", checkpoint).trigger({ continuous: "100 milliseconds" }).start();
await query.processAllAvailable();
process.stdout.write(`done ${query.lastProgress?.batchId ?? -1}\n`);
await session.stop();
