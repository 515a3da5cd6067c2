// A query run as its own process by the kill tests: reads a folder of JSON files, writes its output, exits when done.
// Usage: node --import tsx child-query.ts <stateless|csv-stateless|aggregate|filtered-aggregate> <input> <output> <checkpoint> [chaining true|false]
// [rows positional auto|off] (NATS options in RILL_TEST_NATS)
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Session, z } from "../../src/index.ts";
import { natsOptionsFromParent } from "../helpers/nats.ts";

const [mode, input, output, checkpoint, chaining = "true", positional = "auto"] = process.argv.slice(2) as [string, string, string, string, string?, string?];
const session = Session.builder().appName("kill-test").nats(natsOptionsFromParent()).config("rill.shuffle.partitions", 3)
  .config("rill.chaining", chaining).config("rill.rows.positional", positional).log(() => undefined).getOrCreate();
const schema = z.object({ id: z.number().int(), user: z.string(), x: z.number() });
// csv-stateless: a folder of CSV files read with a DDL schema (a source that builds its rows by position).
const events = mode === "csv-stateless"
  ? session.readStream.schema("id INT, user STRING, x DOUBLE").option("maxFilesPerTrigger", 1).csv(input)
  : session.readStream.schema(schema).option("maxFilesPerTrigger", 1).json(input);

// filtered-aggregate: a filter and a projection before the shuffle (their own actors, by position, when chaining is off).
const grouped = mode === "filtered-aggregate" ? events.where("x > -20").selectExpr("user", "x * 10 as x") : events;
const writer = mode === "aggregate" || mode === "filtered-aggregate"
  ? grouped.groupBy("user").agg("count(*) as n", "sum(x) as total").writeStream.outputMode("complete").foreachBatch(async (rows) => {
    const temporary = join(output, ".table.json.tmp");
    await writeFile(temporary, JSON.stringify(rows));
    await rename(temporary, join(output, "table.json"));
  })
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
else if (query.explain().includes("rows by position")) process.stdout.write("rows by position\n");
process.stdout.write(`done ${query.lastProgress?.batchId ?? -1}\n`);
await session.stop();
