// A stream-static join run as its own process by the join kill test: reads a folder of JSON readings, joins each with a
// static JSON table of devices, writes its output, exits when done.
// Usage: node --import tsx join-child.ts <join|join-aggregate> <input> <devices> <output> <checkpoint> (NATS options in RILL_TEST_NATS)
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Session, z } from "../../src/index.ts";
import { natsOptionsFromParent } from "../helpers/nats.ts";

const [mode, input, devicesFolder, output, checkpoint] = process.argv.slice(2) as [string, string, string, string, string];
const session = Session.builder().appName("join-kill-test").nats(natsOptionsFromParent()).config("rill.shuffle.partitions", 3).log(() => undefined).getOrCreate();
const readings = session.readStream.schema(z.object({ id: z.number().int(), device: z.string(), v: z.number() })).option("maxFilesPerTrigger", 1).json(input);
// Loaded once per query when it starts: after a kill, the restarted query loads it again.
const devices = session.read.json(devicesFolder);

const writer = mode === "join-aggregate"
  ? readings.join(devices, "device").groupBy("model").agg("count(*) as n", "sum(v) as total").writeStream.outputMode("complete").foreachBatch(async (rows) => {
    const temporary = join(output, ".table.json.tmp");
    await writeFile(temporary, JSON.stringify(rows));
    await rename(temporary, join(output, "table.json"));
  })
  : readings.join(devices, "device", "left_outer").selectExpr("id", "device", "model", "v * 10 as v10").writeStream.format("json").option("path", output);

session.streams.addListener({
  onQueryProgress: ({ progress }) => {
    if (progress.numInputRows > 0) process.stdout.write(`epoch ${progress.batchId}\n`);
  },
});
const query = await writer.queryName(`join_kill_${mode.replace("-", "_")}`).option("checkpointLocation", checkpoint).trigger({ continuous: "100 milliseconds" }).start();
await query.processAllAvailable();
process.stdout.write(`done ${query.lastProgress?.batchId ?? -1}\n`);
await session.stop();
