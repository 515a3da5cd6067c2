// The job of test/workers/job.ts with another window size: a worker loading it must refuse the driver's plan.
import { col, count, sum, window, type Session } from "../../src/index.ts";
import { schema } from "./job.ts";

export default function job(session: Session) {
  return session.readStream.schema(schema).option("maxFilesPerTrigger", 1).json(process.env.RILL_JOB_INPUT as string)
    .withWatermark("time", "30 seconds")
    .groupBy(window(col("time"), "2 minutes"), col("user"))
    .agg(count("*").alias("n"), sum("x").alias("total"))
    .selectExpr("user", "window.start as start", "window.end as end", "n", "total")
    .writeStream.queryName("windows").outputMode("append").format("json").option("path", process.env.RILL_JOB_OUTPUT as string).option("checkpointLocation", process.env.RILL_JOB_CHECKPOINT as string)
    .trigger({ continuous: "100 milliseconds" });
}
