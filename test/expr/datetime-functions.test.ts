// Tests for the date and time functions against Spark's documented results: patterns, null in, text that does not match.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { schemaOf, type Row } from "../../src/core/types.ts";
// Every expression here is compiled both ways (named and by position) and the two compared on each evaluation.
import { compileBothWays as compileExpression } from "../helpers/compile-both.ts";
import { parseExpression } from "../../src/expr/parser.ts";

const schema = schemaOf([
  { name: "s", type: "string", nullable: true },
  { name: "ts", type: "timestamp", nullable: true },
]);
const ts = Date.UTC(2016, 3, 8, 13, 4, 5, 123);

function evaluate(text: string, values: Row = { s: null, ts }): unknown {
  return compileExpression(parseExpression(text), schema, "select").evaluate(values);
}

function typeOf(text: string): string {
  return compileExpression(parseExpression(text), schema).type;
}

describe("date and time functions", () => {
  it("date_format formats with Spark's pattern letters in UTC", () => {
    // Spark's doc example: date_format('2016-04-08', 'y') = 2016.
    assert.equal(evaluate("date_format('2016-04-08', 'y')"), "2016");
    assert.equal(evaluate("date_format(ts, 'yyyy-MM-dd HH:mm:ss.SSS')"), "2016-04-08 13:04:05.123");
    assert.equal(evaluate("date_format(ts, 'dd/MM/yy hh:mm a')"), "08/04/16 01:04 PM");
    assert.equal(evaluate("date_format(ts, 'EEE, d MMM yyyy')"), "Fri, 8 Apr 2016");
    assert.equal(evaluate("date_format(ts, \"yyyy-MM-dd'T'HH\")"), "2016-04-08T13");
    assert.equal(evaluate("date_format(ts, 'yyyy')", { ts: null }), null);
    assert.equal(typeOf("date_format(ts, 'yyyy')"), "string");
  });

  it("to_timestamp parses with a pattern and gives null for text that does not match", () => {
    // Spark's doc example: to_timestamp('2016-12-31', 'yyyy-MM-dd') = 2016-12-31 00:00:00.
    assert.equal(evaluate("to_timestamp('2016-12-31', 'yyyy-MM-dd')"), Date.UTC(2016, 11, 31));
    assert.equal(evaluate("to_timestamp('2016-12-31 00:12:00')"), Date.UTC(2016, 11, 31, 0, 12));
    assert.equal(evaluate("to_timestamp('31/12/2016 23:59:58.5', 'dd/MM/yyyy HH:mm:ss.S')"), Date.UTC(2016, 11, 31, 23, 59, 58, 500));
    assert.equal(evaluate("to_timestamp('2016-12-31', 'dd/MM/yyyy')"), null);
    assert.equal(evaluate("to_timestamp('2016-02-30', 'yyyy-MM-dd')"), null);
    assert.equal(evaluate("to_timestamp(s, 'yyyy')"), null);
    assert.equal(evaluate("to_timestamp('2016-12-31T10:00:00+02:00', \"yyyy-MM-dd'T'HH:mm:ssXXX\")"), Date.UTC(2016, 11, 31, 8));
    assert.equal(typeOf("to_timestamp(s)"), "timestamp");
  });

  it("to_date gives the day as a date, printed as yyyy-MM-dd", () => {
    // Spark's doc examples: to_date('2009-07-30 04:17:52') = 2009-07-30; to_date('2016-12-31', 'yyyy-MM-dd') = 2016-12-31.
    assert.equal(evaluate("to_date('2009-07-30 04:17:52')"), Date.UTC(2009, 6, 30));
    assert.equal(evaluate("cast(to_date('2016-12-31', 'yyyy-MM-dd') as string)"), "2016-12-31");
    assert.equal(evaluate("to_date(ts)"), Date.UTC(2016, 3, 8));
    assert.equal(evaluate("to_date('not a date')"), null);
    assert.equal(evaluate("to_date(s)"), null);
    assert.equal(typeOf("to_date(ts)"), "date");
    assert.equal(evaluate("to_date(ts) = '2016-04-08'"), true);
  });

  it("current_date and current_timestamp are today and now", () => {
    const before = Date.now();
    const now = evaluate("current_timestamp()") as number;
    assert.ok(now >= before && now <= Date.now());
    assert.equal(evaluate("current_date()"), Math.floor(Date.now() / 86_400_000) * 86_400_000);
    assert.equal(typeOf("current_date()"), "date");
  });

  it("extracts fields: year, month, dayofmonth, hour, minute, second", () => {
    assert.deepEqual(
      ["year", "month", "dayofmonth", "hour", "minute", "second"].map((fn) => evaluate(`${fn}(ts)`)),
      [2016, 4, 8, 13, 4, 5],
    );
    assert.equal(evaluate("year(s)"), null);
  });
});
