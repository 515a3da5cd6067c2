// Tests for cast(): Spark's non-ANSI conversions between strings, numbers, booleans and timestamps.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { schemaOf, type Row } from "../../src/core/types.ts";
// Every expression here is compiled both ways (named and by position) and the two compared on each evaluation.
import { compileBothWays as compileExpression } from "../helpers/compile-both.ts";
import { parseExpression } from "../../src/expr/parser.ts";
import { formatDouble, formatTimestamp, parseTimestamp } from "../../src/expr/values.ts";

const schema = schemaOf([
  { name: "s", type: "string", nullable: true },
  { name: "n", type: "long", nullable: true },
  { name: "x", type: "double", nullable: true },
  { name: "b", type: "boolean", nullable: true },
  { name: "ts", type: "timestamp", nullable: true },
  { name: "loose", type: "any", nullable: true },
]);
const row: Row = { s: " 12 ", n: 5, x: 1.5, b: true, ts: Date.UTC(2020, 0, 1, 10, 0, 0, 123), loose: 2 };

function evaluate(text: string, values: Row = row): unknown {
  return compileExpression(parseExpression(text), schema, "select").evaluate(values);
}

describe("cast", () => {
  it("parses strings to numbers after trimming, null when unparseable", () => {
    assert.equal(evaluate("cast(s as double)"), 12);
    assert.equal(evaluate("cast(s as long)"), 12);
    assert.equal(evaluate("cast(' 1.5e2 ' as double)"), 150);
    assert.equal(evaluate("cast('1.9' as int)"), 1);
    assert.equal(evaluate("cast('-1.9' as int)"), -1);
    assert.equal(evaluate("cast('abc' as double)"), null);
    assert.equal(evaluate("cast('1e3' as bigint)"), null);
    assert.equal(evaluate("cast('' as double)"), null);
    assert.equal(evaluate("cast('NaN' as double)"), Number.NaN);
  });

  it("casts to Spark's 32-bit int: a string out of range is null, a long keeps its low 32 bits, a double saturates", () => {
    const int = (text: string) => compileExpression(parseExpression(text), schema, "select");
    assert.equal(int("cast(s as int)").type, "int");
    assert.equal(evaluate("cast('2147483647' as int)"), 2147483647);
    assert.equal(evaluate("cast('2147483648' as int)"), null);
    assert.equal(evaluate("cast('-2147483648' as int)"), -2147483648);
    assert.equal(evaluate("cast('-2147483649' as int)"), null);
    assert.equal(evaluate("cast(2147483648 as int)"), -2147483648);
    assert.equal(evaluate("cast(4294967297 as int)"), 1);
    assert.equal(evaluate("cast(1e10 as int)"), 2147483647);
    assert.equal(evaluate("cast(-1e10 as int)"), -2147483648);
    assert.equal(evaluate("cast(n as int)"), 5);
    assert.equal(evaluate("cast('2147483648' as bigint)"), 2147483648);
  });

  it("keeps longs past 2^53 exact: text casts, literals, arithmetic and comparisons", () => {
    assert.equal(evaluate("cast('9223372036854775807' as bigint)"), 9223372036854775807n);
    assert.equal(evaluate("cast('9223372036854775808' as bigint)"), null);
    assert.equal(evaluate("cast('1424686733090638193' as bigint) + 7"), 1424686733090638200n);
    assert.equal(evaluate("1424686733090638193 * 1"), 1424686733090638193n);
    assert.equal(evaluate("cast(1424686733090638193 as string)"), "1424686733090638193");
    assert.equal(evaluate("1424686733090638193 > 1424686733090638192"), true);
    assert.equal(evaluate("1424686733090638193 = 1424686733090638192"), false);
    assert.equal(evaluate("1424686733090638193 % 1000000000"), 90638193);
    assert.equal(evaluate("cast(1424686733090638193 as double)"), Number(1424686733090638193n));
    assert.equal(evaluate("cast(1424686733090638193 as int)"), Number(BigInt.asIntN(32, 1424686733090638193n)));
    assert.equal(evaluate("9223372036854775807 + 1"), -9223372036854775808n);
  });

  it("truncates toward zero when casting a double to long", () => {
    assert.equal(evaluate("cast(-2.7 as bigint)"), -2);
    assert.equal(evaluate("cast(2.7 as tinyint)"), 2);
    assert.equal(evaluate("cast(x as long)"), 1);
    assert.equal(evaluate("cast(-0.5 as long)"), 0);
  });

  it("casts booleans to numbers and strings to booleans", () => {
    assert.equal(evaluate("cast(b as double)"), 1);
    assert.equal(evaluate("cast(false as int)"), 0);
    assert.equal(evaluate("cast('TRUE' as boolean)"), true);
    assert.equal(evaluate("cast(' false ' as boolean)"), false);
    assert.equal(evaluate("cast('maybe' as boolean)"), null);
    assert.equal(evaluate("cast(n as boolean)"), true);
  });

  it("reads numbers as seconds when casting to timestamp, and timestamps as seconds when casting back", () => {
    assert.equal(evaluate("cast(1.5 as timestamp)"), 1500);
    assert.equal(evaluate("cast(n as timestamp)"), 5000);
    assert.equal(evaluate("cast(ts as double)"), Date.UTC(2020, 0, 1, 10, 0, 0, 123) / 1000);
    assert.equal(evaluate("cast(ts as long)"), Date.UTC(2020, 0, 1, 10) / 1000);
    assert.equal(evaluate("cast(cast(-1.5 as timestamp) as long)"), -2);
  });

  it("parses ISO-like strings as UTC timestamps, null when invalid", () => {
    assert.equal(evaluate("cast('2020-01-01 10:00:00' as timestamp)"), Date.UTC(2020, 0, 1, 10));
    assert.equal(evaluate("cast('2020-01-01T10:00:00.5Z' as timestamp)"), Date.UTC(2020, 0, 1, 10, 0, 0, 500));
    assert.equal(evaluate("cast('2020-01-01T10:00:00+02:00' as timestamp)"), Date.UTC(2020, 0, 1, 8));
    assert.equal(evaluate("cast('2020-01-01' as timestamp)"), Date.UTC(2020, 0, 1));
    assert.equal(evaluate("cast('2020-02-30' as timestamp)"), null);
    assert.equal(evaluate("cast('yesterday' as timestamp)"), null);
  });

  it("formats values as Spark prints them when casting to string", () => {
    assert.equal(evaluate("cast(n as string)"), "5");
    assert.equal(evaluate("cast(x as string)"), "1.5");
    assert.equal(evaluate("cast(2.0 as string)"), "2.0");
    assert.equal(evaluate("cast(1e10 as string)"), "1.0E10");
    assert.equal(evaluate("cast(b as string)"), "true");
    assert.equal(evaluate("cast(ts as string)"), "2020-01-01 10:00:00.123");
    assert.equal(evaluate("cast(cast(0 as timestamp) as string)"), "1970-01-01 00:00:00");
    assert.equal(evaluate("cast(loose as string)"), "2");
  });

  it("converts between strings and binary as UTF-8", () => {
    assert.deepEqual(evaluate("cast('hé' as binary)"), new TextEncoder().encode("hé"));
    assert.equal(evaluate("cast(cast('hé' as binary) as string)"), "hé");
  });

  it("keeps null as null, whatever the target", () => {
    assert.equal(evaluate("cast(null as double)"), null);
    assert.equal(evaluate("cast(s as double)", { ...row, s: null }), null);
    assert.equal(compileExpression(parseExpression("cast(null as double)"), schema).type, "double");
  });

  it("converts untyped values by their runtime type", () => {
    assert.equal(evaluate("cast(loose as timestamp)"), 2000);
    assert.equal(evaluate("cast(loose as double)", { ...row, loose: "2.5" }), 2.5);
    assert.equal(evaluate("cast(loose as boolean)", { ...row, loose: { nested: true } }), null);
  });

  it("rejects casts Spark does not allow", () => {
    assert.throws(() => evaluate("cast(b as timestamp)"), {
      name: "AnalysisError",
      message: "Cannot cast b from boolean to TIMESTAMP in 'CAST(b AS TIMESTAMP)'",
    });
    assert.throws(() => evaluate("cast(n as binary)"), /Cannot cast n from long to BINARY/);
  });
});

describe("value formatting", () => {
  it("prints doubles as Java's Double.toString", () => {
    assert.deepEqual(
      [1, 0.001, 1e-4, 1234567.5, 1e7, -2.5e-7, 0, -0, Number.NaN, Number.POSITIVE_INFINITY].map(formatDouble),
      ["1.0", "0.001", "1.0E-4", "1234567.5", "1.0E7", "-2.5E-7", "0.0", "-0.0", "NaN", "Infinity"],
    );
  });

  it("prints timestamps in UTC with the fraction's trailing zeros dropped", () => {
    assert.equal(formatTimestamp(Date.UTC(2015, 1, 23, 10, 18, 53, 90)), "2015-02-23 10:18:53.09");
    assert.equal(formatTimestamp(1424686733090.638), "2015-02-23 10:18:53.090638");
    assert.equal(formatTimestamp(-1), "1969-12-31 23:59:59.999");
  });

  it("parses timestamps with zones and fractions to the microsecond", () => {
    assert.equal(parseTimestamp("2015-02-23 10:18:53.090638"), 1424686733090.638);
    assert.equal(parseTimestamp("2020-01-01T00:00:00-0130"), Date.UTC(2020, 0, 1, 1, 30));
    assert.equal(parseTimestamp("2020-13-01"), null);
  });
});
