// Frame encode/decode (src/actors/codec.ts): one data frame of 256 rows, the unit actors send each other; activity rows
// (ten columns) and narrow rows (two: a label and a count, as an aggregation emits).
import assert from "node:assert/strict";
import { decodeFrame, decodeFramePositional, encodeFrame } from "../../src/actors/codec.ts";
import { FRAME_DATA, type DataFrame, type PositionalDataFrame } from "../../src/core/frame.ts";
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

/** The same rows by position (arrays in the order of the first row's keys): the same bytes on the wire. */
function arrayTasks(what: string, frame: DataFrame): MicroTask[] {
  const columns = Object.keys(frame.rows[0] ?? {});
  const arrays: PositionalDataFrame = { ...frame, columns, rows: frame.rows.map((row) => columns.map((column) => row[column])) };
  const bytes = encodeFrame(frame).slice();
  return [
    {
      name: `encodeFrame by position (${FRAME_ROWS} ${what} rows)`,
      rowsPerCall: FRAME_ROWS,
      check: () => assert.deepEqual(encodeFrame(arrays), bytes),
      run: () => encodeFrame(arrays).length,
    },
    {
      name: `decodeFrame by position (${FRAME_ROWS} ${what} rows)`,
      rowsPerCall: FRAME_ROWS,
      check: () => assert.deepEqual(decodeFramePositional(bytes), arrays),
      run: () => (decodeFramePositional(bytes) as PositionalDataFrame).rows.length,
    },
  ];
}

/**
 * Small frames (1 and 3 activity rows, as a channel sends at 10,000 rows a second): encode and decode of one frame a
 * call, so the figure is per frame (rowsPerCall 1).
 */
function smallFrameTasks(activity: Row[]): MicroTask[] {
  return [1, 3].map((count): MicroTask => {
    const small = frameOf(activity.slice(0, count));
    return {
      name: `encodeFrame + decodeFrame (a ${count}-row activity frame; ns a frame)`,
      rowsPerCall: 1,
      check: () => assert.deepEqual(decodeFrame(encodeFrame(small)), small),
      run: () => (decodeFrame(encodeFrame(small)) as DataFrame).rows.length,
    };
  });
}

export function codecSuite(): MicroSuite {
  const activity = activityFrame();
  const narrow = activity.map((row, index): Row => ({ gt: row.gt, count: index * 3 }));
  const activityRows = frameOf(activity as unknown as Row[]);
  const narrowFrame = frameOf(narrow);
  return {
    name: "codec",
    tasks: [...codecTasks("activity", activityRows), ...arrayTasks("activity", activityRows), ...codecTasks("narrow (2-column)", narrowFrame), ...arrayTasks("narrow (2-column)", narrowFrame), ...smallFrameTasks(activity as unknown as Row[])],
  };
}
