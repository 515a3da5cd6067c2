// Output modes of mapGroupsWithState / flatMapGroupsWithState, with and without an aggregation after them, as Spark's
// UnsupportedOperationChecker allows them.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { AnalysisError, MemoryStream, z, type DataFrame, type Row, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const events = z.object({ user: z.string(), amount: z.number() });
const sessions = z.object({ user: z.string(), level: z.string() });

/** Per user, one row each time the user's running total crosses a multiple of 10. */
function levels(input: DataFrame, mode: "append" | "update"): DataFrame {
  return input.groupByKey((row) => row.user).flatMapGroupsWithState<number>(mode, (user, rows, state) => {
    const before = state.getOption() ?? 0;
    const total = rows.reduce((sum, row) => sum + (row.amount as number), before);
    state.update(total);
    const out: Row[] = [];
    for (let level = Math.floor(before / 10) + 1; level <= Math.floor(total / 10); level++) out.push({ user, level: `L${level}` });
    return out;
  }, { outputSchema: sessions });
}

describe("group state output modes", () => {
  let session: Session;
  before(() => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2 });
  });
  after(async () => {
    await session.stop();
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  const rows = [
    { user: "a", amount: 25 }, { user: "b", amount: 5 }, { user: "a", amount: 6 },
    { user: "b", amount: 7 }, { user: "c", amount: 1 },
  ];

  for (const outputMode of ["complete", "update"] as const) {
    it(`flatMapGroupsWithState in append mode followed by an aggregation runs in ${outputMode} mode`, async () => {
      const input = new MemoryStream(session, events);
      const name = `levels_${outputMode}`;
      const query = await levels(input.toDF(), "append").groupBy("level").count()
        .writeStream.queryName(name).format("memory").outputMode(outputMode).start();
      input.addData(rows.slice(0, 3));
      await query.processAllAvailable();
      input.addData(rows.slice(3));
      await query.processAllAvailable();
      const latest = new Map<string, unknown>();
      for (const row of session.table(name)) latest.set(row.level as string, row.count);
      assert.deepEqual(Object.fromEntries([...latest].sort()), { L1: 2, L2: 1, L3: 1 });
    });
  }

  it("refuses flatMapGroupsWithState in complete mode at start()", async () => {
    const input = new MemoryStream(session, events);
    for (const declared of ["append", "update"] as const) {
      const start = levels(input.toDF(), declared).writeStream.format("memory").queryName(`complete_${declared}`).outputMode("complete").start();
      await assert.rejects(start, (error: unknown) => error instanceof AnalysisError && new RegExp(`flatMapGroupsWithState\\(\\) in ${declared} mode is not supported with the complete output mode`).test(error.message));
    }
  });

  it("refuses flatMapGroupsWithState declared with the complete mode, even before an aggregation", async () => {
    const input = new MemoryStream(session, events);
    const start = levels(input.toDF(), "complete" as "append").groupBy("level").count().writeStream.format("memory").queryName("declared_complete").outputMode("complete").start();
    await assert.rejects(start, (error: unknown) => error instanceof AnalysisError && /flatMapGroupsWithState\(\) takes the output mode "append" or "update", not "complete"/.test(error.message));
  });

  it("refuses flatMapGroupsWithState in update mode followed by an aggregation", async () => {
    const input = new MemoryStream(session, events);
    const start = levels(input.toDF(), "update").groupBy("level").count().writeStream.format("memory").queryName("update_then_agg").outputMode("update").start();
    await assert.rejects(start, (error: unknown) => error instanceof AnalysisError && /flatMapGroupsWithState\(\) in update mode is not supported with an aggregation/.test(error.message));
  });

  it("refuses mapGroupsWithState followed by an aggregation", async () => {
    const input = new MemoryStream(session, events);
    const start = input.toDF().groupByKey((row) => row.user)
      .mapGroupsWithState<number>((user, group) => ({ user, level: String(group.length) }), { outputSchema: sessions })
      .groupBy("level").count().writeStream.format("memory").queryName("map_then_agg").outputMode("update").start();
    await assert.rejects(start, (error: unknown) => error instanceof AnalysisError && /mapGroupsWithState\(\) is not supported with an aggregation/.test(error.message));
  });

  it("refuses flatMapGroupsWithState after an aggregation", async () => {
    const input = new MemoryStream(session, events);
    const counted = input.toDF().groupBy("user").count();
    const start = counted.groupByKey((row) => row.user).flatMapGroupsWithState("update", () => [], { outputSchema: sessions })
      .writeStream.format("memory").queryName("agg_then_groups").outputMode("update").start();
    await assert.rejects(start, (error: unknown) => error instanceof AnalysisError && /flatMapGroupsWithState\(\) after an aggregation is not supported/.test(error.message));
  });
});
