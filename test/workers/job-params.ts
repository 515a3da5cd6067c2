// A job module of the worker tests: a JetStream source filtered by a parameter (`value > param('threshold')`), the
// value in force written beside each row, into the JSON file sink. Paths, stream and bucket come from the environment.
import { z, type Session } from "../../src/index.ts";

export const reading = z.object({ id: z.number().int(), value: z.number().int() });

export default function job(session: Session) {
  session.params.declare("threshold", { type: "long", default: 5 });
  return session.readStream.format("jetstream").schema(reading).option("stream", process.env.RILL_JOB_STREAM as string).option("startingOffsets", "earliest").load()
    .filter("value > param('threshold')")
    .selectExpr("id", "value", "param('threshold') AS limit")
    .writeStream.queryName("jsparams").format("json").option("path", process.env.RILL_JOB_OUTPUT as string).option("checkpointLocation", process.env.RILL_JOB_CHECKPOINT as string)
    .trigger({ continuous: "100 milliseconds" });
}
