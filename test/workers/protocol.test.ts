// The pure parts of the worker protocol: which hosted run a placement supersedes, and source offsets in a placement.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TransportError } from "../../src/core/errors.ts";
import { decodeOffsets, encodeOffsets, supersedes } from "../../src/workers/protocol.ts";

describe("worker protocol", () => {
  const hosted = { queryId: "q1", runId: "run-a", attempt: 2 };

  it("a later attempt of the same run supersedes an earlier one; the same or an earlier attempt does not", () => {
    assert.equal(supersedes({ ...hosted, attempt: 3 }, hosted), true);
    assert.equal(supersedes(hosted, hosted), false, "the other group of the same attempt stays");
    assert.equal(supersedes({ ...hosted, attempt: 1 }, hosted), false);
  });

  it("another run of the same query (a restarted driver) supersedes whatever attempt is hosted", () => {
    assert.equal(supersedes({ queryId: "q1", runId: "run-b", attempt: 0 }, hosted), true);
  });

  it("another query never supersedes, even with the same run id and a later attempt", () => {
    assert.equal(supersedes({ queryId: "q2", runId: "run-a", attempt: 9 }, hosted), false);
  });

  it("source offsets survive the trip: sequences, file lists, nested objects, big numbers", () => {
    const offsets = { "s0-source-jetstream.p0": 1042, "s1-source-json.p0": { files: ["a.json", "b.json"], line: 7 }, "s2-source-rate.p0": Number.MAX_SAFE_INTEGER };
    assert.deepEqual(decodeOffsets(encodeOffsets(offsets)), offsets);
    assert.deepEqual(decodeOffsets(encodeOffsets({})), {});
  });

  it("a placement whose offsets are not a map is refused", () => {
    assert.throws(() => decodeOffsets(Buffer.from([0x93, 1, 2, 3]).toString("base64")), TransportError);
  });
});
