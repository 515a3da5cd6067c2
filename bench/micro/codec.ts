// Frame encode/decode (src/actors/codec.ts): one data frame of 256 rows, the unit actors send each other; activity rows
// (ten columns) and narrow rows (two: a label and a count, as an aggregation emits).
import assert from "node:assert/strict";
import { decodeFrame, encodeFrame } from "../../src/actors/codec.ts";
import { FRAME_DATA, type DataFrame } from "../../src/core/frame.ts";
import type { Row } from "../../src/core/types.ts";
import { activityFrame, FRAME_ROWS, type MicroSuite, type MicroTask } from "./harness.ts";

function frameOf(rows: Row[]): DataFrame {
  return { kind: FRAME_DATA, sender: 0, seq: 1, epoch: 3, since: 1_700_000_000_000.25, until: 1_700_000_000_001.75, rows };
}

function codecTasks(what: string, frame: DataFrame): MicroTask[] {
  const bytes = encodeFrame(frame);
  return [
    {
      name: `encodeFrame (${FRAME_ROWS} ${what} rows)`,
      rowsPerCall: FRAME_ROWS,
      check: () => assert.deepEqual(decodeFrame(encodeFrame(frame)), frame),
      run: () => encodeFrame(frame).length,
    },
    {
      name: `decodeFrame (${FRAME_ROWS} ${what} rows, ${bytes.length} bytes)`,
      rowsPerCall: FRAME_ROWS,
      check: () => assert.deepEqual(decodeFrame(bytes), frame),
      run: () => (decodeFrame(bytes) as DataFrame).rows.length,
    },
  ];
}

export function codecSuite(): MicroSuite {
  const activity = activityFrame();
  const narrow = activity.map((row, index): Row => ({ gt: row.gt, count: index * 3 }));
  return { name: "codec", tasks: [...codecTasks("activity", frameOf(activity as unknown as Row[])), ...codecTasks("narrow (2-column)", frameOf(narrow))] };
}
