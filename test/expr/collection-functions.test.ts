// Tests for arrays, structs and JSON: size, struct, nested field access, element_at, split, from_json and to_json.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { col, struct } from "../../src/api/functions.ts";
import { AnalysisError, RecordError } from "../../src/core/errors.ts";
import { schemaOf, type Row } from "../../src/core/types.ts";
// Every expression here is compiled both ways (named and by position) and the two compared on each evaluation.
import { compileBothWays as compileExpression } from "../helpers/compile-both.ts";
import { parseDdlSchema } from "../../src/expr/ddl.ts";
import { parseExpression } from "../../src/expr/parser.ts";

const schema = schemaOf([
  { name: "s", type: "string", nullable: true },
  { name: "n", type: "long", nullable: true },
  { name: "arr", type: "array", nullable: true, element: { name: "element", type: "long", nullable: true } },
  { name: "point", type: "struct", nullable: true, fields: [{ name: "x", type: "double", nullable: true }, { name: "label", type: "string", nullable: true }] },
  { name: "w", type: "window", nullable: false },
]);
const row: Row = { s: "a,b,,c", n: 3, arr: [1, 2, null], point: { x: 1.5, label: "p" }, w: { start: 0, end: 60_000 } };

function compile(text: string) {
  return compileExpression(parseExpression(text), schema, "select");
}

function evaluate(text: string, values: Row = row): unknown {
  return compile(text).evaluate(values);
}

describe("collection functions", () => {
  it("size counts elements and is -1 for null, Spark's default", () => {
    assert.equal(evaluate("size(arr)"), 3);
    assert.equal(evaluate("size(array())"), 0);
    assert.equal(evaluate("size(arr)", { arr: null }), -1);
    assert.throws(() => compile("size(n)"), AnalysisError);
  });

  it("element_at is 1-based and negative from the end; out of range is null", () => {
    assert.equal(evaluate("element_at(arr, 1)"), 1);
    assert.equal(evaluate("element_at(arr, -1)"), null);
    assert.equal(evaluate("element_at(arr, -2)"), 2);
    assert.equal(evaluate("element_at(arr, 5)"), null);
    assert.equal(compile("element_at(arr, 1)").type, "long");
    assert.equal(evaluate("array_contains(arr, 2)"), true);
    // Not found, but the array has a null: unknown, as in Spark.
    assert.equal(evaluate("array_contains(arr, 7)"), null);
    assert.equal(evaluate("array_contains(array(1, 2), 7)"), false);
  });

  it("split keeps empty strings between separators and honours the limit", () => {
    // Spark's doc examples: split('oneAtwoBthreeC', '[ABC]') = [one, two, three, ""]; with limit 2: [one, twoBthreeC].
    assert.deepEqual(evaluate("split('oneAtwoBthreeC', '[ABC]')"), ["one", "two", "three", ""]);
    assert.deepEqual(evaluate("split('oneAtwoBthreeC', '[ABC]', 2)"), ["one", "twoBthreeC"]);
    assert.deepEqual(evaluate("split(s, ',')"), ["a", "b", "", "c"]);
    assert.equal(evaluate("split(s, ',')", { s: null }), null);
  });

  it("struct names its fields after the columns, colN for expressions, and reads back with s.a and getField", () => {
    const built = compileExpression(struct(col("n"), col("s").alias("text"), col("n").plus(1)).expr, schema);
    assert.deepEqual(built.fields?.map((field) => field.name), ["n", "text", "col3"]);
    assert.deepEqual(built.evaluate(row), { n: 3, text: "a,b,,c", col3: 4 });
    assert.equal(evaluate("point.x"), 1.5);
    assert.equal(compile("point.x").name, "x");
    assert.equal(compile("point.x").type, "double");
    assert.equal(evaluate("point.x", { point: null }), null);
    assert.equal(compileExpression(col("point").getField("label").expr, schema).evaluate(row), "p");
    assert.equal(compileExpression(col("point").getField("label").expr, schema).name, "point.label");
    assert.equal(evaluate("w.end"), 60_000);
    assert.equal(compile("w.start").type, "timestamp");
    assert.throws(() => compile("point.y"), /No such struct field 'y' in point; its fields are x, label/);
    assert.throws(() => compile("n.x"), /not a struct/);
    assert.equal(evaluate("to_json(named_struct('a', n, 'b', s))"), '{"a":3,"b":"a,b,,c"}');
  });

  it("casts arrays and structs to string as Spark prints them", () => {
    assert.equal(evaluate("cast(arr as string)"), "[1, 2, null]");
    assert.equal(evaluate("cast(point as string)"), "{1.5, p}");
  });
});

describe("from_json and to_json", () => {
  it("parses a DDL schema", () => {
    assert.deepEqual(parseDdlSchema("a INT, b STRING").map((field) => [field.name, field.type]), [["a", "int"], ["b", "string"]]);
    const nested = parseDdlSchema("STRUCT<tags: ARRAY<STRING>, inner: STRUCT<x: DOUBLE>, `odd name` DECIMAL(10, 2)>");
    assert.deepEqual(nested.map((field) => [field.name, field.type]), [["tags", "array"], ["inner", "struct"], ["odd name", "double"]]);
    assert.equal(nested[0]?.element?.type, "string");
    assert.throws(() => parseDdlSchema("a INTEGRAL"), /unknown type 'INTEGRAL'/);
    assert.throws(() => parseDdlSchema("a INT,"), /expected a field name/);
  });

  it("from_json gives a typed struct; malformed text a struct of nulls; a value of the wrong type null", () => {
    const parsed = "from_json(s, 'a INT, b STRING, ts TIMESTAMP, tags ARRAY<STRING>')";
    assert.deepEqual(evaluate(parsed, { s: '{"a": 1, "b": "x", "ts": "2024-01-02T03:04:05Z", "tags": ["t"]}' }), { a: 1, b: "x", ts: Date.UTC(2024, 0, 2, 3, 4, 5), tags: ["t"] });
    assert.deepEqual(evaluate(parsed, { s: '{"a": "one", "b": 2}' }), { a: null, b: "2", ts: null, tags: null });
    assert.deepEqual(evaluate(parsed, { s: "{not json" }), { a: null, b: null, ts: null, tags: null });
    assert.equal(evaluate(parsed, { s: null }), null);
    assert.equal(evaluate(`${parsed}.a`, { s: '{"a": 7}' }), 7);
    assert.throws(() => compile("from_json(s, s)"), /must be a DDL string literal/);
  });

  it("to_json writes structs and arrays, timestamps in ISO-8601, null fields left out", () => {
    assert.equal(evaluate("to_json(named_struct('a', 1, 'b', cast(null as string)))"), '{"a":1}');
    assert.equal(evaluate("to_json(named_struct('t', timestamp '2024-01-02 03:04:05'))"), '{"t":"2024-01-02T03:04:05.000Z"}');
    assert.equal(evaluate("to_json(point)"), '{"x":1.5,"label":"p"}');
    assert.equal(evaluate("to_json(arr)"), "[1,2,null]");
    assert.equal(evaluate("to_json(point)", { point: null }), null);
    assert.throws(() => compile("to_json(n)"), AnalysisError);
  });
});

describe("split's pattern", () => {
  it("takes Java-style escapes and refuses a pattern that does not compile", () => {
    assert.deepEqual(evaluate("split('a-b.c', '\\\\-|\\\\.')"), ["a", "b", "c"]);
    assert.throws(() => compile("split(s, '(')"), /Invalid regular expression '\(' in 'split\(s, \(\)': .*missing closing \)/);
  });

  it("refuses a separator RE2 does not support, and splits in linear time with RE2", () => {
    assert.throws(() => compile("split(s, '(?=,)')"), /Invalid regular expression '\(\?=,\)' in .*lookaround is not supported/);
    const started = performance.now();
    assert.deepEqual(evaluate("split(s, '(a+)+$')", { s: `${"a".repeat(30)}!` }), [`${"a".repeat(30)}!`]);
    assert.ok(performance.now() - started < 2000);
  });

  it("throws a RecordError for a record whose separator is invalid (its actor dead-letters it) and splits the next records", () => {
    const splitter = compile("split(s, s)").evaluate;
    assert.throws(() => splitter({ s: "(" }), (error: unknown) => error instanceof RecordError && /Invalid regular expression '\(' from the record in 'split\(s, s\)'/.test(error.message));
    assert.deepEqual(splitter({ s: "a" }), ["", ""]);
  });
});

describe("getItem", () => {
  it("is 0-based and named a[i], as Spark names it", () => {
    const item = compileExpression(col("arr").getItem(1).expr, schema);
    assert.equal(item.name, "arr[1]");
    assert.equal(item.evaluate(row), 2);
    assert.equal(evaluate("get(arr, 3)"), null);
  });
});
