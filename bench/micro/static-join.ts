// A stream-static join actor's frame for bench/micro/instructions.ts (the YSB join: ad_id to its campaign among 1,000
// ads of 100 campaigns): decode a frame of 256 [ad_id, event_time] rows, join each, encode the output frame. Named:
// decodeFrame, StaticJoinOperator, encodeFrame of objects; by position: the same over arrays.
import { decodeFrame, decodeFramePositional, encodeFrame } from "../../src/actors/codec.ts";
import { FRAME_DATA, type DataFrame, type PositionalDataFrame } from "../../src/core/frame.ts";
import type { PositionalRow, Row } from "../../src/core/types.ts";
import { StaticJoinOperator } from "../../src/operators/join-static.ts";
import { PositionalStaticJoinOperator } from "../../src/operators/join-static-positional.ts";
import { keyOfColumns, positionalKeyOfColumns, StaticTable } from "../../src/operators/join-static-table.ts";
import { rowBuilder } from "../../src/plan/join-analysis.ts";

const ads: Row[] = Array.from({ length: 1000 }, (_, index) => ({ ad_id: `ad-${index}`, campaign_id: `campaign-${index % 100}` }));
const events: Row[] = Array.from({ length: 256 }, (_, index) => ({ ad_id: `ad-${(index * 7919) % 1000}`, event_time: 1_700_000_000_000 + index }));
const frame: DataFrame = { kind: FRAME_DATA, sender: 0, seq: 1, epoch: 3, since: 1_700_000_000_000.25, until: 1_700_000_000_001.75, rows: events };
const source = encodeFrame(frame).slice();
const columns = ["ad_id", "event_time", "campaign_id"];

/** The join actor's work on one frame; resolves once the static table has loaded. */
export async function staticJoinPath(positional: boolean): Promise<() => number> {
  const table = new StaticTable("bench.campaigns", () => Promise.resolve(ads), keyOfColumns(["ad_id"]), undefined);
  await table.load();
  if (positional) {
    let out: PositionalRow[] = [];
    const operator = new PositionalStaticJoinOperator("bench.join", {
      table,
      staticColumns: ["ad_id", "campaign_id"],
      probeKey: positionalKeyOfColumns([0]),
      condition: undefined,
      mode: "inner",
      output: [{ from: "key", probeIndex: 0, staticIndex: 0, staticFirst: false }, { from: "probe", index: 1 }, { from: "static", index: 1 }],
    });
    const input = operator.connect((row) => out.push(row), { chain: { at: -1 }, index: 0 });
    return () => {
      const decoded = decodeFramePositional(source) as PositionalDataFrame;
      out = [];
      for (let index = 0; index < decoded.rows.length; index++) input(decoded.rows[index] as PositionalRow);
      return encodeFrame({ ...frame, columns, rows: out }).length;
    };
  }
  const output = rowBuilder([
    { field: { name: "ad_id", type: "string", nullable: false }, side: "key", input: "ad_id", read: (l) => (l as Row).ad_id },
    { field: { name: "event_time", type: "long", nullable: false }, side: "left", input: "event_time", read: (l) => (l as Row).event_time },
    { field: { name: "campaign_id", type: "string", nullable: false }, side: "right", input: "campaign_id", read: (_l, r) => (r as Row).campaign_id },
  ]);
  let out: Row[] = [];
  const operator = new StaticJoinOperator("bench.join", { table, probeKey: keyOfColumns(["ad_id"]), condition: undefined, mode: "inner", output, unmatchedStatic: false, keyColumn: undefined });
  const input = operator.connect((row) => out.push(row));
  return () => {
    const decoded = decodeFrame(source) as DataFrame;
    out = [];
    for (let index = 0; index < decoded.rows.length; index++) input(decoded.rows[index] as Row);
    return encodeFrame({ ...frame, rows: out }).length;
  };
}
