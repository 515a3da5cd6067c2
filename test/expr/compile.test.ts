// Tests for the expression compiler: column resolution, type checks, SQL null semantics and Spark's names.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AnalysisError } from "../../src/core/errors.ts";
import { schemaOf, type Row } from "../../src/core/types.ts";
import { expressionName, resolveColumn } from "../../src/expr/compile.ts";
// Every expression here is compiled both ways (named and by position) and the two compared on each evaluation.
import { compileBothWays as compileExpression } from "../helpers/compile-both.ts";
import { parseExpression } from "../../src/expr/parser.ts";

/** The activity-recognition schema of the seed, plus a few nullable and untyped columns. */
const schema = schemaOf([
  { name: "Arrival_Time", type: "long", nullable: false },
  { name: "Creation_Time", type: "long", nullable: false },
  { name: "Device", type: "string", nullable: false },
  { name: "Index", type: "long", nullable: false },
  { name: "Model", type: "string", nullable: false },
  { name: "User", type: "string", nullable: false },
  { name: "gt", type: "string", nullable: true },
  { name: "x", type: "double", nullable: true },
  { name: "n", type: "long", nullable: true },
  { name: "flag", type: "boolean", nullable: true },
  { name: "text", type: "string", nullable: true },
  { name: "ts", type: "timestamp", nullable: true },
  { name: "loose", type: "any", nullable: true },
]);

const row: Row = {
  Arrival_Time: 1424686735090, Creation_Time: Number("1424686733090638193"), Device: "nexus4_1", Index: 0, Model: "nexus4",
  User: "g", gt: "stairsup", x: -0.5, n: 7, flag: null, text: " 42 ", ts: Date.UTC(2015, 1, 23, 10, 18, 53, 90), loose: "3",
};

function evaluate(text: string, values: Row = row): unknown {
  return compileExpression(parseExpression(text), schema, "select").evaluate(values);
}

function analysisFailure(text: string, context = "filter"): AnalysisError {
  try {
    compileExpression(parseExpression(text), schema, context);
  } catch (error) {
    assert.ok(error instanceof AnalysisError, `expected an AnalysisError for ${text}, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected '${text}' not to compile`);
}

describe("compileExpression", () => {
  it("evaluates the seed's LIKE filter, null for a null gt", () => {
    assert.equal(evaluate("gt like '%stairs%'"), true);
    assert.equal(evaluate("gt like '%stairs%'", { ...row, gt: "sit" }), false);
    assert.equal(evaluate("gt like '%stairs%'", { ...row, gt: null }), null);
    assert.equal(evaluate("gt not like 'stairs%'"), false);
    assert.equal(evaluate("gt like 'stairs_p'"), true);
    assert.equal(evaluate("gt like 'st%s%p'"), true);
    assert.equal(evaluate("'50%' like '50\\%'"), true);
    assert.equal(evaluate("'500' like '50\\%'"), false);
    assert.equal(evaluate("'a.c' like 'a.c'"), true);
    assert.equal(evaluate("'abc' like 'a.c'"), false);
  });

  it("matches LIKE patterns read from a column", () => {
    assert.equal(evaluate("Device like concat(Model, '%')"), true);
    assert.equal(evaluate("gt like text", { ...row, text: null }), null);
  });

  it("evaluates RLIKE anywhere in the string, as Java's find()", () => {
    assert.equal(evaluate("gt rlike 'airs'"), true);
    assert.equal(evaluate("gt rlike '^airs'"), false);
    assert.equal(evaluate("Device regexp '_[0-9]$'"), true);
  });

  it("evaluates IS NULL and IS NOT NULL, treating a missing field as null", () => {
    assert.equal(evaluate("gt is not null"), true);
    assert.equal(evaluate("flag is null"), true);
    const { gt: _gt, ...withoutGt } = row;
    assert.equal(evaluate("gt is null", withoutGt), true);
    assert.equal(compileExpression(parseExpression("gt is null"), schema).nullable, false);
  });

  it("converts the seed's Creation_Time nanoseconds into a timestamp in milliseconds", () => {
    const compiled = compileExpression(
      parseExpression("cast(cast(Creation_Time as double)/1000000000 as timestamp)"), schema, "select",
    );
    assert.equal(compiled.type, "timestamp");
    assert.equal(compiled.name, "CAST((CAST(Creation_Time AS DOUBLE) / 1000000000) AS TIMESTAMP)");
    assert.ok(Math.abs((compiled.evaluate(row) as number) - 1424686733090.638) < 0.001);
  });

  it("computes arithmetic with Spark's precedence and result types", () => {
    assert.equal(evaluate("1 + 2 * 3"), 7);
    assert.equal(evaluate("(1 + 2) * 3"), 9);
    assert.equal(evaluate("n - 10 % 4"), 5);
    assert.equal(evaluate("-n * 2"), -14);
    assert.equal(evaluate("n / 2"), 3.5);
    assert.equal(compileExpression(parseExpression("n + 1"), schema).type, "long");
    assert.equal(compileExpression(parseExpression("n / 1"), schema).type, "double");
    assert.equal(compileExpression(parseExpression("n + x"), schema).type, "double");
  });

  it("casts string operands of arithmetic to double, as Spark does", () => {
    assert.equal(evaluate("text + 1"), 43);
    assert.equal(evaluate("gt + 1"), null);
    assert.equal(compileExpression(parseExpression("text * 2"), schema).type, "double");
  });

  it("returns null for division or remainder by zero", () => {
    assert.equal(evaluate("n / 0"), null);
    assert.equal(evaluate("n % 0"), null);
    assert.equal(evaluate("x / 0.0"), null);
  });

  it("propagates null through arithmetic and comparisons", () => {
    assert.equal(evaluate("n + null"), null);
    assert.equal(evaluate("n > null"), null);
    assert.equal(evaluate("x * 2", { ...row, x: null }), null);
    assert.equal(evaluate("gt = 'sit'", { ...row, gt: null }), null);
  });

  it("applies three-valued AND, OR and NOT", () => {
    assert.equal(evaluate("flag and false"), false);
    assert.equal(evaluate("false and flag"), false);
    assert.equal(evaluate("flag and true"), null);
    assert.equal(evaluate("flag or true"), true);
    assert.equal(evaluate("flag or false"), null);
    assert.equal(evaluate("not flag"), null);
    assert.equal(evaluate("not (n > 3)"), false);
  });

  it("compares null-safely with <=>", () => {
    assert.equal(evaluate("flag <=> null"), true);
    assert.equal(evaluate("n <=> null"), false);
    assert.equal(evaluate("n <=> 7"), true);
    assert.equal(compileExpression(parseExpression("flag <=> null"), schema).nullable, false);
  });

  it("compares strings with numbers numerically and strings with timestamps as timestamps", () => {
    assert.equal(evaluate("text = 42"), true);
    assert.equal(evaluate("ts > '2015-02-23 10:18:00'"), true);
    assert.equal(evaluate("ts < '2015-02-23'"), false);
    assert.equal(evaluate("loose = 3"), true);
    assert.equal(evaluate("loose > 2.5"), true);
  });

  it("evaluates IN and NOT IN with SQL's nulls", () => {
    assert.equal(evaluate("n in (1, 7)"), true);
    assert.equal(evaluate("n in (1, 2)"), false);
    assert.equal(evaluate("n in (1, null)"), null);
    assert.equal(evaluate("n in (7, null)"), true);
    assert.equal(evaluate("n not in (1, 2)"), true);
    assert.equal(evaluate("n not in (1, null)"), null);
    assert.equal(evaluate("n in (1, 2)", { ...row, n: null }), null);
    assert.equal(evaluate("gt in ('sit', 'stairsup')"), true);
    assert.equal(evaluate("n in (Index, 7)"), true);
    // As Spark's InConversion: a string among numbers makes them all strings, so ' 42 ' is not '42' (review5).
    assert.equal(evaluate("text in (42, 43)"), false);
    assert.equal(evaluate("trim(text) in (42, 43)"), true);
  });

  it("evaluates BETWEEN inclusively, and NOT BETWEEN", () => {
    assert.equal(evaluate("n between 1 and 7"), true);
    assert.equal(evaluate("n between 8 and 10"), false);
    assert.equal(evaluate("n not between 8 and 10"), true);
    assert.equal(evaluate("n between null and 5"), false);
    assert.equal(evaluate("n between null and 10"), null);
    assert.equal(evaluate("gt between 'a' and 'z'"), true);
  });

  it("evaluates CASE, with null when nothing matches and there is no ELSE", () => {
    const text = "case when gt like 'stairs%' then 'moving' when gt = 'sit' then 'resting' end";
    assert.equal(evaluate(text), "moving");
    assert.equal(evaluate(text, { ...row, gt: "sit" }), "resting");
    assert.equal(evaluate(text, { ...row, gt: "bike" }), null);
    assert.equal(evaluate("case n when 7 then 'seven' else 'other' end"), "seven");
    assert.equal(evaluate("case when flag then 1 else 2 end"), 2);
  });

  it("computes int arithmetic as a 32-bit int that wraps on overflow, as Spark does without ANSI mode", () => {
    const typed = (text: string) => compileExpression(parseExpression(text), schema);
    assert.equal(typed("2147483647 + 1").type, "int");
    assert.equal(typed("2147483647 + 1").evaluate(row), -2147483648);
    assert.equal(typed("-2147483647 - 2").evaluate(row), 2147483647);
    assert.equal(typed("65536 * 65536").evaluate(row), 0);
    assert.equal(typed("2147483647 * 3").evaluate(row), 2147483645);
    assert.equal(typed("-(cast('-2147483648' as int))").evaluate(row), -2147483648);
    assert.equal(typed("7 % 3").type, "int");
    assert.equal(typed("7 / 2").type, "double");
    assert.equal(typed("2147483647 + 2147483648").type, "long");
    assert.equal(typed("2147483647 + 2147483648").evaluate(row), 4294967295);
    assert.equal(typed("cast(2147483647 as bigint) + 1").evaluate(row), 2147483648);
    assert.equal(typed("case when true then 1 else 2147483648 end").type, "long");
  });

  it("widens CASE branches to a common type", () => {
    const compiled = compileExpression(parseExpression("case when n > 5 then 1 else 2.5 end"), schema);
    assert.equal(compiled.type, "double");
    const mixed = compileExpression(parseExpression("case when n > 5 then n else 'none' end"), schema);
    assert.equal(mixed.type, "string");
    assert.equal(mixed.evaluate(row), "7");
    assert.match(analysisFailure("case when n > 5 then true else 1 end").message, /incompatible types: boolean, int/);
  });

  it("names aliased expressions by their alias", () => {
    const compiled = compileExpression(parseExpression("x * 2 AS doubled"), schema);
    assert.equal(compiled.name, "doubled");
    assert.equal(compiled.evaluate(row), -1);
  });

  it("resolves columns case-insensitively and reads the real field name", () => {
    const compiled = compileExpression(parseExpression("ARRIVAL_TIME > 0"), schema);
    assert.equal(compiled.name, "(ARRIVAL_TIME > 0)");
    assert.equal(compiled.evaluate(row), true);
    assert.equal(resolveColumn(schema, "device").name, "Device");
  });

  it("rejects an unknown column with a suggestion and the column list", () => {
    const error = analysisFailure("gtt = 'sit'");
    assert.equal(
      error.message,
      "Column 'gtt' does not exist in filter. Did you mean 'gt'? Columns: Arrival_Time, Creation_Time, Device, Index, " +
        "Model, User, gt, x, n, flag, text, ts, loose",
    );
    assert.equal(error.code, "ANALYSIS");
    assert.equal(error.owner, "user");
  });

  it("rejects a column whose name matches two fields that differ only in case", () => {
    const twoCases = schemaOf([{ name: "Bb", type: "long", nullable: false }, { name: "bB", type: "long", nullable: false }]);
    assert.throws(() => resolveColumn(twoCases, "bb", "select"), {
      name: "AnalysisError",
      message: "Column 'bb' is ambiguous in select: it matches Bb, bB. Use the exact name.",
    });
    assert.equal(resolveColumn(twoCases, "bB").name, "bB");
  });

  it("rejects comparisons between incompatible types, naming the expression", () => {
    assert.match(analysisFailure("ts = true").message, /Cannot compare ts \(timestamp\) with true \(boolean\) in '\(ts = true\)'/);
    assert.match(analysisFailure("ts > 5").message, /in '\(ts > 5\)'/);
  });

  it("rejects non-boolean logic, non-numeric arithmetic and non-string LIKE", () => {
    assert.match(analysisFailure("flag and n").message, /'\(flag AND n\)' needs a boolean condition but n is long/);
    assert.match(analysisFailure("flag + 1").message, /'\(flag \+ 1\)' needs a numeric value but flag is boolean/);
    assert.match(analysisFailure("n like '1%'").message, /'n LIKE 1%' needs a string but n is long/);
    assert.match(analysisFailure("gt rlike '('").message, /Invalid regular expression '\('/);
  });

  it("refuses aggregates and * outside the planner", () => {
    assert.equal(
      analysisFailure("avg(x)", "select").message,
      "Aggregate function 'avg(x)' is not allowed in select; use groupBy(...).agg(...)",
    );
    assert.match(analysisFailure("count(*) + 1").message, /Aggregate function 'count\(1\)'/);
    assert.match(analysisFailure("*").message, /'\*' cannot be used in an expression in filter/);
  });

  it("names expressions as Spark does", () => {
    const name = (text: string): string => expressionName(parseExpression(text));
    assert.equal(name("gt"), "gt");
    assert.equal(name("'stairs'"), "stairs");
    assert.equal(name("1.0"), "1.0");
    assert.equal(name("a + b"), "(a + b)");
    assert.equal(name("a == b"), "(a = b)");
    assert.equal(name("a <> b"), "(NOT (a = b))");
    assert.equal(name("a and b"), "(a AND b)");
    assert.equal(name("-a"), "(- a)");
    assert.equal(name("not a"), "(NOT a)");
    assert.equal(name("a is null"), "(a IS NULL)");
    assert.equal(name("gt like '%stairs%'"), "gt LIKE %stairs%");
    assert.equal(name("cast(x as bigint)"), "CAST(x AS BIGINT)");
    assert.equal(name("avg(x)"), "avg(x)");
    assert.equal(name("x as y"), "y");
    assert.equal(name("case when a then 1 else null end"), "CASE WHEN a THEN 1 ELSE NULL END");
  });

  it("gives compiled literals and columns their schema types and nullability", () => {
    const literal = compileExpression(parseExpression("'stairs'"), schema);
    assert.deepEqual([literal.type, literal.nullable, literal.name, literal.evaluate({})], ["string", false, "stairs", "stairs"]);
    const field = compileExpression(parseExpression("Device"), schema);
    assert.deepEqual([field.type, field.nullable, field.name], ["string", false, "Device"]);
  });
});
