// Frame encode/decode (src/actors/codec.ts): one data frame of 256 activity rows, the unit actors send each other.
import assert from "node:assert/strict";
import { decodeFrame, encodeFrame } from "../../src/actors/codec.ts";
import { FRAME_DATA, type DataFrame } from "../../src/core/frame.ts";
import { activityFrame, FRAME_ROWS, type MicroSuite } from "./harness.ts";

export function codecSuite(): MicroSuite {
  const frame: DataFrame = { kind: FRAME_DATA, sender: 0, seq: 1, epoch: 3, since: 1_700_000_000_000.25, until: 1_700_000_000_001.75, rows: activityFrame() };
  const bytes = encodeFrame(frame);
  return {
    name: "codec",
    tasks: [
      {
        name: `encodeFrame (${FRAME_ROWS} activity rows)`,
        rowsPerCall: FRAME_ROWS,
        check: () => assert.deepEqual(decodeFrame(encodeFrame(frame)), frame),
        run: () => encodeFrame(frame).length,
      },
      {
        name: `decodeFrame (${FRAME_ROWS} activity rows, ${bytes.length} bytes)`,
        rowsPerCall: FRAME_ROWS,
        check: () => assert.deepEqual(decodeFrame(bytes), frame),
        run: () => (decodeFrame(bytes) as DataFrame).rows.length,
      },
    ],
  };
}
