// The default flow window depends on where the actors run: larger on workers, where credit crosses processes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FLOW_WINDOW, flowWindowFor, readConfig } from "../../src/api/config.ts";
import { ConfigError } from "../../src/index.ts";

describe("rill.flow.window", () => {
  it("defaults to the one-process window without workers", () => {
    assert.equal(readConfig(new Map()).flowWindow, 8192);
    assert.equal(readConfig(new Map([["rill.workers", "local"]])).flowWindow, 8192);
  });

  it("defaults to the larger window with local or cluster workers", () => {
    assert.equal(readConfig(new Map([["rill.workers", "2"]])).flowWindow, 65_536);
    assert.equal(readConfig(new Map([["rill.workers", "1"]])).flowWindow, 65_536);
    assert.equal(readConfig(new Map([["rill.workers", "cluster"]])).flowWindow, 65_536);
    assert.equal(flowWindowFor("local"), FLOW_WINDOW.local);
    assert.equal(flowWindowFor(3), FLOW_WINDOW.workers);
  });

  it("keeps a window that is set, with or without workers", () => {
    assert.equal(readConfig(new Map([["rill.flow.window", "64"]])).flowWindow, 64);
    assert.equal(readConfig(new Map([["rill.workers", "2"], ["rill.flow.window", "8192"]])).flowWindow, 8192);
  });

  it("still rejects a window that is not a positive integer", () => {
    assert.throws(() => readConfig(new Map([["rill.workers", "2"], ["rill.flow.window", "0"]])), ConfigError);
  });
});
