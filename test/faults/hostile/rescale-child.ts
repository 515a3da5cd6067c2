// A stateful query run as its own process by the hostile rescale test: reads a folder of JSON files, writes the file
// sink's output, exits when done. Its shuffle partitions come from the command line, so each run may use another number.
// Usage: node --import tsx rescale-child.ts <window-append|dedupe|group-state> <input> <output> <checkpoint> <partitions>
// (NATS options in RILL_TEST_NATS)
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { functions, Session, z, type Row } from "../../../src/index.ts";
import { natsOptionsFromParent } from "../../helpers/nats.ts";

const [mode, input, output, checkpoint, partitions] = process.argv.slice(2) as [string, string, string, string, string];
const session = Session.builder().appName("hostile-rescale").nats(natsOptionsFromParent()).config("rill.shuffle.partitions", Number(partitions))
  .log(() => undefined).getOrCreate();
const schema = z.object({ id: z.number().int(), user: z.string(), x: z.number() });
const events = session.readStream.schema(schema).option("maxFilesPerTrigger", 1).json(input).selectExpr("id", "user", "x", "cast(id as timestamp) as at");

/** The table so far, updated by the batch's rows (update mode), kept in one file replaced whole. */
async function writeTable(rows: Row[]): Promise<void> {
  const table = new Map<unknown, Row>();
  for (const row of JSON.parse(await readFile(join(output, "table.json"), "utf8").catch(() => "[]")) as Row[]) table.set(row.user, row);
  for (const row of rows) table.set(row.user, row);
  await writeFile(join(output, ".table.json.tmp"), JSON.stringify([...table.values()]));
  await rename(join(output, ".table.json.tmp"), join(output, "table.json"));
}

const totals = z.object({ user: z.string(), n: z.number().int(), total: z.number(), last: z.number().int() });
const writer = mode === "window-append"
  // Windows of 100 s of event time (one per 100 ids), closed and written once by a 30 s watermark.
  ? events.withWatermark("at", "30 seconds").groupBy(functions.window(functions.col("at"), "100 seconds"), functions.col("user"))
    .agg("count(*) as n", "sum(x) as total", "min(id) as first").selectExpr("cast(window.start as long) as start", "user", "n", "total", "first")
    .writeStream.outputMode("append").format("json").option("path", output)
  : mode === "dedupe"
  ? events.dropDuplicates(["user", "x"]).selectExpr("id", "user", "x").writeStream.format("json").option("path", output)
  : events.groupByKey((row) => row.user).mapGroupsWithState<{ n: number; total: number; last: number }>((user, rows, state) => {
    const previous = state.getOption() ?? { n: 0, total: 0, last: -1 };
    const next = { n: previous.n + rows.length, total: previous.total + rows.reduce((sum, row) => sum + (row.x as number), 0), last: Math.max(previous.last, ...rows.map((row) => row.id as number)) };
    state.update(next);
    return { user, ...next };
  }, { outputSchema: totals }).writeStream.outputMode("update").foreachBatch((rows) => writeTable(rows));

session.streams.addListener({
  onQueryProgress: ({ progress }) => {
    if (progress.numInputRows > 0) process.stdout.write(`epoch ${progress.batchId}\n`);
  },
});
const query = await writer.queryName(`hostile_rescale_${mode.replace("-", "_")}`).option("checkpointLocation", checkpoint).trigger({ continuous: "100 milliseconds" }).start();
await query.processAllAvailable();
process.stdout.write(`done ${query.lastProgress?.batchId ?? -1}\n`);
await session.stop();
