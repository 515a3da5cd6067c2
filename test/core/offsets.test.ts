// Source offsets only move forward: the pure decision, and each source's order of its own offsets.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeOffset, findOffsetRegression, sequenceOrder, type OffsetOrder } from "../../src/core/offsets.ts";
import { fileOrder } from "../../src/connectors/sources/files.ts";
import { generatorOrder } from "../../src/connectors/sources/open-loop.ts";

const orders = new Map<string, OffsetOrder>([["s0.p0", sequenceOrder], ["s0.p1", sequenceOrder]]);

describe("findOffsetRegression", () => {
  it("accepts offsets that stay or move forward, and sources with nothing read yet", () => {
    assert.equal(findOffsetRegression({ "s0.p0": 10, "s0.p1": 5 }, { "s0.p0": 10, "s0.p1": 9 }, orders), undefined);
    assert.equal(findOffsetRegression({}, { "s0.p0": 0 }, orders), undefined, "the first epoch has nothing to compare with");
    assert.equal(findOffsetRegression({ "s0.p0": 3 }, { "s0.p0": 3, "s0.p1": 1 }, orders), undefined, "a partition that starts reading later");
  });

  it("names the first source whose offset went back, with both offsets", () => {
    assert.deepEqual(findOffsetRegression({ "s0.p0": 10, "s0.p1": 5 }, { "s0.p0": 11, "s0.p1": 4 }, orders), { source: "s0.p1", previous: 5, acked: 4 });
  });

  it("treats an ack that lost its offset, or carries one of another shape, as a regression", () => {
    assert.deepEqual(findOffsetRegression({ "s0.p0": 10 }, {}, orders), { source: "s0.p0", previous: 10, acked: undefined });
    assert.deepEqual(findOffsetRegression({ "s0.p0": 10 }, { "s0.p0": "11" }, orders), { source: "s0.p0", previous: 10, acked: "11" });
    assert.deepEqual(findOffsetRegression({ "s0.p0": 10 }, { "s0.p0": 10.5 }, orders), { source: "s0.p0", previous: 10, acked: 10.5 });
  });

  it("does not check sources without an order (their offsets are opaque)", () => {
    assert.equal(findOffsetRegression({ other: 10 }, { other: 1 }, orders), undefined);
  });
});

describe("each source's offset order", () => {
  it("sequence numbers (JetStream, memory stream): whole numbers that never shrink", () => {
    assert.equal(sequenceOrder(4, 4), true);
    assert.equal(sequenceOrder(4, 5), true);
    assert.equal(sequenceOrder(5, 4), false);
    assert.equal(sequenceOrder(-1, 4), false);
    assert.equal(sequenceOrder(4, Number.POSITIVE_INFINITY), false);
  });

  it("generators (rate, activity): the same schedule start, never fewer rows", () => {
    assert.equal(generatorOrder({ start: 1000, emitted: 5 }, { start: 1000, emitted: 5 }), true);
    assert.equal(generatorOrder({ start: 1000, emitted: 5 }, { start: 1000, emitted: 9 }), true);
    assert.equal(generatorOrder({ start: 1000, emitted: 5 }, { start: 1000, emitted: 4 }), false);
    assert.equal(generatorOrder({ start: 1000, emitted: 5 }, { start: 2000, emitted: 50 }), false, "another schedule makes other rows");
    assert.equal(generatorOrder({ start: 1000, emitted: 5 }, 7), false);
  });

  it("files: every fully read file stays read, and the file read part-way is read at least as far", () => {
    const before = { files: ["a.json", "b.json"], partial: { name: "c.json", rows: 10 } };
    assert.equal(fileOrder(before, before), true);
    assert.equal(fileOrder(before, { files: ["a.json", "b.json"], partial: { name: "c.json", rows: 12 } }), true);
    assert.equal(fileOrder(before, { files: ["a.json", "b.json", "c.json"], partial: undefined }), true);
    assert.equal(fileOrder(before, { files: ["a.json", "b.json", "c.json"], partial: { name: "d.json", rows: 1 } }), true);
    assert.equal(fileOrder(before, { files: ["a.json", "b.json"], partial: { name: "c.json", rows: 9 } }), false, "fewer rows of the partial file");
    assert.equal(fileOrder(before, { files: ["a.json"], partial: { name: "c.json", rows: 10 } }), false, "a read file forgotten");
    assert.equal(fileOrder(before, { files: ["a.json", "b.json"], partial: null }), false, "the partial file forgotten");
    assert.equal(fileOrder({ files: [], partial: null }, { files: [], partial: null }), true, "a restored offset holds null");
    assert.equal(fileOrder(before, { files: "a.json" }), false);
  });
});

describe("describeOffset", () => {
  it("shows an offset as JSON, cut to 200 characters, and names what JSON cannot show", () => {
    assert.equal(describeOffset({ files: ["a"], partial: null }), '{"files":["a"],"partial":null}');
    assert.equal(describeOffset(undefined), "none");
    assert.equal(describeOffset(10n), "(a bigint)");
    assert.equal(describeOffset("x".repeat(500)).length, 203);
  });
});
