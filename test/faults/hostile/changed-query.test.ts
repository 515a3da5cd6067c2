// Hostile: a query replaced on its checkpoint by one whose stateful operator computes something else under the same
// names and types (a window of another length, an aggregate over another column, a grouping key from another
// expression). README ("Changing a query on the same checkpoint") promises such a change is refused at start(),
// naming what changed; restoring the old state into the new operator would mix two computations in one table.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { CheckpointError, functions, MemoryStream, z, type DataFrame, type Row, type Session } from "../../../src/index.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { natsSession } from "../../helpers/session.ts";

const { col, window } = functions;
const server = useNatsServer();
const readings = z.object({ time: z.date(), sensor: z.string(), value: z.number(), other: z.number() });

describe("hostile: a changed stateful computation on the same checkpoint", () => {
  let session: Session;
  let folder: string;
  before(async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2 });
    folder = await mkdtemp(join(tmpdir(), "rill-hostile-changed-"));
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  async function runOnce(frame: DataFrame, location: string): Promise<Row[]> {
    let table: Row[] = [];
    const query = await frame.writeStream.queryName("hostile_changed").outputMode("complete").option("checkpointLocation", location).foreachBatch((rows) => {
      table = rows;
    }).start();
    await query.processAllAvailable();
    await query.stop();
    return table;
  }

  /** Runs `before` on a fresh checkpoint over one row, then expects `changed` refused there, its message matching. */
  async function refusedAfter(name: string, first: (input: MemoryStream<typeof readings>) => DataFrame, changed: (input: MemoryStream<typeof readings>) => DataFrame, pattern: RegExp): Promise<void> {
    const location = join(folder, name);
    const input = new MemoryStream(session, readings);
    input.addData([{ time: new Date(Date.UTC(2026, 0, 1, 0, 0, 7)), sensor: "Ab", value: 1, other: 100 }]);
    assert.equal((await runOnce(first(input), location)).length, 1);
    input.addData([{ time: new Date(Date.UTC(2026, 0, 1, 0, 0, 8)), sensor: "aB", value: 2, other: 200 }]);
    let outcome: unknown;
    try {
      outcome = await runOnce(changed(input), location);
    } catch (error) {
      outcome = error;
    }
    assert.ok(outcome instanceof CheckpointError, `the changed query ran on the old state instead of being refused: ${JSON.stringify(outcome)}`);
    assert.match(outcome.message, pattern);
  }

  it("refuses a window of another length under the same grouping names", async () => {
    await refusedAfter("window", (input) => input.toDF().groupBy(window(col("time"), "10 seconds")).count(),
      (input) => input.toDF().groupBy(window(col("time"), "5 seconds")).count(), /aggregate-0 \(aggregate: .*\) computes its state from other expressions: keys \[window = window\(time, 10000 ms.*\] before, keys \[window = window\(time, 5000 ms/);
  });

  it("refuses an aggregate over another column under the same name", async () => {
    await refusedAfter("argument", (input) => input.toDF().groupBy("sensor").agg("sum(value) as total"),
      (input) => input.toDF().groupBy("sensor").agg("sum(other) as total"), /aggregate-0 .* computes its state from other expressions: .*total = sum\(value\).* before, .*total = sum\(other\).* now/);
  });

  it("refuses a grouping key computed by another expression under the same name", async () => {
    await refusedAfter("key", (input) => input.toDF().groupBy(functions.expr("upper(sensor)").alias("k")).count(),
      (input) => input.toDF().groupBy(functions.expr("lower(sensor)").alias("k")).count(), /aggregate-0 .* computes its state from other expressions: keys \[k = upper\(sensor\)\].* before, keys \[k = lower\(sensor\)\]/);
  });

  it("refuses a session window whose aggregate reads another column under the same name", async () => {
    await refusedAfter("session", (input) => input.toDF().groupBy(functions.session_window(col("time"), "10 seconds"), col("sensor")).agg("max(value) as top"),
      (input) => input.toDF().groupBy(functions.session_window(col("time"), "10 seconds"), col("sensor")).agg("max(other) as top"), /session-window-0 .* computes its state from other expressions: .*top = max\(value\).* before, .*top = max\(other\).* now/);
  });

  it("refuses a stream-stream join whose condition changed beyond its keys (Spark: a changed join condition is not allowed)", async () => {
    const location = join(folder, "join");
    const impressions = new MemoryStream(session, z.object({ impressionAdId: z.number().int(), impressionTime: z.date() }));
    const clicks = new MemoryStream(session, z.object({ clickAdId: z.number().int(), clickTime: z.date() }));
    const joined = (range: string) => impressions.toDF().withWatermark("impressionTime", "2 hours").join(clicks.toDF().withWatermark("clickTime", "3 hours"),
      functions.expr(`clickAdId = impressionAdId AND clickTime >= impressionTime AND clickTime <= impressionTime + interval ${range}`), "inner");
    const runJoin = async (range: string): Promise<Row[]> => {
      const rows: Row[] = [];
      const query = await joined(range).writeStream.queryName("hostile_changed_join").outputMode("append").option("checkpointLocation", location).foreachBatch((batch) => {
        rows.push(...batch);
      }).start();
      await query.processAllAvailable();
      await query.stop();
      return rows;
    };
    impressions.addData([{ impressionAdId: 1, impressionTime: new Date(Date.UTC(2026, 0, 1, 0, 0)) }]);
    assert.deepEqual(await runJoin("1 hour"), []);
    clicks.addData([{ clickAdId: 1, clickTime: new Date(Date.UTC(2026, 0, 1, 0, 30)) }]);
    let outcome: unknown;
    try {
      outcome = await runJoin("10 minutes");
    } catch (error) {
      outcome = error;
    }
    assert.ok(outcome instanceof CheckpointError, `the changed join ran on the old state instead of being refused: ${JSON.stringify(outcome)}`);
    assert.match(outcome.message, /join-\d .* computes its state from other expressions: .*INTERVAL '3600000' MILLISECOND.* before, .*INTERVAL '600000' MILLISECOND.* now/);
  });
});
