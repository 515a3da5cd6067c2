// Replacing a query by a changed one on the same checkpoint, with Spark's rules ("Recovery Semantics after Changes in a
// Streaming Query"): a changed filter or projection continues from the same state and offsets; a changed number or
// type of stateful operators, or of a grouping key, is refused at start() naming the operator and the change.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { CheckpointError, functions, MemoryStream, z, type DataFrame, type Row, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const readings = z.object({ sensor: z.string(), value: z.number() });

describe("query replacement on one checkpoint", () => {
  let session: Session;
  let folder: string;
  before(async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2 });
    folder = await mkdtemp(join(tmpdir(), "rill-replacement-"));
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  /** Runs `frame` on `location` over `rows`, and gives the rows each epoch wrote (complete mode: the whole table). */
  async function runOnce(frame: DataFrame, location: string, name: string): Promise<Row[]> {
    let table: Row[] = [];
    const query = await frame.writeStream.queryName(name).outputMode("complete").option("checkpointLocation", location).foreachBatch((rows) => {
      table = rows;
    }).start();
    await query.processAllAvailable();
    await query.stop();
    return [...table].sort((a, b) => String(a.sensor).localeCompare(String(b.sensor)));
  }

  it("continues a changed filter and projection from the same state and source position", async () => {
    const location = join(folder, "allowed");
    const input = new MemoryStream(session, readings);
    input.addData([{ sensor: "a", value: 1 }, { sensor: "b", value: 5 }, { sensor: "a", value: 9 }]);
    const first = await runOnce(input.toDF().groupBy("sensor").count(), location, "replaced");
    assert.deepEqual(first, [{ sensor: "a", count: 2 }, { sensor: "b", count: 1 }]);
    // The replacement adds a filter and a projection before the same aggregation; only new rows pass through it.
    input.addData([{ sensor: "a", value: 2 }, { sensor: "b", value: 7 }, { sensor: "b", value: 8 }]);
    const replaced = input.toDF().filter("value > 4").select(functions.col("sensor"), functions.col("value").multiply(2).alias("doubled")).groupBy("sensor").count();
    const second = await runOnce(replaced, location, "replaced");
    // a: 2 before, 2 dropped by the new filter; b: 1 before + 2 new. The old rows were not read again.
    assert.deepEqual(second, [{ sensor: "a", count: 2 }, { sensor: "b", count: 3 }]);
  });

  it("refuses a changed grouping key, an added stateful operator and a grouping key of another type, naming each", async () => {
    const location = join(folder, "refused");
    const input = new MemoryStream(session, readings);
    input.addData([{ sensor: "a", value: 1 }]);
    await runOnce(input.toDF().groupBy("sensor").count(), location, "refused");
    const refuses = async (frame: DataFrame, pattern: RegExp) => {
      await assert.rejects(runOnce(frame, location, "refused"), (error: unknown) => error instanceof CheckpointError && pattern.test(error.message));
    };
    await refuses(input.toDF().groupBy("value").count(), /the stateful operator aggregate-0 changed from aggregate: groupBy by \[sensor\] computing \[count:count\] to aggregate: groupBy by \[value\]/);
    // The added dropDuplicates takes the id aggregate-0, and the aggregation moves to aggregate-1.
    await refuses(input.toDF().dropDuplicates(["sensor", "value"]).groupBy("sensor").count(), /a stateful operator aggregate-1 \(aggregate: groupBy by \[sensor\] computing \[count:count\]\) was added/);
    await refuses(input.toDF().select(functions.col("value").alias("sensor")).groupBy("sensor").count(), /the state schema of the stateful operator aggregate-0 \(aggregate: groupBy by \[sensor\] computing \[count:count\]\) changed from keys \[sensor: string\] values \[count: long\] to keys \[sensor: double\] values \[count: long\]/);
    assert.equal(session.streams.active.length, 0);
  });
});
