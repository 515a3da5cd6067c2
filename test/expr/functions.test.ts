// Tests for the scalar function table: Spark's results, null handling, arity and unknown-function errors.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { schemaOf, type Row } from "../../src/core/types.ts";
// Every expression here is compiled both ways (named and by position) and the two compared on each evaluation.
import { compileBothWays as compileExpression } from "../helpers/compile-both.ts";
import { parseExpression } from "../../src/expr/parser.ts";

const schema = schemaOf([
  { name: "s", type: "string", nullable: true },
  { name: "n", type: "long", nullable: true },
  { name: "x", type: "double", nullable: true },
  { name: "ts", type: "timestamp", nullable: true },
]);
const row: Row = { s: "  Hello World ", n: -7, x: 2.675, ts: Date.UTC(2020, 0, 1, 10, 0, 0) };

function evaluate(text: string, values: Row = row): unknown {
  return compileExpression(parseExpression(text), schema, "select").evaluate(values);
}

function typeOf(text: string): string {
  return compileExpression(parseExpression(text), schema).type;
}

describe("scalar functions", () => {
  it("computes math functions, null in null out", () => {
    assert.equal(evaluate("abs(n)"), 7);
    assert.equal(typeOf("abs(n)"), "long");
    assert.equal(evaluate("sqrt(16)"), 4);
    assert.equal(evaluate("exp(0)"), 1);
    assert.equal(evaluate("ln(1)"), 0);
    assert.equal(evaluate("log(0)"), null);
    assert.equal(evaluate("log(2, 8)"), 3);
    assert.equal(evaluate("pow(2, 10)"), 1024);
    assert.equal(evaluate("power(n, 2)"), 49);
    assert.equal(evaluate("sqrt(x)", { ...row, x: null }), null);
  });

  it("rounds HALF_UP on the decimal value, as Spark does", () => {
    assert.equal(evaluate("round(x, 2)"), 2.68);
    assert.equal(evaluate("round(2.5)"), 3);
    assert.equal(evaluate("round(-2.5)"), -3);
    assert.equal(evaluate("round(1.005, 2)"), 1.01);
    assert.equal(evaluate("round(1234, -2)"), 1200);
    assert.equal(evaluate("round(n)"), -7);
    assert.equal(typeOf("round(n, 1)"), "long");
    assert.equal(typeOf("round(x, 1)"), "double");
    assert.throws(() => evaluate("round(x, n)"), /The scale of 'round\(x, n\)' must be an integer literal/);
  });

  it("floors and ceils to long", () => {
    assert.equal(evaluate("floor(x)"), 2);
    assert.equal(evaluate("ceil(x)"), 3);
    assert.equal(evaluate("ceiling(-0.5)"), 0);
    assert.equal(typeOf("floor(x)"), "long");
  });

  it("picks greatest and least, skipping nulls", () => {
    assert.equal(evaluate("greatest(1, n, x)"), 2.675);
    assert.equal(evaluate("least(1, n, x)"), -7);
    assert.equal(evaluate("greatest(null, 3, 1)"), 3);
    assert.equal(evaluate("least(n, null)", { ...row, n: null }), null);
    assert.equal(typeOf("greatest(1, n)"), "long");
  });

  it("handles nulls with coalesce, nvl, ifnull, isnull, isnotnull and if", () => {
    assert.equal(evaluate("coalesce(null, n, 1)"), -7);
    assert.equal(evaluate("coalesce(n, 1)", { ...row, n: null }), 1);
    assert.equal(evaluate("nvl(s, 'none')", { ...row, s: null }), "none");
    assert.equal(evaluate("ifnull(n, 0)"), -7);
    assert.equal(evaluate("isnull(s)"), false);
    assert.equal(evaluate("isnotnull(s)"), true);
    assert.equal(evaluate("if(n < 0, 'negative', 'positive')"), "negative");
    assert.equal(evaluate("if(null, 1, 2)"), 2);
  });

  it("transforms strings", () => {
    assert.equal(evaluate("lower(s)"), "  hello world ");
    assert.equal(evaluate("ucase(s)"), "  HELLO WORLD ");
    assert.equal(evaluate("length(s)"), 14);
    assert.equal(evaluate("trim(s)"), "Hello World");
    assert.equal(evaluate("ltrim(s)"), "Hello World ");
    assert.equal(evaluate("rtrim(s)"), "  Hello World");
    assert.equal(evaluate("trim('\\tx ')"), "\tx");
    assert.equal(evaluate("upper(n)"), "-7");
  });

  it("concatenates: concat is null if any part is, concat_ws skips nulls", () => {
    assert.equal(evaluate("concat('a', n, 'b')"), "a-7b");
    assert.equal(evaluate("concat('a', null)"), null);
    assert.equal(evaluate("concat_ws('-', 'a', null, 'b')"), "a-b");
    assert.equal(evaluate("concat_ws(null, 'a')"), null);
    assert.equal(evaluate("'x' || n"), "x-7");
  });

  it("takes substrings 1-based, like Spark's substring", () => {
    assert.equal(evaluate("substring('Spark SQL', 5)"), "k SQL");
    assert.equal(evaluate("substring('Spark SQL', -3)"), "SQL");
    assert.equal(evaluate("substring('Spark SQL', 5, 1)"), "k");
    assert.equal(evaluate("substr('Spark SQL', 0, 2)"), "Sp");
    assert.equal(evaluate("substr('Spark SQL', 1, 0)"), "");
    assert.equal(evaluate("substr('Spark', 10)"), "");
  });

  it("tests contains, startswith and endswith", () => {
    assert.equal(evaluate("contains(s, 'World')"), true);
    assert.equal(evaluate("startswith(s, 'Hello')"), false);
    assert.equal(evaluate("endswith(trim(s), 'World')"), true);
    assert.equal(evaluate("contains(s, null)"), null);
  });

  it("converts to and from timestamps", () => {
    assert.equal(evaluate("to_timestamp('2020-01-01 10:00:00')"), Date.UTC(2020, 0, 1, 10));
    assert.equal(evaluate("to_timestamp('2020-01-01', 'yyyy-MM-dd')"), Date.UTC(2020, 0, 1));
    assert.equal(evaluate("to_timestamp('not a date')"), null);
    assert.equal(typeOf("to_timestamp(s)"), "timestamp");
    assert.equal(evaluate("unix_timestamp(ts)"), Date.UTC(2020, 0, 1, 10) / 1000);
    assert.equal(evaluate("unix_timestamp('2020-01-01 00:00:01')"), 1577836801);
    const before = Date.now();
    const now = evaluate("current_timestamp()") as number;
    assert.ok(now >= before && now <= Date.now());
    assert.equal(typeOf("current_timestamp()"), "timestamp");
  });

  it("rejects an unknown function with the closest known name", () => {
    assert.throws(() => evaluate("foo(n)"), { name: "AnalysisError", message: "Undefined function 'foo'. Did you mean 'floor'?" });
    assert.throws(() => evaluate("uper(s)"), /Undefined function 'uper'. Did you mean 'upper'\?/);
  });

  it("rejects a wrong number of arguments, naming the function and its arity", () => {
    assert.throws(() => evaluate("sqrt(1, 2)"), {
      name: "AnalysisError",
      message: "Function 'sqrt' takes 1 argument but 2 were given in 'sqrt(1, 2)'",
    });
    assert.throws(() => evaluate("substring(s)"), /Function 'substring' takes 2 or 3 arguments but 1 was given/);
    assert.throws(() => evaluate("greatest(1)"), /Function 'greatest' takes at least 2 arguments/);
  });

  it("rejects arguments of the wrong type", () => {
    assert.throws(() => evaluate("sqrt(ts)"), /'sqrt\(ts\)' needs a numeric value but ts is timestamp/);
    assert.throws(() => evaluate("if(n, 1, 2)"), /'\(IF\(n, 1, 2\)\)' needs a boolean condition but n is long/);
    assert.throws(() => evaluate("unix_timestamp(n)"), /needs a string or timestamp but n is long/);
  });
});
