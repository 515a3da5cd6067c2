// One-row frames through a query's actors, for instruction counts: `bash bench/micro/frame-path.sh`.
// Scenario (b)'s shape in one process over the in-process transport: a MemoryStream source with withWatermark, a
// windowed count per key in update mode (source -> aggregate -> sink, three actors, two hops), and a foreach sink.
// Closed loop: the next row is added only when the sink has the previous one's count, so every frame carries one row
// however slowly the process runs (under valgrind too), and the count is per frame, not per row of a batch.
// `node bench-bundle.mjs <rows>` runs that many rows after a warm-up of WARM_UP rows; no epoch ends within the run.
// What it leaves out: the NATS client and its sockets, the open-loop source's wake-ups, checkpoints.
import { col, MemoryStream, Session, window, z } from "../../src/index.ts";

const WARM_UP = 200;
const rows = Number(process.argv[2] ?? "200");

const session = Session.builder().appName("frame-path").config("rill.transport", "inprocess").config("rill.shuffle.partitions", 1).log(() => undefined).getOrCreate();
const events = z.object({ key: z.string(), time: z.number().int() });
const input = new MemoryStream(session, events);
let delivered = 0;
let wake: () => void = () => undefined;
const query = await input.toDF()
  .selectExpr("key", "cast(time / 1000 as timestamp) as event_time")
  .withWatermark("event_time", "10 seconds")
  .groupBy(window(col("event_time"), "1 second"), col("key"))
  .count()
  .writeStream.outputMode("update").trigger({ continuous: "1 hour" })
  .foreach(() => {
    delivered++;
    wake();
  })
  .start();

/** Adds one row and waits for its count at the sink. */
async function one(index: number): Promise<void> {
  const arrived = new Promise<void>((resolve) => (wake = resolve));
  input.addData({ key: `k${index % 16}`, time: 1_700_000_000_000 + index });
  await arrived;
}

for (let index = 0; index < WARM_UP + rows; index++) await one(index);
await query.stop();
await session.stop();
process.stdout.write(`${delivered} rows delivered\n`);
