// Parameters in a running query: a change applies from the next epoch on, never within one; progress names the values.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { AnalysisError, MemoryStream, z, type Row, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const readings = z.object({ sensor: z.string(), value: z.number() });

describe("param() in a running query", () => {
  let session: Session;
  before(() => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 1, "rill.params.bucket": "params_query" });
  });
  after(async () => {
    await session.stop();
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  it("filters with the value in force and switches at the epoch after the change", async () => {
    session.params.declare("threshold", { type: "double", default: 30 });
    const input = new MemoryStream(session, readings);
    const batches = new Map<number, Row[]>();
    const query = await input.toDF().filter("value > param('threshold')").writeStream
      .foreachBatch((rows, epoch) => void batches.set(epoch, [...(batches.get(epoch) ?? []), ...rows]))
      .start();
    const values = [10, 25, 35, 45, 55, 65];
    input.addData(values.map((value) => ({ sensor: "a", value })));
    await query.processAllAvailable();
    const firstEpoch = query.lastProgress?.batchId ?? -1;
    assert.deepEqual(query.lastProgress?.parameters?.values, { threshold: 30 });

    // Set while an epoch is open: the rows of that epoch still use 30; the epoch after its barrier uses 50.
    await session.params.set("threshold", 50);
    input.addData(values.map((value) => ({ sensor: "b", value })));
    await query.processAllAvailable();
    const openEpoch = query.lastProgress?.batchId ?? -1;
    input.addData(values.map((value) => ({ sensor: "c", value })));
    await query.processAllAvailable();
    const nextEpoch = query.lastProgress?.batchId ?? -1;

    const rowsOf = (sensor: string) => [...batches.values()].flat().filter((row) => row.sensor === sensor).map((row) => row.value);
    assert.deepEqual(rowsOf("a"), values.filter((value) => value > 30));
    assert.deepEqual(rowsOf("b"), values.filter((value) => value > 30), "the epoch open when the value changed keeps the old one");
    assert.deepEqual(rowsOf("c"), values.filter((value) => value > 50));
    const progressOf = (epoch: number) => query.recentProgress.find((progress) => progress.batchId === epoch)?.parameters?.values;
    assert.deepEqual(progressOf(firstEpoch), { threshold: 30 });
    assert.deepEqual(progressOf(openEpoch), { threshold: 30 });
    assert.deepEqual(progressOf(nextEpoch), { threshold: 50 });

    // The dashboard's history says from which epoch each value applied, as the epochs' progress does.
    const ui = await session.ui();
    try {
      const page = await (await fetch(`${ui.url}/`)).text();
      assert.match(page, /id="parameters"/);
      const { parameters } = (await (await fetch(`${ui.url}/api/params`)).json()) as { parameters: Array<{ query: string; status: { values: Record<string, unknown>; connected: boolean }; history: Array<{ name: string; value: unknown; fromEpoch: number; revision: number; origin: string }> }> };
      const view = parameters.find((candidate) => candidate.query === query.id);
      assert.ok(view, "the query is on the dashboard");
      assert.equal(view.status.connected, true);
      assert.deepEqual(view.history.map(({ name, value, origin }) => ({ name, value, origin })), [{ name: "threshold", value: 30, origin: "latest" }, { name: "threshold", value: 50, origin: "change" }]);
      const from = view.history[1]?.fromEpoch ?? -1;
      assert.ok((view.history[1]?.revision ?? 0) > 0);
      for (const progress of query.recentProgress) assert.equal(progress.parameters?.values.threshold, progress.batchId >= from ? 50 : 30, `epoch ${progress.batchId}`);
      assert.ok(from > openEpoch - 1 && from <= nextEpoch, `the change applied from epoch ${from}`);
    } finally {
      await ui.close();
    }
  });

  it("switches an actor after a shuffle too: the values travel in the barrier frames", async () => {
    session.params.declare("minCount", { type: "long", default: 1 });
    const input = new MemoryStream(session, readings);
    let table: Row[] = [];
    // The filter runs in the aggregation's actors, downstream of the hash exchange.
    const query = await input.toDF().groupBy("sensor").count().filter("count > param('minCount')").writeStream.outputMode("complete")
      .foreachBatch((rows) => {
        table = [...rows].sort((a, b) => String(a.sensor).localeCompare(String(b.sensor)));
      }).start();
    input.addData([{ sensor: "a", value: 1 }, { sensor: "a", value: 2 }, { sensor: "a", value: 3 }, { sensor: "b", value: 4 }]);
    await query.processAllAvailable();
    assert.deepEqual(table, [{ sensor: "a", count: 3 }]);
    await session.params.set("minCount", 3);
    await query.processAllAvailable();
    input.addData([{ sensor: "a", value: 5 }, { sensor: "b", value: 6 }]);
    await query.processAllAvailable();
    assert.deepEqual(table, [{ sensor: "a", count: 4 }]);
    assert.deepEqual(query.lastProgress?.parameters?.values, { minCount: 3 });
  });

  it("refuses at start() a parameter neither declared nor in the bucket, naming it", async () => {
    const input = new MemoryStream(session, readings);
    await assert.rejects(input.toDF().filter("value > param('nosuch')").writeStream.format("memory").queryName("nosuch").start(), (error: unknown) => error instanceof AnalysisError && /Parameter 'nosuch'/.test(error.message));
  });

  it("types an undeclared parameter by its value in the bucket", async () => {
    await session.params.set("label", "hot");
    const input = new MemoryStream(session, readings);
    const query = await input.toDF().selectExpr("sensor", "param('label') AS label").writeStream.format("memory").queryName("labels").start();
    input.addData([{ sensor: "a", value: 1 }]);
    await query.processAllAvailable();
    assert.deepEqual(session.table("labels"), [{ sensor: "a", label: "hot" }]);
  });
});
