// NaN in IN, BETWEEN, <=> and comparisons of untyped columns, as Spark orders doubles: NaN equals NaN and is larger
// than every other value. JavaScript's < and > are both false for NaN, and an ordering built on them called NaN equal
// to everything: `5 IN (x)` and `5 <=> x` were true, and `5 BETWEEN x AND x` too, for x = NaN.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { schemaOf, type Row } from "../../src/core/types.ts";
import { parseExpression } from "../../src/expr/parser.ts";
import { createAccumulator } from "../../src/operators/aggregate-functions.ts";
import { compileBothWays } from "../helpers/compile-both.ts";

const schema = schemaOf([
  { name: "d", type: "double", nullable: true },
  { name: "nan", type: "double", nullable: true },
  { name: "loose", type: "any", nullable: true },
]);

function evaluate(text: string, row: Row): unknown {
  return compileBothWays(parseExpression(text), schema).evaluate(row);
}

describe("NaN as Spark orders it", () => {
  const five = { d: 5, nan: Number.NaN, loose: 5 };
  const both = { d: Number.NaN, nan: Number.NaN, loose: Number.NaN };

  it("IN: a number is not in a list holding only NaN; NaN is in a list holding NaN", () => {
    assert.equal(evaluate("d in (nan)", five), false);
    assert.equal(evaluate("d in (nan, 6)", five), false);
    assert.equal(evaluate("d in (nan, 5)", five), true);
    assert.equal(evaluate("d in (nan)", both), true);
    assert.equal(evaluate("d not in (nan)", five), true);
  });

  it("<=>: NaN is null-safe equal to NaN only", () => {
    assert.equal(evaluate("d <=> nan", five), false);
    assert.equal(evaluate("d <=> nan", both), true);
  });

  it("BETWEEN: NaN bounds hold no number; NaN lies between a number and NaN", () => {
    assert.equal(evaluate("d between nan and nan", five), false);
    assert.equal(evaluate("d between 1 and nan", five), true);
    assert.equal(evaluate("nan between 1 and nan", five), true);
    assert.equal(evaluate("nan between 1 and 10", five), false);
  });

  it("an untyped column orders NaN after every number", () => {
    assert.equal(evaluate("loose > 1e308", both), true);
    assert.equal(evaluate("loose < 0", both), false);
    assert.equal(evaluate("loose = 5", both), false);
  });

  it("typed =, !=, <, <=, >, >= between doubles: NaN equals NaN and is greater than every other double", () => {
    const infinity = { d: Number.POSITIVE_INFINITY, nan: Number.NaN, loose: 0 };
    const minusNaN = { d: -Number.NaN, nan: Number.NaN, loose: 0 };
    const table: ReadonlyArray<[string, Row, boolean]> = [
      ["nan = nan", five, true], ["d = nan", five, false], ["nan = d", five, false], ["d = nan", both, true], ["d = nan", minusNaN, true],
      ["nan != nan", five, false], ["d != nan", five, true], ["d != nan", both, false], ["d <> nan", both, false],
      ["d < nan", five, true], ["nan < d", five, false], ["nan < nan", five, false], ["d < nan", infinity, true],
      ["d <= nan", five, true], ["nan <= d", five, false], ["nan <= nan", five, true],
      ["nan > d", five, true], ["d > nan", five, false], ["nan > nan", five, false], ["nan > d", infinity, true],
      ["nan >= d", five, true], ["d >= nan", five, false], ["nan >= nan", five, true],
      ["nan > 1e308", five, true], ["nan = cast('NaN' as double)", five, true], ["d + 1 < nan", five, true],
      // Not NaN: the plain answers stand.
      ["d = 5", five, true], ["d != 5", five, false], ["d < 6", five, true], ["d <= 5", five, true], ["d > 6", five, false], ["d >= 6", five, false],
      ["d < d", infinity, false], ["d >= d", infinity, true],
    ];
    for (const [text, row, expected] of table) assert.equal(evaluate(text, row), expected, `${text} on d = ${String(row.d)}`);
  });

  it("a NaN against null is null, as any comparison with null", () => {
    for (const op of ["=", "!=", "<", "<=", ">", ">="]) assert.equal(evaluate(`nan ${op} d`, { d: null, nan: Number.NaN, loose: 0 }), null, op);
  });

  it("NOT of a comparison with NaN keeps Spark's answer (a filter's negation)", () => {
    assert.equal(evaluate("not (d < nan)", five), false);
    assert.equal(evaluate("not (nan = nan)", five), false);
  });

  it("greatest and least: NaN is the greatest, whichever argument it is", () => {
    assert.ok(Number.isNaN(evaluate("greatest(d, nan)", five)));
    assert.ok(Number.isNaN(evaluate("greatest(nan, d)", five)));
    assert.ok(Number.isNaN(evaluate("greatest(d, nan, 1e308)", five)));
    assert.equal(evaluate("least(d, nan)", five), 5);
    assert.equal(evaluate("least(nan, d)", five), 5);
    assert.ok(Number.isNaN(evaluate("least(nan, nan)", five)));
    assert.equal(evaluate("greatest(d, 7)", five), 7);
    assert.equal(evaluate("least(d, 7)", five), 5);
  });

  it("max and min aggregates: NaN is the greatest, in any order of the rows", () => {
    const aggregate = (name: "max" | "min", values: readonly unknown[]): unknown => {
      const accumulator = createAccumulator(name);
      for (const value of values) accumulator.add(value);
      return accumulator.result();
    };
    for (const values of [[1, Number.NaN, 3], [Number.NaN, 1, 3], [3, 1, Number.NaN], [null, Number.NaN, 1, null]]) {
      assert.ok(Number.isNaN(aggregate("max", values)), `max of ${values.map(String).join(", ")}`);
      assert.equal(aggregate("min", values), 1, `min of ${values.map(String).join(", ")}`);
    }
    assert.ok(Number.isNaN(aggregate("min", [Number.NaN, Number.NaN])));
    assert.equal(aggregate("max", [Number.POSITIVE_INFINITY, 1, Number.POSITIVE_INFINITY]), Number.POSITIVE_INFINITY);
  });
});
