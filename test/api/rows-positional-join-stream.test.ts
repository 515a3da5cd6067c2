// The stream-stream join's inputs by position (rill.rows.positional auto): the step that tags each input's rows with
// their side and join key runs over arrays and the exchange routes by the key's place, up to the join's stage, whose
// buffered state is the named path's. Over real NATS: the same rows by position and named (off), and a checkpoint
// written one way restored the other.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { expr, type DataFrame, type Row, type StreamingQuery } from "../../src/index.ts";
import { committedLines } from "../helpers/kill-runs.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { sourcesPositional } from "../helpers/positional-actors.ts";
import type { RowsMode } from "../helpers/positional-run.ts";
import { canonical } from "../helpers/rows-canonical.ts";
import { seededInts } from "../helpers/seeded.ts";
import { useNatsSession } from "../helpers/session.ts";
import { useTempFolder } from "../helpers/temp-folder.ts";

const server = useNatsServer();
const testSession = useNatsSession(() => server().options);

interface Left { lid: number; k: string | null; n: number; lv: number; lt: Date }
interface Right { rid: number; k: string | null; n: number; rv: number; rt: Date }
const START = Date.UTC(2026, 0, 1);
const KEYS = ["a", "a\u0000b", "\u0000", "b", null];

const LEFT: Left[] = (() => {
  const next = seededInts(3);
  return Array.from({ length: 400 }, (_, lid) => ({ lid, k: KEYS[next(KEYS.length)] as string | null, n: next(4), lv: next(100), lt: new Date(START + lid * 1000) }));
})();
const RIGHT: Right[] = (() => {
  const next = seededInts(9);
  return Array.from({ length: 400 }, (_, rid) => ({ rid, k: KEYS[next(KEYS.length)] as string | null, n: next(4), rv: next(100), rt: new Date(START + rid * 1000 + next(20_000)) }));
})();

type Build = (left: DataFrame, right: DataFrame) => DataFrame;

const csvLine = (values: readonly unknown[]): string => values.map((value) => (value === null ? "" : value instanceof Date ? value.toISOString() : String(value))).join(",");

let runs = 0;

/**
 * Two CSV folders (read by position), fed in two halves: a file each, then another each. The rows go to JSON files in
 * `<folder>/out` with a checkpoint in `<folder>/checkpoint`; the query stops after the first half and restarts on the
 * checkpoint with `second` unless `second` is undefined. Returns the rows and whether each source actor ran by position.
 */
async function run(folder: string, first: RowsMode, second: RowsMode | undefined, build: Build): Promise<{ rows: Row[]; sourcesPositional: boolean[]; firstSourcesPositional: boolean[]; explain: string }> {
  const session = testSession.open({ "rill.shuffle.partitions": 2, "rill.flow.maxFrameRows": 32, "rill.watermark.idleTimeout": "10 minutes" });
  const name = `posjoinss_${runs++}`;
  const [leftFolder, rightFolder] = [join(folder, "left"), join(folder, "right")];
  await mkdir(leftFolder, { recursive: true });
  await mkdir(rightFolder, { recursive: true });
  const half = async (part: number) => {
    const [from, to] = part === 0 ? [0, 200] : [200, 400];
    await writeFile(join(leftFolder, `part-${part}.csv`), `${LEFT.slice(from, to).map((row) => csvLine([row.lid, row.k, row.n, row.lv, row.lt])).join("\n")}\n`);
    await writeFile(join(rightFolder, `part-${part}.csv`), `${RIGHT.slice(from, to).map((row) => csvLine([row.rid, row.k, row.n, row.rv, row.rt])).join("\n")}\n`);
  };
  const start = async (mode: RowsMode) => {
    session.conf.set("rill.rows.positional", mode);
    const left = session.readStream.schema("lid INT, k STRING, n INT, lv DOUBLE, lt TIMESTAMP").csv(leftFolder);
    const right = session.readStream.schema("rid INT, k STRING, n INT, rv DOUBLE, rt TIMESTAMP").csv(rightFolder);
    return build(left, right).writeStream.queryName(name).outputMode("append").format("json").option("path", join(folder, "out")).option("checkpointLocation", join(folder, "checkpoint")).start();
  };
  await half(0);
  let query: StreamingQuery = await start(first);
  await query.processAllAvailable();
  const firstSourcesPositional = sourcesPositional(query);
  if (second !== undefined) {
    await query.stop();
    query = await start(second);
  }
  await half(1);
  await query.processAllAvailable();
  assert.equal(query.numRecoveries, 0);
  const lastSourcesPositional = sourcesPositional(query);
  const explain = query.explain();
  await testSession.stop();
  return { rows: (await committedLines(join(folder, "out"))).map((line) => JSON.parse(line) as Row), sourcesPositional: lastSourcesPositional, firstSourcesPositional, explain };
}

const selected = (left: DataFrame, right: DataFrame) => [left.selectExpr("lid", "n", "k", "lv * 2 as lv", "lt"), right.selectExpr("rt", "rv", "k", "n", "rid")] as const;

const inner: Build = (leftInput, rightInput) => {
  const [left, right] = selected(leftInput, rightInput);
  return left.alias("l").join(right.alias("r"), expr("l.k = r.k and l.n = r.n and l.lv > r.rv"), "inner");
};

const leftOuter: Build = (leftInput, rightInput) => {
  const [left, right] = selected(leftInput.withWatermark("lt", "30 seconds"), rightInput.withWatermark("rt", "30 seconds"));
  return left.alias("l").join(right.alias("r"), expr("l.k = r.k and l.n = r.n and r.rt between l.lt and l.lt + interval 20 seconds"), "left_outer");
};

/** The explain() text of each source stage. */
function sourceStages(explain: string): string[] {
  return explain.slice(explain.indexOf("== Physical plan")).split(/\n(?=\s*s\d+-)/).map((stage) => stage.trim()).filter((stage) => /^s\d+-source/.test(stage));
}

describe("the stream-stream join's inputs by position", () => {
  const folder = useTempFolder("rill-posjoinss-");

  it("inner, keys of two columns with U+0000 and nulls, a condition beyond the key: the same rows both ways, each input's source stage tags its rows by position; left outer after withWatermark the same both ways", async () => {
    const positional = await run(join(folder(), "inner-auto"), "auto", undefined, inner);
    const named = await run(join(folder(), "inner-off"), "off", undefined, inner);
    assert.deepStrictEqual(canonical(positional.rows), canonical(named.rows));
    assert.ok(positional.rows.length > 50, `${positional.rows.length} rows`);
    assert.deepEqual(positional.sourcesPositional, [true, true]);
    assert.deepEqual(named.sourcesPositional, [false, false]);
    const stages = sourceStages(positional.explain);
    assert.equal(stages.length, 2);
    for (const stage of stages) assert.match(stage, /side of a stream-stream join, key \[k, n\]\n\s*rows by position$/, positional.explain);
    // Left outer with watermarks and a time range: withWatermark in each input's chain (named until it has a
    // positional form; then the tag runs by position after it): the same rows both ways.
    const outer = await run(join(folder(), "outer-auto"), "auto", undefined, leftOuter);
    const outerNamed = await run(join(folder(), "outer-off"), "off", undefined, leftOuter);
    assert.deepStrictEqual(canonical(outer.rows), canonical(outerNamed.rows));
    assert.ok(outer.rows.some((row) => row.rid === undefined || row.rid === null), "unmatched left rows");
  });
});

describe("a stream-stream join's checkpoint written one way restored the other", () => {
  const folder = useTempFolder("rill-posjoinss-restart-");

  for (const [first, second] of [["off", "auto"], ["auto", "off"]] as const) {
    it(`written ${first === "off" ? "named" : "by position"}, restored ${second === "off" ? "named" : "by position"}: the rows of a run never stopped, none twice`, async () => {
      const reference = await run(join(folder(), `reference-${first}`), "off", undefined, inner);
      const result = await run(join(folder(), `${first}-${second}`), first, second, inner);
      assert.ok(reference.rows.length > 50, `${reference.rows.length} rows`);
      assert.deepStrictEqual(canonical(result.rows), canonical(reference.rows));
      assert.equal(new Set(canonical(result.rows)).size, result.rows.length, "no row twice");
      assert.deepEqual(result.firstSourcesPositional, first === "auto" ? [true, true] : [false, false], "the first run");
      assert.deepEqual(result.sourcesPositional, second === "auto" ? [true, true] : [false, false], "the restarted run");
    });
  }
});
