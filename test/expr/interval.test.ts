// Interval literals (`interval 1 hour`) as Spark writes them in a stream-stream join's time range: parsed into
// milliseconds, added to or subtracted from timestamps, refused anywhere else.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AnalysisError } from "../../src/core/errors.ts";
import type { Schema } from "../../src/core/types.ts";
// Every expression here is compiled both ways (named and by position) and the two compared on each evaluation.
import { compileBothWays as compileExpression } from "../helpers/compile-both.ts";
import { parseExpression } from "../../src/expr/parser.ts";

const schema: Schema = { fields: [{ name: "t", type: "timestamp", nullable: true }, { name: "n", type: "long", nullable: false }] };
const evaluate = (text: string, row: Record<string, unknown>) => compileExpression(parseExpression(text), schema).evaluate(row);

describe("interval literals", () => {
  it("move a timestamp by their milliseconds, in Spark's spellings", () => {
    assert.equal(evaluate("t + interval 1 hour", { t: 1000 }), 3_601_000);
    assert.equal(evaluate("t - INTERVAL 2 HOURS 30 MINUTES", { t: 0 }), -9_000_000);
    assert.equal(evaluate("t + interval '3' day", { t: 0 }), 3 * 86_400_000);
    assert.equal(evaluate("interval '10 seconds' + t", { t: 5 }), 10_005);
    assert.equal(evaluate("t + interval 1 hour", { t: null }), null);
    assert.equal(compileExpression(parseExpression("t + interval 1 hour"), schema).type, "timestamp");
  });

  it("compare as timestamps in a condition", () => {
    assert.equal(evaluate("t <= t + interval 1 minute AND t > t - interval 500 milliseconds", { t: 42 }), true);
  });

  it("are refused where they mean nothing, naming the expression", () => {
    assert.throws(() => evaluate("interval 1 hour", {}), (error: unknown) => error instanceof AnalysisError && /can only be added to or subtracted from a timestamp/.test(error.message));
    assert.throws(() => evaluate("n + interval 1 hour", { n: 1 }), (error: unknown) => error instanceof AnalysisError && /needs a timestamp beside the interval, but n is long/.test(error.message));
    assert.throws(() => evaluate("interval 1 hour - t", { t: 1 }), (error: unknown) => error instanceof AnalysisError && /add an interval to a timestamp/.test(error.message));
    assert.throws(() => parseExpression("t + interval 1 month"), /months or years, which are not supported here/);
  });
});
