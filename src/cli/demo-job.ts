// The demo's queries as a job module, for `npm start -- --workers N`: the driver and every worker load this file.
// Its parameters come from the environment (RILL_DEMO_RATE, RILL_DEMO_SEED, RILL_DEMO_PARTITIONS, RILL_DEMO_THRESHOLD),
// which local workers inherit, so both sides build the same plan. Rows printed on a worker reach the driver's log.
import type { Row, Session } from "../index.ts";

export default function demoJob(session: Session) {
  const partitions = process.env.RILL_DEMO_PARTITIONS ?? "2";
  const activity = session.readStream.format("activity")
    .option("rowsPerSecond", process.env.RILL_DEMO_RATE ?? "5000")
    .option("numPartitions", partitions)
    .option("seed", process.env.RILL_DEMO_SEED ?? "42")
    .option("outOfOrderFraction", "0.05")
    .option("duplicateFraction", "0.01")
    .load();
  const counts = activity.groupBy("gt").count()
    .writeStream.queryName("activity_counts")
    .outputMode("complete")
    .foreachBatch((rows, epochId) => {
      const sorted = [...rows].sort((a, b) => String(a.gt).localeCompare(String(b.gt)));
      process.stderr.write(`[epoch ${epochId}] counts per gt: ${sorted.map((row) => `${String(row.gt ?? "null")}=${String(row.count)}`).join("  ")}\n`);
    });
  let alerts = 0;
  const alertsQuery = activity
    .selectExpr("User", "Device", "gt", "sqrt(x * x + y * y + z * z) as magnitude", "Arrival_Time")
    .where(`magnitude > ${process.env.RILL_DEMO_THRESHOLD ?? "12"}`)
    .writeStream.queryName("acceleration_alerts")
    .foreach((row: Row) => {
      alerts++;
      if (alerts <= 5 || alerts % 200 === 0) process.stderr.write(`ALERT #${alerts}: user ${String(row.User)} on ${String(row.Device)} (${String(row.gt)}) magnitude ${(row.magnitude as number).toFixed(2)}, ${(Date.now() - (row.Arrival_Time as number)).toFixed(1)} ms after arrival\n`);
    });
  return [counts, alertsQuery];
}
