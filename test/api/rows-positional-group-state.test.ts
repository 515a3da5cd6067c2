// mapGroupsWithState / flatMapGroupsWithState with their input by position (rill.rows.positional auto): the group
// state actor decodes frames into arrays, reads the group key and event time by index, and names each row for the
// user's function. Over real NATS, each query runs by position and named (off): the function sees the same rows (the
// same fields in the same order), emits the same rows, and state written one way is restored the other way.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MemoryStream, z, type DataFrame, type GroupState, type Row } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { useNatsSession } from "../helpers/session.ts";
import { assertRanByPosition, assertRanNamed, operatorActorRows, type ActorRows } from "../helpers/positional-actors.ts";
import { feedInParts, STAGE_SETTINGS, type RowsMode } from "../helpers/positional-run.ts";
import { latestByKey, show, sortedShows } from "../helpers/rows-canonical.ts";
import { seededInts } from "../helpers/seeded.ts";
import { useTempFolder } from "../helpers/temp-folder.ts";

const server = useNatsServer();
const testSession = useNatsSession(() => server().options);
const clicks = z.object({ user: z.string().nullable(), time: z.date(), amount: z.number().nullable() });
type Click = z.input<typeof clicks>;
const START = Date.UTC(2026, 0, 1);

/** Deterministic clicks in time order, a late one now and then in the second half. */
function clicksOf(count: number): Click[] {
  const next = seededInts(7);
  return Array.from({ length: count }, (_, id) => ({
    user: next(9) === 0 ? null : ["u0", "u1", "u\u00002", "u3", "u4"][next(5)] as string,
    time: new Date(START + (id > count / 2 && id % 17 === 0 ? id * 500 - 30_000 : id * 500)),
    amount: next(7) === 0 ? null : (next(200) - 50) / 4,
  }));
}

const data = clicksOf(450);

interface Totals {
  count: number;
  total: number;
}
const totals = z.object({ user: z.string(), count: z.number().int(), total: z.number() });

/** A running total per key; every row the function sees is recorded in `seen` (its fields in order). */
function running(seen: string[]): (key: string, rows: Row[], state: GroupState<Totals>) => Row {
  return (key, rows, state) => {
    for (const row of rows) seen.push(show(Object.entries(row)));
    const previous = state.getOption() ?? { count: 0, total: 0 };
    const next = { count: previous.count + rows.length, total: previous.total + rows.reduce((sum, row) => sum + ((row.amount as number | null) ?? 0), 0) };
    state.update(next);
    return { user: key, ...next };
  };
}

/** Clicks per key until the watermark passes the key's last click + 2 s (an eventTime timeout), then one summary row. */
function sessions(seen: string[]): (key: string, rows: Row[], state: GroupState<number>) => Row[] {
  return (key, rows, state) => {
    for (const row of rows) seen.push(show(Object.entries(row)));
    if (state.hasTimedOut) {
      const count = state.get();
      state.remove();
      return [{ user: key, clicks: count }];
    }
    state.update((state.getOption() ?? 0) + rows.length);
    const last = Math.max(...rows.map((row) => (row.time as Date | number).valueOf()));
    state.setTimeoutTimestamp(Math.max(last + 2000, state.getCurrentWatermarkMs()));
    return [];
  };
}
const summary = z.object({ user: z.string(), clicks: z.number().int() });

interface RunResult {
  readonly rows: Row[];
  readonly seen: string[];
  readonly actors: ActorRows[];
  readonly explain: string;
}

let runs = 0;

type Build = (input: DataFrame, seen: string[]) => DataFrame;

async function run(mode: RowsMode, outputMode: "update" | "append" | "complete", build: Build): Promise<RunResult> {
  const session = testSession.open({ "rill.rows.positional": mode, ...STAGE_SETTINGS });
  const name = `posgs_${runs++}_${mode}`;
  const input = new MemoryStream(session, clicks);
  const seen: string[] = [];
  const rows: Row[] = [];
  const query = await build(input.toDF(), seen).writeStream.queryName(name).outputMode(outputMode).foreachBatch((batch) => void rows.push(...batch)).start();
  await feedInParts(input, query, data, 3);
  assert.equal(query.numRecoveries, 0);
  const result = { rows, seen, actors: operatorActorRows(query, "group-state"), explain: query.explain() };
  await testSession.stop();
  return result;
}

/** Both ways: the function saw the same rows and the query wrote the same rows; by position, every row came by index. */
async function bothWays(outputMode: "update" | "append" | "complete", build: Build, normalize: (rows: readonly Row[]) => unknown[] = sortedShows): Promise<RunResult> {
  const positional = await run("auto", outputMode, build);
  const named = await run("off", outputMode, build);
  assert.ok(named.seen.length > 0 && named.rows.length > 0);
  assert.deepStrictEqual(sortedShows(positional.seen), sortedShows(named.seen), "the function saw the same rows");
  assert.deepStrictEqual(normalize(positional.rows), normalize(named.rows), "the same output");
  assert.match(positional.explain, /rows by position into group-state \(its input read by index\), named after it/);
  assert.doesNotMatch(named.explain, /rows by position into group-state/);
  assertRanByPosition(positional.actors, 2);
  assertRanNamed(named.actors);
  return positional;
}

/** Update mode's rows as the table they describe: each key's last row. */
function latest(rows: readonly Row[]): string[] {
  return sortedShows(latestByKey(rows, ["user"]));
}

describe("group state with its input by position", () => {
  it("mapGroupsWithState in update mode: the same rows seen, the same running totals, nulls and U+0000 in keys", async () => {
    const result = await bothWays("update", (input, seen) => input.groupByKey((row) => row.user).mapGroupsWithState(running(seen), { outputSchema: totals }), latest);
    assert.equal(result.seen.length, data.length, "every row reached the function once");
  });

  it("flatMapGroupsWithState with an eventTime timeout: late rows dropped before the function the same way, the same summaries", async () => {
    const result = await bothWays("append", (input, seen) => input.withWatermark("time", "3 seconds").groupByKey((row) => row.user)
      .flatMapGroupsWithState<number>("append", sessions(seen), { outputSchema: summary, timeout: "eventTime" }));
    assert.ok(result.seen.length < data.length, "some rows were late");
    assert.ok(result.rows.length > 0, "some sessions closed");
  });

  it("flatMapGroupsWithState in append mode before an aggregation", async () => {
    const expand = (seen: string[]) => (key: string, rows: Row[], state: GroupState<number>): Row[] => {
      for (const row of rows) seen.push(show(Object.entries(row)));
      state.update((state.getOption() ?? 0) + rows.length);
      return rows.map((row) => ({ user: key, amount: row.amount }));
    };
    const out = z.object({ user: z.string(), amount: z.number().nullable() });
    const result = await bothWays("complete", (input, seen) => input.groupByKey((row) => row.user).flatMapGroupsWithState<number>("append", expand(seen), { outputSchema: out })
      .groupBy("user").agg("count(*) as c", "sum(amount) as s"), (rows) => latest(rows));
    assert.equal(result.seen.length, data.length);
  });
});

describe("a group state checkpoint written one way and restored the other", () => {
  const folder = useTempFolder("rill-posgs-");

  /** The first half with `first`, a restart on the checkpoint with `second` for the rest: each key's last total, and each run's actors. */
  async function restarted(first: RowsMode, second: RowsMode, location: string | undefined): Promise<{ table: string[]; actors: ActorRows[][] }> {
    const session = testSession.open(STAGE_SETTINGS);
    const input = new MemoryStream(session, clicks);
    const name = `posgs_restart_${runs++}`;
    const rows: Row[] = [];
    const start = async (mode: RowsMode) => {
      session.conf.set("rill.rows.positional", mode);
      const writer = input.toDF().groupByKey((row) => row.user).mapGroupsWithState(running([]), { outputSchema: totals })
        .writeStream.queryName(name).outputMode("update").foreachBatch((batch) => void rows.push(...batch));
      return (location === undefined ? writer : writer.option("checkpointLocation", location)).start();
    };
    const half = data.length >> 1;
    let query = await start(first);
    input.addData(data.slice(0, half));
    await query.processAllAvailable();
    const actors = [operatorActorRows(query, "group-state")];
    if (location !== undefined) {
      await query.stop();
      query = await start(second);
    }
    input.addData(data.slice(half));
    await query.processAllAvailable();
    actors.push(operatorActorRows(query, "group-state"));
    await testSession.stop();
    return { table: latest(rows), actors };
  }

  for (const [first, second] of [["off", "auto"], ["auto", "off"]] as const) {
    it(`written ${first === "off" ? "named" : "by position"}, restored ${second === "off" ? "named" : "by position"}: the totals of a run never stopped`, async () => {
      const reference = await restarted("off", "off", undefined);
      const result = await restarted(first, second, join(folder(), `${first}-${second}`));
      assert.deepStrictEqual(result.table, reference.table);
      for (const [index, mode] of [first, second].entries()) {
        const actors = result.actors[index] ?? [];
        assert.ok(actors.length > 0 && actors.every((actor) => actor.positional === (mode === "auto") && (mode === "off" || actor.named === 0)), JSON.stringify(actors));
        if (mode === "auto") assert.ok(actors.reduce((sum, actor) => sum + actor.byPosition, 0) > 0, JSON.stringify(actors));
      }
    });
  }
});
