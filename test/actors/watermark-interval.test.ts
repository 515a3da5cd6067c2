// An actor's output watermark: at most one watermark frame per interval while it rises, the latest value always
// delivered, and never held back past a barrier (decision 14: the epoch ends with the windows it closed).
import assert from "node:assert/strict";
import { test } from "node:test";
import { WATERMARK_INTERVAL_MS } from "../../src/actors/actor.ts";
import { decodeFrame, encodeFrame } from "../../src/actors/codec.ts";
import { InProcessTransport } from "../../src/actors/inprocess-transport.ts";
import { OperatorActor } from "../../src/actors/operator-actor.ts";
import { querySubjects } from "../../src/actors/subjects.ts";
import { systemClock } from "../../src/core/clock.ts";
import { FRAME_BARRIER, FRAME_DATA, FRAME_WATERMARK, type ChannelFrame } from "../../src/core/frame.ts";
import type { Row } from "../../src/core/types.ts";
import type { Emit, Operator } from "../../src/operators/operator.ts";

/** withWatermark's contract in a few lines: the output watermark is the latest event time seen (no delay). */
class LatestEventTime implements Operator {
  readonly id = "s1.0-latest.p0";
  private latest = Number.NEGATIVE_INFINITY;
  connect(next: Emit): Emit {
    return (row) => {
      this.latest = Math.max(this.latest, row.t as number);
      next(row);
    };
  }
  outputWatermark(input: number): number {
    return Math.max(input, this.latest);
  }
}

function setUp() {
  const transport = new InProcessTransport();
  const subjects = querySubjects("rill", "wm", "run00001");
  const actor = new OperatorActor(
    { self: { index: 1, name: "s1-op.p0" }, partition: 0, upstream: [{ index: 0, name: "s0-src.p0" }], downstream: [{ index: 2, name: "s2-sink.p0" }], routing: { kind: "forward" } },
    { transport, subjects, flow: { window: 100_000, maxFrameRows: 1024 }, storage: undefined, idleTimeoutMs: 60_000, lateDataSubject: undefined, clock: systemClock },
    [new LatestEventTime()],
  );
  const received: ChannelFrame[] = [];
  const waiters: Array<() => void> = [];
  transport.subscribe(subjects.input("s2-sink.p0"), (payload) => {
    received.push(decodeFrame(payload) as ChannelFrame);
    for (const wake of waiters.splice(0)) wake();
  });
  actor.start();
  let seq = 0;
  const send = (frame: ChannelFrame) => transport.publish(subjects.input("s1-op.p0"), encodeFrame(frame));
  return {
    received,
    actor,
    sendRows: (rows: Row[]) => send({ kind: FRAME_DATA, sender: 0, seq: ++seq, epoch: 0, since: 0, until: 0, rows }),
    sendBarrier: (epoch: number) => send({ kind: FRAME_BARRIER, sender: 0, seq: ++seq, epoch, final: false }),
    /** Resolves once `done()` holds for what the sink's subject received, or rejects after `ms`. */
    until: (done: () => boolean, ms: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${JSON.stringify(received)}`)), ms);
        const check = () => {
          if (done()) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        check();
      }),
  };
}

const watermarks = (frames: ChannelFrame[]) => frames.flatMap((frame) => (frame.kind === FRAME_WATERMARK ? [frame.watermark] : []));
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test("a rising watermark leaves at most once per interval, and its latest value arrives after the interval", async () => {
  const run = setUp();
  const started = performance.now();
  const turns = 200;
  for (let t = 1; t <= turns; t++) {
    run.sendRows([{ t }]);
    await turn();
  }
  const elapsed = performance.now() - started;
  await run.until(() => watermarks(run.received).at(-1) === turns, 5000);
  const sent = watermarks(run.received);
  // One frame a turn before (200 here); now one at the first rise and one per interval after it, plus the held last.
  const intervalMs = Math.max(1, WATERMARK_INTERVAL_MS);
  assert.ok(sent.length <= Math.ceil(elapsed / intervalMs) + 2, `${sent.length} watermark frames in ${elapsed.toFixed(1)} ms`);
  // Turns this fast (typically 0.5 ms each) must have shared frames; a starved event loop may not have.
  if (elapsed < (turns * intervalMs) / 2) assert.ok(sent.length < turns / 2, `${sent.length} watermark frames for ${turns} turns in ${elapsed.toFixed(1)} ms`);
  assert.deepEqual(sent, [...sent].sort((a, b) => a - b), "watermarks never move back");
  const rows = run.received.filter((frame) => frame.kind === FRAME_DATA).flatMap((frame) => frame.rows);
  assert.equal(rows.length, turns, "every row went on");
  await run.actor.stop();
});

test("a barrier is preceded by the latest watermark, even within the interval", async () => {
  const run = setUp();
  run.sendRows([{ t: 10 }]);
  await run.until(() => watermarks(run.received).length === 1, 5000);
  // Within the interval of the first watermark: these rises are held back, but not past the barrier.
  run.sendRows([{ t: 20 }]);
  await turn();
  run.sendRows([{ t: 30 }]);
  run.sendBarrier(0);
  await run.until(() => run.received.some((frame) => frame.kind === FRAME_BARRIER), 5000);
  const barrierAt = run.received.findIndex((frame) => frame.kind === FRAME_BARRIER);
  const before = run.received[barrierAt - 1];
  assert.deepEqual(before && before.kind === FRAME_WATERMARK ? before.watermark : before, 30);
  const afterBarrier = watermarks(run.received.slice(barrierAt + 1));
  await run.actor.stop();
  assert.deepEqual(afterBarrier, [], "nothing left to send after the barrier");
});
