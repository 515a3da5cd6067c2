// A session window actor's frame for bench/micro/instructions.ts: decode a frame of 256 rows of its key projection
// ([user, __rill_arg0, __rill_session_time], 16 users, events 250 ms apart), assign each to its user's sessions (gap
// 1 s, count(*) and sum), flush the changed sessions (update mode). Named: decodeFrame, SessionWindowOperator's named
// input; by position: decodeFramePositional, its input read by index (session-window-positional.ts); by position
// through: the same, and its output by position too (outputByPosition).
import { deepStrictEqual } from "node:assert/strict";
import { decodeFrame, decodeFramePositional, encodeFrame } from "../../src/actors/codec.ts";
import { FRAME_DATA, type DataFrame, type PositionalDataFrame } from "../../src/core/frame.ts";
import type { PositionalRow, Row } from "../../src/core/types.ts";
import { SessionWindowOperator } from "../../src/operators/session-window.ts";
import { toNamedRow } from "../../src/operators/positional-operator.ts";
import { sessionWindowPositionalInput } from "../../src/operators/session-window-positional.ts";

const TIME = "__rill_session_time";
const OUTPUT_COLUMNS = ["user", "session_window", "count", "s", "__rill_key"];
const rows: Row[] = Array.from({ length: 256 }, (_, index) => ({ user: `u${index % 16}`, __rill_arg0: index / 4, [TIME]: 1_700_000_000_000 + index * 250 }));
const frame: DataFrame = { kind: FRAME_DATA, sender: 0, seq: 1, epoch: 3, since: 1_700_000_000_000.25, until: 1_700_000_000_001.75, rows };
const source = encodeFrame(frame).slice();

/**
 * The session window actor's work on one frame (`positional`: its input by position; `through`: its output too);
 * checked first to emit the same rows all three ways.
 */
export function sessionWindowPath(positional: boolean, through = false): () => number {
  const outputs = ([[false, false], [true, false], [true, true]] as const).map(([byPosition, out]) => {
    const rows: Row[] = [];
    framePath(byPosition, out, (row) => rows.push(row), (row) => rows.push(toNamedRow(OUTPUT_COLUMNS, row)))();
    return rows;
  });
  deepStrictEqual(outputs[1], outputs[0], "the session window emits the same rows by position and named");
  deepStrictEqual(outputs[2], outputs[0], "the session window emits the same rows out by position and named");
  let emitted = 0;
  const counted = (): void => {
    emitted++;
  };
  return framePath(positional, through, counted, counted, () => emitted);
}

function framePath(positional: boolean, through: boolean, emit: (row: Row) => void, emitPositional: (row: PositionalRow) => void, count: () => number = () => 0): () => number {
  const operator = new SessionWindowOperator("bench.session-window", {
    keyColumns: ["user"], sessionColumn: "session_window", sessionPosition: 1, timeColumn: TIME, gapMs: 1000,
    aggregates: [{ name: "count", function: "count", argument: undefined }, { name: "s", function: "sum", argument: (row) => row.__rill_arg0 }],
    outputMode: "update", watermarked: false, keyColumn: "__rill_key", stateId: "session-window-0",
  });
  const named = operator.connect(emit);
  if (through) operator.outputByPosition(emitPositional);
  if (positional) {
    const input = sessionWindowPositionalInput({ keyColumns: ["user"], timeColumn: TIME, gapColumn: undefined, gapMs: 1000, argumentColumns: [undefined, "__rill_arg0"] }, ["user", "__rill_arg0", TIME]).connect(operator);
    return () => {
      const decoded = decodeFramePositional(source) as PositionalDataFrame;
      for (let index = 0; index < decoded.rows.length; index++) input(decoded.rows[index] as PositionalRow);
      operator.flush();
      return count();
    };
  }
  return () => {
    const decoded = decodeFrame(source) as DataFrame;
    for (let index = 0; index < decoded.rows.length; index++) named(decoded.rows[index] as Row);
    operator.flush();
    return count();
  };
}
