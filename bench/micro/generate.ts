// A generator actor's frame for bench/micro/instructions.ts: decode a frame of 256 [id, device, tags, v] rows (tags an
// array of 0-3 strings, null in one row of 8), explode_outer(tags) with id, device and v * 2 beside it, encode the output
// frame. Named: decodeFrame, GenerateOperator, encodeFrame of objects; by position: the same over arrays.
import { decodeFrame, decodeFramePositional, encodeFrame } from "../../src/actors/codec.ts";
import { columnRead, positionalRead } from "../../src/core/column-read.ts";
import { FRAME_DATA, type DataFrame, type PositionalDataFrame } from "../../src/core/frame.ts";
import type { PositionalRow, Row } from "../../src/core/types.ts";
import { GenerateOperator } from "../../src/operators/generate.ts";
import { PositionalGenerateOperator } from "../../src/operators/generate-positional.ts";

const TAGS = ["walk", "sit", "bike", "stairsup"];
const events: Row[] = Array.from({ length: 256 }, (_, index) => ({
  id: index,
  device: `d${index % 13}`,
  tags: index % 8 === 0 ? null : TAGS.slice(0, index % 4),
  v: index / 4,
}));
const frame: DataFrame = { kind: FRAME_DATA, sender: 0, seq: 1, epoch: 3, since: 1_700_000_000_000.25, until: 1_700_000_000_001.75, rows: events };
const source = encodeFrame(frame).slice();
const columns = ["id", "device", "tag", "twice"];

/** The generator actor's work on one frame (`positional`: all by position); checked first to give the same bytes both ways. */
export function generatePath(positional: boolean): () => number {
  // Copied: the encoder may reuse its buffer for the next frame.
  const named = framePath(false)().slice();
  const arrays = framePath(true)().slice();
  if (Buffer.compare(named, arrays) !== 0) throw new Error("the generator's output frames differ by position and named");
  const path = framePath(positional);
  return () => path().length;
}

function framePath(positional: boolean): () => Uint8Array {
  if (positional) {
    let out: PositionalRow[] = [];
    const read = (index: number) => positionalRead(index) as unknown as (row: PositionalRow) => unknown;
    const operator = new PositionalGenerateOperator("bench.generate", {
      evaluate: read(2),
      outer: true,
      columns: [{ name: "id", evaluate: read(0) }, { name: "device", evaluate: read(1) }, { name: "tag", generated: "element" }, { name: "twice", evaluate: (row) => (row[3] as number) * 2 }],
      keyIndex: undefined,
    });
    const input = operator.connect((row) => out.push(row), { chain: { at: -1 }, index: 0 });
    return () => {
      const decoded = decodeFramePositional(source) as PositionalDataFrame;
      out = [];
      for (let index = 0; index < decoded.rows.length; index++) input(decoded.rows[index] as PositionalRow);
      return encodeFrame({ ...frame, columns, rows: out });
    };
  }
  let out: Row[] = [];
  const operator = new GenerateOperator("bench.generate", {
    evaluate: columnRead("tags", true),
    outer: true,
    columns: [{ name: "id", evaluate: columnRead("id", true) }, { name: "device", evaluate: columnRead("device", true) }, { name: "tag", generated: "element" }, { name: "twice", evaluate: (row) => (row.v as number) * 2 }],
    keyColumn: undefined,
  });
  const input = operator.connect((row) => out.push(row), { chain: { at: -1 }, index: 0 });
  return () => {
    const decoded = decodeFrame(source) as DataFrame;
    out = [];
    for (let index = 0; index < decoded.rows.length; index++) input(decoded.rows[index] as Row);
    return encodeFrame({ ...frame, rows: out });
  };
}
