// The transport writes each message's `PUB` line into a shared slab (src/actors/pub-lines.ts) rather than letting
// nats.js encode it into a new ArrayBuffer: every message must still arrive whole, in order, on its subject, with
// sizes of every digit count, an empty payload, subjects that are not ASCII, and enough lines to fill several slabs
// in one synchronous run (so the client still holds views of a slab when the next one is taken); and a publish must
// make no ArrayBuffer for its line (what the slab is for: nats.js's own publish encodes one a message).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { useNatsServer } from "../helpers/nats.ts";

const server = useNatsServer();
const SUBJECTS = ["lines.a", "lines.bb", "lines.ünïcode"];

/** Message `index`: its size cycles through 0, 1, 9, 10, 99, 100, ... 100,000 bytes, each byte from the index. */
function payloadOf(index: number): Uint8Array {
  const sizes = [0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10_000, 99_999, 100_000, 7, 33];
  const size = sizes[index % sizes.length] as number;
  return Uint8Array.from({ length: size }, (_, at) => (index * 31 + at) & 0xff);
}

describe("PUB lines from a slab", () => {
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

  it("every message arrives whole, in order, on its subject, across several slabs", async () => {
    const messages = 6000;
    const received = new Map<string, Uint8Array[]>(SUBJECTS.map((subject) => [subject, []]));
    let count = 0;
    const all = new Promise<void>((resolve) => {
      for (const subject of SUBJECTS) {
        subscriber.subscribe(subject, (payload) => {
          received.get(subject)?.push(Uint8Array.from(payload));
          if (++count === messages) resolve();
        });
      }
    });
    await subscriber.flush();
    // One synchronous loop: nats.js's microtask flush cannot run in between, only its inline flushes past 32 KB.
    for (let index = 0; index < messages; index++) publisher.publish(SUBJECTS[index % SUBJECTS.length] as string, payloadOf(index));
    await publisher.flush();
    await all;
    for (const [position, subject] of SUBJECTS.entries()) {
      const got = received.get(subject) ?? [];
      const want = Array.from({ length: messages }, (_, index) => index).filter((index) => index % SUBJECTS.length === position);
      assert.equal(got.length, want.length, subject);
      want.forEach((index, at) => assert.deepEqual(got[at], payloadOf(index), `${subject}: message ${index}`));
    }
  });

  it("a publish makes no ArrayBuffer for its line (TextEncoder.encode is not called per message)", async () => {
    const encode = TextEncoder.prototype.encode;
    let encoded = 0;
    TextEncoder.prototype.encode = function (this: InstanceType<typeof TextEncoder>, input?: string) {
      encoded++;
      return encode.call(this, input);
    };
    try {
      publisher.publish("lines.a", payloadOf(3)); // the subject's prefix is encoded once, on first use
      encoded = 0;
      for (let index = 0; index < 1000; index++) publisher.publish("lines.a", payloadOf(index));
    } finally {
      TextEncoder.prototype.encode = encode;
    }
    await publisher.flush();
    assert.equal(encoded, 0);
  });

  it("a publish on a closed connection throws as the client's does", async () => {
    const closing = await NatsTransport.connect(server().options);
    await closing.close();
    assert.throws(() => closing.publish("lines.a", payloadOf(1)), /closed/i);
  });
});
