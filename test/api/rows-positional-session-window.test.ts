// session_window by position (rill.rows.positional auto): its key projection (keys, aggregate inputs, time, gap) has a
// positional form, so the stage before the shuffle runs by position, and the session window reads its input by index
// into the one named operator that keeps the sessions (positional input, named output). Over real NATS, each query
// runs by position and named (off): the same rows and late-row counts. A checkpoint written one way restores the other.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { after, afterEach, before, describe, it } from "node:test";
import { z } from "zod";
import { MemoryStream, col, expr, session_window, type DataFrame, type Row, type Session, type StreamingQuery } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";
import { operatorActorRows, type ActorRows } from "../helpers/positional-actors.ts";

const server = useNatsServer();

const schema = z.object({ id: z.number().int(), user: z.string().nullable(), v: z.number().nullable(), gap: z.string().nullable(), at: z.date() });
type Input = z.input<typeof schema>;
const START = Date.UTC(2026, 0, 1);

/** Clicks of users (one null, one with U+0000) a few seconds apart, in time order but for late ones in the second half. */
function rowsOf(count: number, seed: number): Input[] {
  let state = seed;
  const next = (bound: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 16) % bound;
  };
  let time = START;
  return Array.from({ length: count }, (_, id) => {
    time += next(4) * 1000;
    const late = id > count / 2 && id % 19 === 0;
    return {
      id,
      user: next(9) === 0 ? null : ["a", "a\u0000b", "b", "c"][next(4)] as string,
      v: next(6) === 0 ? null : next(100) / 4,
      gap: [null, "2 seconds", "not a gap", "4 seconds", "1 second"][next(5)] as string | null,
      at: new Date(late ? time - 120_000 : time),
    };
  });
}

const data = rowsOf(600, 41);

interface RunResult {
  readonly rows: Row[];
  readonly dropped: number;
  readonly operators: ActorRows[];
  readonly explain: string;
}

let session: Session | undefined;
afterEach(async () => {
  await session?.stop();
  session = undefined;
});

let runs = 0;

async function run(mode: "auto" | "off", outputMode: "append" | "update" | "complete", build: (input: DataFrame) => DataFrame): Promise<RunResult> {
  session = natsSession(server().options, { "rill.rows.positional": mode, "rill.shuffle.partitions": 2, "rill.flow.maxFrameRows": 32 });
  const name = `possession_${runs++}_${mode}`;
  const input = new MemoryStream(session, schema);
  const query: StreamingQuery = await build(input.toDF()).writeStream.queryName(name).format("memory").outputMode(outputMode).start();
  const third = Math.ceil(data.length / 3);
  for (let part = 0; part < 3; part++) {
    input.addData(data.slice(part * third, (part + 1) * third));
    await query.processAllAvailable();
  }
  assert.equal(query.numRecoveries, 0);
  const dropped = query.recentProgress.reduce((sum, entry) => sum + entry.numRowsDroppedByWatermark, 0);
  const result = { rows: session.table(name).map((row) => ({ ...row })), dropped, operators: operatorActorRows(query), explain: query.explain() };
  await session.stop();
  session = undefined;
  return result;
}

const show = (value: unknown): string => inspect(value, { depth: 8, breakLength: Number.POSITIVE_INFINITY });

function sorted(rows: readonly Row[]): string[] {
  return rows.map(show).sort();
}

/** Update mode's rows as the table they describe: each session's last row. */
function latest(keys: readonly string[]): (rows: readonly Row[]) => string[] {
  return (rows) => {
    const table = new Map<string, Row>();
    for (const row of rows) table.set(show(keys.map((key) => row[key])), row);
    return sorted([...table.values()]);
  };
}

/** The explain() text of each physical stage. */
function stagesOf(explain: string): string[] {
  return explain.split(/\n(?=s\d+-)/).slice(1);
}

/**
 * Both ways: the same rows and late rows; by position, the session window's stage reads its rows by index into the
 * session window and its actors ran every row by position, and the stage before the shuffle runs by position.
 */
async function bothWays(outputMode: "append" | "update" | "complete", build: (input: DataFrame) => DataFrame, normalize: (rows: readonly Row[]) => string[] = sorted): Promise<RunResult> {
  const positional = await run("auto", outputMode, build);
  const named = await run("off", outputMode, build);
  assert.ok(named.rows.length > 0, "the query has rows");
  assert.deepStrictEqual(normalize(positional.rows), normalize(named.rows), "the same rows by position and named");
  assert.equal(positional.dropped, named.dropped, "the same rows dropped by the watermark");
  assert.doesNotMatch(named.explain, /rows by position/);
  const stage = stagesOf(positional.explain).find((text) => /\n {4}session-window: /.test(text));
  assert.ok(stage !== undefined, positional.explain);
  assert.match(stage, /\n {4}rows by position into session-window/, stage);
  const before = stagesOf(positional.explain).find((text) => /\n {4}project: session keys, time and aggregate inputs/.test(text));
  assert.match(before ?? "", /\n {4}rows by position/, positional.explain);
  const sessions = positional.operators.filter((actor) => actor.name.startsWith(`${stage.split(/\s/)[0] as string}.`));
  assert.ok(sessions.length === 2 && sessions.every((actor) => actor.positional && actor.named === 0), JSON.stringify(positional.operators));
  assert.ok(sessions.reduce((sum, actor) => sum + actor.byPosition, 0) > 0, JSON.stringify(positional.operators));
  assert.ok(named.operators.every((actor) => !actor.positional && actor.byPosition === 0), JSON.stringify(named.operators));
  return positional;
}

describe("session_window by position", () => {
  it("append mode with a watermark, after a filter: count, sum and max per session, late rows dropped, the same both ways", async () => {
    const result = await bothWays("append", (stream) => stream.where("id % 11 <> 4").withWatermark("at", "10 seconds")
      .groupBy(session_window(col("at"), "3 seconds"), col("user")).agg(expr("count(*) as c"), expr("sum(v) as s"), expr("max(v * 2) as m")));
    assert.ok(result.dropped > 0, "some rows were late");
  });

  it("update mode, a gap per row (null, not a duration, several lengths) and an expression key: the same sessions both ways", async () => {
    await bothWays("update", (stream) => stream.groupBy(expr("upper(user) as u"), session_window(col("at"), expr("gap"))).agg(expr("count(*) as c"), expr("collect_list(id) as ids")), latest(["u", "session_window"]));
  });

  it("complete mode, keys with nulls and U+0000: the same table both ways", async () => {
    await bothWays("complete", (stream) => stream.groupBy(col("user"), session_window(col("at"), "2 seconds")).count(), (rows) => sorted(rows));
  });
});

describe("a checkpoint of the session window, written one way and restored the other", () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-possession-"));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  /** Runs the first half with `first`, stops, restarts on the checkpoint with `second` for the rest; the table and each run's explain(). */
  async function restarted(first: "auto" | "off", second: "auto" | "off", location: string | undefined): Promise<{ rows: string[]; explains: string[] }> {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2, "rill.flow.maxFrameRows": 32 });
    const input = new MemoryStream(session, schema);
    const name = `possession_restart_${runs++}`;
    const start = async (mode: "auto" | "off") => {
      session?.conf.set("rill.rows.positional", mode);
      const writer = input.toDF().groupBy(col("user"), session_window(col("at"), "3 seconds")).agg(expr("count(*) as c"), expr("sum(v) as s"))
        .writeStream.queryName(name).format("memory").outputMode("complete");
      return (location === undefined ? writer : writer.option("checkpointLocation", location)).start();
    };
    const half = data.length >> 1;
    let query = await start(first);
    const explains = [query.explain()];
    input.addData(data.slice(0, half));
    await query.processAllAvailable();
    if (location !== undefined) {
      await query.stop();
      query = await start(second);
      explains.push(query.explain());
    }
    input.addData(data.slice(half));
    await query.processAllAvailable();
    const result = { rows: sorted(session.table(name)), explains };
    await session.stop();
    session = undefined;
    return result;
  }

  for (const [first, second] of [["off", "auto"], ["auto", "off"]] as const) {
    it(`written ${first === "off" ? "named" : "by position"}, restored ${second === "off" ? "named" : "by position"}: the table of a run never stopped`, async () => {
      const reference = await restarted("off", "off", undefined);
      const result = await restarted(first, second, join(folder, `${first}-${second}`));
      assert.deepStrictEqual(result.rows, reference.rows);
      assert.equal(result.rows.length, new Set(reference.rows).size, "no session twice");
      for (const [index, mode] of [first, second].entries()) {
        if (mode === "auto") assert.match(result.explains[index] as string, /rows by position into session-window/);
        else assert.doesNotMatch(result.explains[index] as string, /rows by position/);
      }
    });
  }
});
