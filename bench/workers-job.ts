// Scenarios (a) and (b) as a job module, for bench/workers.ts: on the activity source, into a foreachBatch sink that
// only counts. Scenario, rate, partitions and the source's wake mode come from RILL_BENCH_SCENARIO (a or b), RILL_BENCH_RATE,
// RILL_BENCH_PARTITIONS, RILL_BENCH_WAKE (timer, precise or spin; default precise).
import { col, expr, window, type Session } from "../src/index.ts";

export default function job(session: Session) {
  const activity = session.readStream.format("activity")
    .option("rowsPerSecond", process.env.RILL_BENCH_RATE ?? "400000")
    .option("numPartitions", process.env.RILL_BENCH_PARTITIONS ?? "2")
    .option("seed", "7")
    .option("wake", process.env.RILL_BENCH_WAKE ?? "precise")
    .option("outOfOrderFraction", "0.1").option("maxDelayMs", "5000").option("lateFraction", "0.001").option("lateDelayMs", "20000")
    .load();
  if (process.env.RILL_BENCH_SCENARIO === "a") {
    return activity.withColumn("stairs", expr("gt like '%stairs%'")).where("stairs").where("gt is not null").select("gt", "model", "arrival_time", "creation_time")
      .writeStream.queryName("bench_a").outputMode("append").trigger({ continuous: "500 milliseconds" }).foreachBatch(() => undefined);
  }
  return activity.selectExpr("*", "cast(cast(Creation_Time as double)/1000000000 as timestamp) as event_time")
    .withWatermark("event_time", "10 seconds")
    .groupBy(window(col("event_time"), "1 second"), col("gt")).count()
    .writeStream.queryName("bench_b").outputMode("update").trigger({ continuous: "500 milliseconds" }).foreachBatch(() => undefined);
}
