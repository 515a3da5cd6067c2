// Frames across builds: fixtures/frame-corpus.json holds the bytes that main's code (7329da0) wrote for the cases of
// fixtures/frame-corpus-cases.ts, layouts 1 and 2. This build must decode those bytes to the same rows (named, keys in
// order, and by position) and must encode the same frames to the very same bytes, which the older build therefore
// reads as its own. A change of the wire format fails here; the corpus is not to be written anew to make it pass.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { decodeFrame, decodeFramePositional, encodeFrame, isPositional, setFrameLayout } from "../../src/actors/codec.ts";
import type { DataFrame, Frame, PositionalDataFrame } from "../../src/core/frame.ts";
import type { Row } from "../../src/core/types.ts";
import { corpusCases } from "./fixtures/frame-corpus-cases.ts";
import { describeFrame } from "./fixtures/describe-frame.ts";

const corpus = JSON.parse(readFileSync(new URL("./fixtures/frame-corpus.json", import.meta.url), "utf8")) as { name: string; bytes: string }[];

describe("the frame corpus written by main decodes the same here, and this build writes the same bytes", () => {
  after(() => setFrameLayout(2));
  const cases = corpusCases();

  it("has one stored frame per case, in order", () => {
    assert.deepEqual(corpus.map((entry) => entry.name), cases.map((entry) => entry.name));
  });

  for (const [index, entry] of cases.entries()) {
    it(entry.name, () => {
      const stored = new Uint8Array(Buffer.from((corpus[index] as { bytes: string }).bytes, "base64"));
      setFrameLayout(entry.layout);
      // Twice: the second frame of a schema takes the paths a channel's later frames take (cached layout and header).
      for (let round = 0; round < 2; round++) {
        assert.equal(Buffer.from(encodeFrame(entry.frame)).toString("base64"), Buffer.from(stored).toString("base64"), `${entry.name}: the same bytes`);
        const named = decodeFrame(stored) as DataFrame;
        assert.equal(describeFrame(named), describeFrame(entry.named), `${entry.name}: named rows`);
        for (const [row, decoded] of named.rows.entries()) {
          assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
          assert.deepEqual(Object.keys(decoded), Object.keys(entry.named.rows[row] as Row));
        }
        const arrays = decodeFramePositional(stored);
        if (isPositional(arrays)) {
          const columns = isPositional(entry.frame) ? entry.frame.columns : Object.keys(entry.named.rows[0] ?? {});
          assert.deepEqual(arrays.columns, columns);
          const expected: PositionalDataFrame = { ...(arrays as PositionalDataFrame), rows: entry.named.rows.map((row) => columns.map((column) => row[column])) };
          assert.equal(describeFrame(arrays as unknown as Frame), describeFrame(expected as unknown as Frame), `${entry.name}: rows by position`);
        } else {
          assert.equal(describeFrame(arrays as Frame), describeFrame(entry.frame as Frame), `${entry.name}: a msgpack frame`);
        }
      }
    });
  }
});
