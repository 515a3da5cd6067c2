// A stream-stream left outer join run as its own process by the stream-stream join kill test: reads two folders of
// JSON rows (impressions, clicks), joins them on the ad and a time range, writes JSON files, exits when done.
// Usage: node --import tsx join-stream-child.ts <impressions> <clicks> <output> <checkpoint> <partitions> (NATS options in RILL_TEST_NATS)
import { Session, expr, z } from "../../src/index.ts";
import { natsOptionsFromParent } from "../helpers/nats.ts";

const [impressionsFolder, clicksFolder, output, checkpoint, partitions] = process.argv.slice(2) as [string, string, string, string, string];
// Neither input is ever taken for idle, however slow the machine: the watermark is always the minimum of both.
const session = Session.builder().appName("join-stream-kill-test").nats(natsOptionsFromParent()).config("rill.shuffle.partitions", Number(partitions)).config("rill.watermark.idleTimeout", "10 minutes").log(() => undefined).getOrCreate();
const impressions = session.readStream.schema(z.object({ impressionId: z.number().int(), impressionAdId: z.number().int(), impressionTime: z.number() })).option("maxFilesPerTrigger", 1).json(impressionsFolder)
  .selectExpr("impressionId", "impressionAdId", "cast(impressionTime as timestamp) as impressionTime").withWatermark("impressionTime", "15 minutes");
const clicks = session.readStream.schema(z.object({ clickId: z.number().int(), clickAdId: z.number().int(), clickTime: z.number() })).option("maxFilesPerTrigger", 1).json(clicksFolder)
  .selectExpr("clickId", "clickAdId", "cast(clickTime as timestamp) as clickTime").withWatermark("clickTime", "20 minutes");
const joined = impressions.join(clicks, expr("clickAdId = impressionAdId AND clickTime >= impressionTime AND clickTime <= impressionTime + interval 20 minutes"), "left_outer")
  .selectExpr("impressionId", "clickId");

session.streams.addListener({
  onQueryProgress: ({ progress }) => {
    if (progress.numInputRows > 0) process.stdout.write(`epoch ${progress.batchId}\n`);
  },
});
const query = await joined.writeStream.format("json").option("path", output).queryName("join_stream_kill").option("checkpointLocation", checkpoint).outputMode("append").trigger({ continuous: "100 milliseconds" }).start();
await query.processAllAvailable();
process.stdout.write(`done ${query.lastProgress?.batchId ?? -1} state ${query.lastProgress?.stateOperators.reduce((sum, operator) => sum + operator.numRowsTotal, 0) ?? -1}\n`);
await session.stop();
