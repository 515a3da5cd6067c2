// A query run as its own process by the kill tests: reads a folder of JSON files, writes its output, exits when done.
// Usage: node --import tsx child-query.ts <stateless|csv-stateless|csv-dedupe|aggregate|filtered-aggregate|aggregate-select|session-select|group-state> <input> <output> <checkpoint> [chaining true|false]
// [rows positional auto|off] (NATS options in RILL_TEST_NATS)
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Session, col, session_window, z, type Row } from "../../src/index.ts";
import { natsOptionsFromParent } from "../helpers/nats.ts";

const [mode, input, output, checkpoint, chaining = "true", positional = "auto"] = process.argv.slice(2) as [string, string, string, string, string?, string?];
const session = Session.builder().appName("kill-test").nats(natsOptionsFromParent()).config("rill.shuffle.partitions", 3)
  .config("rill.chaining", chaining).config("rill.rows.positional", positional).log(() => undefined).getOrCreate();
const schema = z.object({ id: z.number().int(), user: z.string(), x: z.number() });
// csv-stateless: a folder of CSV files read with a DDL schema (a source that builds its rows by position).
const events = mode === "csv-stateless" || mode === "csv-dedupe"
  ? session.readStream.schema("id INT, user STRING, x DOUBLE").option("maxFilesPerTrigger", 1).csv(input)
  : session.readStream.schema(schema).option("maxFilesPerTrigger", 1).json(input);

// filtered-aggregate: a filter and a projection before the shuffle (their own actors, by position, when chaining is off).
const grouped = mode === "filtered-aggregate" ? events.where("x > -20").selectExpr("user", "x * 10 as x") : events;
/** Writes the table: the batch's rows (complete mode), or the table so far updated by them (update mode). */
async function writeTable(rows: Row[], update: boolean, keyOf: (row: Row) => unknown = (row) => row.user): Promise<void> {
  const table = new Map<unknown, Row>();
  if (update) for (const row of JSON.parse(await readFile(join(output, "table.json"), "utf8").catch(() => "[]")) as Row[]) table.set(keyOf(row), row);
  for (const row of rows) table.set(keyOf(row), row);
  const temporary = join(output, ".table.json.tmp");
  await writeFile(temporary, JSON.stringify([...table.values()]));
  await rename(temporary, join(output, "table.json"));
}

// aggregate-select: a filter and a projection after the aggregation (by position, out of its output by position).
// group-state: mapGroupsWithState's running count and total per user (its input by position), in update mode.
const totals = z.object({ user: z.string(), n: z.number().int(), total: z.number() });
const writer = mode === "aggregate" || mode === "filtered-aggregate" || mode === "aggregate-select"
  ? (mode === "aggregate-select" ? grouped.groupBy("user").agg("count(*) as n", "sum(x) as total", "max(id) as last").where("n > 0").selectExpr("total", "user", "n") : grouped.groupBy("user").agg("count(*) as n", "sum(x) as total"))
    .writeStream.outputMode("complete").foreachBatch((rows) => writeTable(rows, false))
  : mode === "session-select"
  // session-select: session windows per user (the id as seconds), a filter and a projection after them, all by position.
  // Each file's rows come in time order, so no row bridges two sessions: no retraction, which the filter would drop.
  ? events.selectExpr("user", "x", "cast(id as timestamp) as at").groupBy(session_window(col("at"), "8 seconds"), col("user")).agg("count(*) as n", "sum(x) as total")
    .where("n > 0").selectExpr("total", "user", "n", "session_window.start as start")
    .writeStream.outputMode("complete").foreachBatch((rows) => writeTable(rows, false, (row) => `${String(row.user)}|${String(row.start)}`))
  : mode === "group-state"
  ? events.groupByKey((row) => row.user).mapGroupsWithState<{ n: number; total: number }>((user, rows, state) => {
    const previous = state.getOption() ?? { n: 0, total: 0 };
    const next = { n: previous.n + rows.length, total: previous.total + rows.reduce((sum, row) => sum + (row.x as number), 0) };
    state.update(next);
    return { user, ...next };
  }, { outputSchema: totals }).writeStream.outputMode("update").foreachBatch((rows) => writeTable(rows, true))
  : mode === "csv-dedupe"
  // csv-dedupe: withWatermark in the source stage, then dropDuplicates after a shuffle and a projection after it.
  ? events.selectExpr("id", "user", "x", "cast(id as timestamp) as at").withWatermark("at", "1 hour").dropDuplicates(["user", "x"]).selectExpr("id", "user", "x")
    .writeStream.format("json").option("path", output)
  : events.where("x > 0").selectExpr("id", "user", "x * 10 as x10").writeStream.format("json").option("path", output);

// Every file is one epoch's worth (maxFilesPerTrigger 1): each epoch that read one is reported, so a kill lands mid-run.
session.streams.addListener({
  onQueryProgress: ({ progress }) => {
    if (progress.numInputRows > 0) process.stdout.write(`epoch ${progress.batchId}\n`);
  },
});
const query = await writer.queryName(`kill_${mode}`).option("checkpointLocation", checkpoint).trigger({ continuous: "100 milliseconds" }).start();
// processAllAvailable() returns once every file has been read, over as many epochs as the read limit makes.
await query.processAllAvailable();
// How the aggregation ran (the kill test of the positional aggregation checks it ran by position, or named).
if (query.explain().includes("rows by position into aggregate")) process.stdout.write("aggregate by position\n");
if (query.explain().includes("rows by position into aggregate (its input read by index) and out of it by position")) process.stdout.write("aggregate out by position\n");
if (query.explain().includes("rows by position into session-window (its input read by index) and out of it by position")) process.stdout.write("session-window out by position\n");
if (query.explain().includes("rows by position into group-state")) process.stdout.write("group-state by position\n");
// How dropDuplicates's stage ran (its whole chain by position, or named).
if (/deduplicate: [^\n]*\n(?: {4}\S[^\n]*\n)*? {4}rows by position(\n|$)/.test(query.explain())) process.stdout.write("deduplicate by position\n");
// How a stateless query's stages ran (the kill test of a JSON source by position checks it).
if (query.explain().includes("rows by position")) process.stdout.write("rows by position\n");
process.stdout.write(`done ${query.lastProgress?.batchId ?? -1}\n`);
await session.stop();
