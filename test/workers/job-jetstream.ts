// A job module of the worker tests: two JetStream sources (one stream, split by subject), their union, per-user counts
// and sums in 1-minute windows, into the JSON file sink. Paths and the stream come from the environment.
import { col, count, sum, window, z, type Session } from "../../src/index.ts";

export const schema = z.object({ id: z.number().int(), user: z.string(), time: z.date(), x: z.number().int() });

export default function job(session: Session) {
  const stream = process.env.RILL_JOB_STREAM as string;
  const read = (subject: string) => session.readStream.format("jetstream").schema(schema).option("stream", stream).option("subject", subject).option("startingOffsets", "earliest").load();
  return read(`${stream.toLowerCase()}.a.>`).union(read(`${stream.toLowerCase()}.b.>`))
    .withWatermark("time", "30 seconds")
    .groupBy(window(col("time"), "1 minute"), col("user"))
    .agg(count("*").alias("n"), sum("x").alias("total"))
    .selectExpr("user", "window.start as start", "window.end as end", "n", "total")
    .writeStream.queryName("jswindows").outputMode("append").format("json").option("path", process.env.RILL_JOB_OUTPUT as string).option("checkpointLocation", process.env.RILL_JOB_CHECKPOINT as string)
    .trigger({ continuous: "100 milliseconds" });
}
