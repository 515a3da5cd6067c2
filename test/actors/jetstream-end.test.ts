// Where a drain of a JetStream stream ends (src/actors/jetstream-end.ts): the sequence the stream's leader names.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { endSequence, subjectsToAsk } from "../../src/actors/jetstream-end.ts";

describe("the end of a JetStream stream a drain waits for", () => {
  it("asks the filter alone, or else every subject of the stream; '>' as '*' and '*.>'", () => {
    assert.deepEqual(subjectsToAsk("in.1", ["in.>"]), ["in.1"]);
    assert.deepEqual(subjectsToAsk(undefined, ["in.>", "events"]), ["in.>", "events"]);
    assert.deepEqual(subjectsToAsk(undefined, [">"]), ["*", "*.>"]);
    assert.deepEqual(subjectsToAsk(">", ["a.>"]), ["*", "*.>"]);
    assert.deepEqual(subjectsToAsk(undefined, ["*", ">"]), ["*", "*.>"], "each subject asked once");
    assert.deepEqual(subjectsToAsk(undefined, []), [], "a mirror has no subjects of its own");
  });

  it("is the last message on the subjects asked: the latest of them, whatever the stream's last sequence says", () => {
    assert.equal(endSequence({ messages: 0, lastSequence: 0, lastBySubject: [4200] }), 4200);
    assert.equal(endSequence({ messages: 9, lastSequence: 90, lastBySubject: [40, undefined, 71] }), 71);
    // The stream's last message was deleted: its last sequence still names it, and a reader would wait for it forever.
    assert.equal(endSequence({ messages: 3, lastSequence: 12, lastBySubject: [11] }), 11);
  });

  it("is 0 when no subject asked holds a message (an empty stream, a filter nothing matched yet, all purged)", () => {
    assert.equal(endSequence({ messages: 0, lastSequence: 0, lastBySubject: [undefined] }), 0);
    assert.equal(endSequence({ messages: 0, lastSequence: 0, lastBySubject: [undefined, undefined] }), 0);
    assert.equal(endSequence({ messages: 0, lastSequence: 500, lastBySubject: [] }), 0, "a purged mirror");
  });

  it("is the stream's last sequence for a stream without subjects of its own (a mirror) that holds messages", () => {
    assert.equal(endSequence({ messages: 7, lastSequence: 907, lastBySubject: [] }), 907);
  });
});
