// A query run as its own process (under --unhandled-rejections=strict) by the full-disk tests: counts per id over a folder
// of JSON files into a checkpoint on a small file system. Logs to stdout; prints "ok <rows counted>" when done, or
// "failed <error name>: <message>" and exit code 3.
// Usage: node --unhandled-rejections=strict --import tsx full-disk-child.ts <input> <checkpoint> (NATS options in RILL_TEST_NATS)
import { Session, z } from "../../src/index.ts";
import { natsOptionsFromParent } from "../helpers/nats.ts";

const [input, checkpoint] = process.argv.slice(2) as [string, string];
const session = Session.builder().appName("full-disk-test").nats(natsOptionsFromParent()).config("rill.shuffle.partitions", 2).log((line) => process.stdout.write(`${line}\n`)).getOrCreate();
const schema = z.object({ id: z.number().int(), x: z.number() });
try {
  const query = await session.readStream.schema(schema).option("maxFilesPerTrigger", 1).json(input).groupBy("id").agg("count(*) as n")
    .writeStream.queryName("ids").format("memory").outputMode("complete").option("checkpointLocation", checkpoint).trigger({ continuous: "50 milliseconds" }).start();
  let idle = 0;
  while (idle < 2) {
    await query.processAllAvailable();
    idle = query.lastProgress?.numInputRows === 0 ? idle + 1 : 0;
  }
  const rows = session.table("ids") as Array<{ n: number }>;
  process.stdout.write(`ok ${rows.reduce((total, row) => total + row.n, 0)} in ${rows.length} groups after ${query.numRecoveries} recoveries\n`);
  await session.stop();
} catch (error) {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  process.stdout.write(`failed ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}\n`);
  await session.stop();
  process.exit(3);
}
