// Frames are views of the encoders' shared buffers (the column writer's 256 KB buffer, msgpackr's 8 KB one), and
// nats.js keeps a published payload by reference until its flush copies the batch (on a microtask, or at once past
// 32 KB): an encoder that wrote a later frame over an earlier one's bytes before that flush would send wrong bytes.
// Many frames encoded and published in one synchronous run, several buffers' worth, must all arrive as they were.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeFrame, encodeFrame } from "../../src/actors/codec.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { FRAME_DATA, FRAME_WATERMARK, type Frame } from "../../src/core/frame.ts";
import type { Row } from "../../src/core/types.ts";
import { useNatsServer } from "../helpers/nats.ts";

const server = useNatsServer();

/** Frame `index`: 40 rows whose values all depend on the index, or every fifth a watermark frame (msgpackr's buffer). */
function frameOf(index: number): Frame {
  if (index % 5 === 4) return { kind: FRAME_WATERMARK, sender: 1, seq: index + 1, watermark: 1_700_000_000_000 + index };
  const rows: Row[] = Array.from({ length: 40 }, (_, row) => ({ id: index * 1000 + row, gt: `activity-${index}-${row % 7}`, x: index + row / 8, window: { start: index * 1000, end: index * 1000 + 1000 } }));
  return { kind: FRAME_DATA, sender: 1, seq: index + 1, epoch: 1, since: index, until: index + 1, rows };
}

describe("frames published straight after encoding", () => {
  let publisher: NatsTransport;
  let subscriber: NatsTransport;
  before(async () => {
    publisher = await NatsTransport.connect(server().options);
    subscriber = await NatsTransport.connect(server().options);
  });
  after(async () => {
    await publisher.close();
    await subscriber.close();
  });

  it("arrive with their own bytes, though encoded into shared buffers before nats.js flushed any", async () => {
    const frames = 1500;
    const received: Array<Frame | string> = [];
    const all = new Promise<void>((resolve) => {
      // Bytes written over may not decode at all: the transport reports that, and it counts as a wrong frame.
      subscriber.onRejected((_subject, error) => {
        received.push(`rejected: ${String(error)}`);
        if (received.length === frames) resolve();
      });
      subscriber.subscribe("buffers.test", (payload) => {
        received.push(decodeFrame(payload));
        if (received.length === frames) resolve();
      });
    });
    await subscriber.flush();
    let bytes = 0;
    // One synchronous loop: nats.js's microtask flush cannot run in between, only its 32 KB inline flushes.
    for (let index = 0; index < frames; index++) {
      const payload = encodeFrame(frameOf(index));
      bytes += payload.length;
      publisher.publish("buffers.test", payload);
    }
    assert.ok(bytes > 2 * 256 * 1024, `only ${bytes} bytes: the frames must fill the column writer's buffer more than once`);
    await publisher.flush();
    await all;
    for (let index = 0; index < frames; index++) assert.deepEqual(received[index], frameOf(index), `frame ${index}`);
  });
});
