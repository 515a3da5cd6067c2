// Dead letters: a binary (msgpack) record keeps its bytes as base64, cut to the broker's payload limit like the text.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pack } from "msgpackr";
import { InProcessTransport } from "../../src/actors/inprocess-transport.ts";
import { deadLetterPayload, publishDeadLetter } from "../../src/actors/dead-letter.ts";
import { BinaryRecord } from "../../src/core/binary-record.ts";

const fields = { query: "q", source: "source-0", reason: "fails the schema" };

describe("dead letters", () => {
  it("carry a binary record's bytes as rawBase64 next to what was decoded", async () => {
    const transport = new InProcessTransport();
    const letters: Record<string, unknown>[] = [];
    const arrived = new Promise<void>((resolve) => {
      transport.subscribe("dead", (payload) => {
        letters.push(JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>);
        if (letters.length === 2) resolve();
      });
    });
    const bytes = pack({ device: 7, value: 1 });
    publishDeadLetter(transport, "dead", fields, new BinaryRecord(bytes, { device: 7, value: 1 }));
    publishDeadLetter(transport, "dead", fields, new BinaryRecord(Uint8Array.of(0xc1)));
    await arrived;
    assert.equal(letters.length, 2);
    assert.equal(letters[0]?.raw, '{"device":7,"value":1}');
    assert.deepEqual(Buffer.from(letters[0]?.rawBase64 as string, "base64"), Buffer.from(bytes));
    assert.equal(letters[1]?.raw, "");
    assert.equal(letters[1]?.rawBase64, "wQ==");
  });

  it("cut a large binary record's base64 to whole quads within the payload limit, with its full length", () => {
    const bytes = Buffer.alloc(300_000, 0xab);
    const base64 = bytes.toString("base64");
    const payload = deadLetterPayload(fields, "", 64 * 1024, base64);
    assert.ok(payload.length <= 64 * 1024, `${payload.length} bytes`);
    const letter = JSON.parse(new TextDecoder().decode(payload)) as { rawBase64: string; rawBase64Length: number; truncated: boolean };
    assert.equal(letter.truncated, true);
    assert.equal(letter.rawBase64Length, base64.length);
    assert.equal(letter.rawBase64.length % 4, 0);
    assert.ok(letter.rawBase64.length > 1000);
    assert.ok(Buffer.from(letter.rawBase64, "base64").every((byte) => byte === 0xab));
  });
});
