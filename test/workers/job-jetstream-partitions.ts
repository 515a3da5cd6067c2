// A job module of the worker tests: one JetStream source read as three partitions (`partitions`, one filter subject
// each), per-user counts and sums in 1-minute windows, into the JSON file sink. Paths and the stream come from the
// environment.
import { col, count, sum, window, type Session } from "../../src/index.ts";
import { schema } from "./job-jetstream.ts";

export default function job(session: Session) {
  const stream = process.env.RILL_JOB_STREAM as string;
  const prefix = stream.toLowerCase();
  return session.readStream.format("jetstream").schema(schema).option("stream", stream)
    .option("partitions", `${prefix}.0.>,${prefix}.1.>,${prefix}.2.>`).option("startingOffsets", "earliest").load()
    .withWatermark("time", "30 seconds")
    .groupBy(window(col("time"), "1 minute"), col("user"))
    .agg(count("*").alias("n"), sum("x").alias("total"))
    .selectExpr("user", "window.start as start", "window.end as end", "n", "total")
    .writeStream.queryName("jspartitions").outputMode("append").format("json").option("path", process.env.RILL_JOB_OUTPUT as string).option("checkpointLocation", process.env.RILL_JOB_CHECKPOINT as string)
    .trigger({ continuous: "100 milliseconds" });
}
