// Keyed value, map and list state: snapshots carry only what changed, and a restore reads it all back.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KeyedStateTable } from "../../src/state/keyed-state.ts";

describe("KeyedStateTable", () => {
  it("snapshots only the entries changed since the last snapshot, with removals as null", () => {
    const table = new KeyedStateTable("ops-0");
    const counts = table.value<number>("count");
    counts.update("a", 1);
    counts.update("b", 2);
    assert.deepEqual(table.snapshot().map((change) => [change.key.split("\u0000")[1], change.value]), [["a", 1], ["b", 2]]);
    counts.update("a", 5);
    counts.clear("b");
    assert.deepEqual(table.snapshot().map((change) => [change.key.split("\u0000")[1], change.value]), [["a", 5], ["b", null]]);
    assert.deepEqual(table.snapshot(), []);
  });

  it("keeps map and list state per key, and restores from a snapshot", () => {
    const table = new KeyedStateTable("ops-1");
    table.map<string, number>("visits").put("u1", "home", 3);
    table.map<string, number>("visits").put("u1", "cart", 1);
    table.list<string>("pages").add("u1", "home");
    table.list<string>("pages").add("u1", "cart");
    const copy = new KeyedStateTable("ops-1");
    copy.restore(table.snapshot().map((change) => [change.key, change.value]));
    assert.equal(copy.map<string, number>("visits").get("u1", "home"), 3);
    assert.deepEqual(copy.list<string>("pages").get("u1"), ["home", "cart"]);
    assert.equal(copy.value<number>("count").get("u1"), undefined);
  });
});
