// Parameter declarations and values are checked where they enter: code, the bucket, the command line.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/index.ts";
import { checkDeclaration, decodeValue, encodeValue, parseValueText } from "../../src/params/types.ts";

describe("parameter types", () => {
  it("accepts a declaration with a default of its type and refuses one of another type, naming the parameter", () => {
    assert.deepEqual(checkDeclaration("threshold", { type: "double", default: 30 }), { type: "double", default: 30 });
    assert.throws(() => checkDeclaration("threshold", { type: "double", default: "high" }), (error: unknown) => error instanceof ConfigError && /Parameter 'threshold' is declared double/.test(error.message));
    assert.throws(() => checkDeclaration("threshold", { type: "float" }), (error: unknown) => error instanceof ConfigError && /threshold/.test(error.message));
    assert.throws(() => checkDeclaration("_type.x", { type: "double" }), ConfigError);
  });

  it("reads command-line text by the declared type, or as a number, a boolean or a string without one", () => {
    assert.equal(parseValueText("t", "40", "double"), 40);
    assert.equal(parseValueText("t", "40", "string"), "40");
    assert.equal(parseValueText("t", "40", undefined), 40);
    assert.equal(parseValueText("t", "true", undefined), true);
    assert.equal(parseValueText("t", "hot", undefined), "hot");
    assert.throws(() => parseValueText("t", "hot", "double"), /Parameter 't' is declared double, and 'hot' is not a number/);
    assert.throws(() => parseValueText("t", "2.5", "int"), /declared int/);
  });

  it("round-trips values through the bucket's bytes and refuses bytes that are not a scalar", () => {
    for (const value of [30, 2.5, "hot", false]) assert.equal(decodeValue(encodeValue(value)), value);
    assert.equal(decodeValue(new TextEncoder().encode("{\"a\":1}")), undefined);
    assert.equal(decodeValue(new TextEncoder().encode("not json")), undefined);
  });
});
