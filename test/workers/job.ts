// The job module of the worker tests: a windowed aggregation from a folder of JSON files into the JSON file sink.
// Driver and workers load it alike; paths come from the environment (RILL_JOB_INPUT, RILL_JOB_OUTPUT, RILL_JOB_CHECKPOINT).
import { col, count, sum, window, z, type Session } from "../../src/index.ts";

export const schema = z.object({ id: z.number().int(), user: z.string(), time: z.date(), x: z.number().int() });

export default function job(session: Session) {
  const input = process.env.RILL_JOB_INPUT as string;
  const output = process.env.RILL_JOB_OUTPUT as string;
  const checkpoint = process.env.RILL_JOB_CHECKPOINT as string;
  return session.readStream.schema(schema).option("maxFilesPerTrigger", 1).json(input)
    .withWatermark("time", "30 seconds")
    .groupBy(window(col("time"), "1 minute"), col("user"))
    .agg(count("*").alias("n"), sum("x").alias("total"))
    .selectExpr("user", "window.start as start", "window.end as end", "n", "total")
    .writeStream.queryName("windows").outputMode("append").format("json").option("path", output).option("checkpointLocation", checkpoint)
    .trigger({ continuous: "100 milliseconds" });
}
