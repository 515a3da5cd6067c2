// Bytes allocated on V8's heap per frame, encoded and decoded, for the small frames of scenario (b): control frames
// a 2-row frame of windowed counts, and 1-row frames of the source's windowed activity rows (the source-to-aggregate hop). `node --expose-gc --min-semi-space-size=256 --max-semi-space-size=256 --import tsx bench/micro/frame-allocations.ts`
// (the method of allocations.ts: no collection runs during a measurement, so the used heap's growth is what was allocated).
import { decodeFrame, encodeFrame } from "../../src/actors/codec.ts";
import { FRAME_CREDIT, FRAME_DATA, FRAME_WATERMARK, type Frame } from "../../src/core/frame.ts";
import { generateActivity } from "../../src/connectors/sources/activity.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("Run with --expose-gc (see the first line of this file).");

const FRAMES = 20_000;
const subjects: Record<string, Frame> = {
  "watermark frame": { kind: FRAME_WATERMARK, sender: 1, seq: 2, watermark: 1_700_000_000_000.5 },
  "credit frame": { kind: FRAME_CREDIT, receiver: 0, credits: 128 },
  "data frame, 2 windowed counts": {
    kind: FRAME_DATA, sender: 1, seq: 5, epoch: 4, since: 1, until: 2,
    rows: [{ window: { start: 0, end: 1000 }, gt: "sit", count: 3 }, { window: { start: 1000, end: 2000 }, gt: "walk", count: 1 }],
  },
};

// Scenario (b)'s rows after selectExpr, withWatermark and window: 64 different ones, a frame each in turn.
const activityFrames: Frame[] = generateActivity({ count: 64, seed: 3, rowsPerSecond: 10_000 }).map((row, index) => {
  const eventTime = Number(row.Creation_Time) / 1e6;
  const start = Math.floor(eventTime / 1000) * 1000;
  return { kind: FRAME_DATA, sender: 0, seq: index + 1, epoch: 2, since: eventTime, until: eventTime, rows: [{ ...row, event_time: eventTime, window: { start, end: start + 1000 } }] };
});

const cases: Array<[string, readonly Frame[]]> = [...Object.entries(subjects).map(([name, frame]): [string, Frame[]] => [name, [frame]]), ["data frame, 1 windowed activity row (64 rows in turn)", activityFrames]];
for (const [name, frames] of cases) {
  for (let index = 0; index < FRAMES; index++) decodeFrame(encodeFrame(frames[index % frames.length] as Frame));
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let index = 0; index < FRAMES; index++) decodeFrame(encodeFrame(frames[index % frames.length] as Frame));
  const bytes = (process.memoryUsage().heapUsed - before) / FRAMES;
  console.log(`${name}: ${Math.round(bytes)} bytes a frame`);
}
