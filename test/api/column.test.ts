// Tests for the Column API and functions: the trees they build, Spark's names for them, and their results.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Column } from "../../src/api/column.ts";
import {
  avg, coalesce, col, column, concat, count, countDistinct, expr, first, last, lit, lower, max, mean, min, round, sqrt,
  sum, toColumn, upper, when, abs,
} from "../../src/api/functions.ts";
import { AnalysisError } from "../../src/core/errors.ts";
import { schemaOf, type Row } from "../../src/core/types.ts";
import { compileExpression } from "../../src/expr/compile.ts";

const schema = schemaOf([
  { name: "gt", type: "string", nullable: true },
  { name: "x", type: "double", nullable: true },
  { name: "Creation_Time", type: "long", nullable: false },
]);
const row: Row = { gt: "stairsup", x: 1.5, Creation_Time: Number("1424686733090638193") };

function evaluate(c: Column, values: Row = row): unknown {
  return compileExpression(c.expr, schema, "select").evaluate(values);
}

describe("Column", () => {
  it("builds the seed's filter and names it as Spark does", () => {
    const filter = col("gt").like("%stairs%");
    assert.equal(filter.toString(), "gt LIKE %stairs%");
    assert.equal(evaluate(filter), true);
    assert.equal(evaluate(filter, { ...row, gt: "sit" }), false);
  });

  it("wraps plain values as literals and names comparisons", () => {
    assert.equal(col("gt").equalTo("sit").toString(), "(gt = sit)");
    assert.equal(col("gt").eq("stairsup").toString(), "(gt = stairsup)");
    assert.equal(evaluate(col("gt").eq("stairsup")), true);
    assert.equal(evaluate(col("x").notEqual(1.5)), false);
    assert.equal(evaluate(col("x").gt(1)), true);
    assert.equal(evaluate(col("x").geq(1.5)), true);
    assert.equal(evaluate(col("x").ge(2)), false);
    assert.equal(evaluate(col("x").lt(2)), true);
    assert.equal(evaluate(col("x").leq(1)), false);
    assert.equal(evaluate(col("x").le(1.5)), true);
    assert.equal(evaluate(col("gt").eqNullSafe(null), { ...row, gt: null }), true);
  });

  it("does arithmetic with Spark's names", () => {
    const result = col("x").plus(1).multiply(col("x")).minus(2).divide(4).mod(10);
    assert.equal(result.toString(), "(((((x + 1) * x) - 2) / 4) % 10)");
    assert.equal(evaluate(result), ((1.5 + 1) * 1.5 - 2) / 4);
    assert.equal(col("x").negate().toString(), "(- x)");
  });

  it("combines conditions with and, or and not", () => {
    const condition = col("gt").isNotNull().and(col("x").gt(1)).or(col("gt").eq("sit").not());
    assert.equal(condition.toString(), "(((gt IS NOT NULL) AND (x > 1)) OR (NOT (gt = sit)))");
    assert.equal(evaluate(condition), true);
    assert.equal(evaluate(col("gt").isNull()), false);
  });

  it("builds rlike, isin, between and string tests", () => {
    assert.equal(evaluate(col("gt").rlike("^stairs")), true);
    assert.equal(col("gt").isin("sit", "stand").toString(), "(gt IN (sit, stand))");
    assert.equal(evaluate(col("gt").isin("sit", "stairsup")), true);
    assert.equal(evaluate(col("gt").isin(["sit", "stand"])), false);
    assert.equal(col("x").between(1, 2).toString(), "((x >= 1) AND (x <= 2))");
    assert.equal(evaluate(col("x").between(1, 2)), true);
    assert.equal(evaluate(col("gt").contains("airs")), true);
    assert.equal(evaluate(col("gt").startsWith("stairs")), true);
    assert.equal(evaluate(col("gt").endsWith("down")), false);
    assert.equal(evaluate(col("gt").substr(1, 6)), "stairs");
  });

  it("casts by Spark type name and rejects unknown types", () => {
    const seconds = col("Creation_Time").cast("double").divide(1_000_000_000).cast("timestamp");
    assert.equal(seconds.toString(), "CAST((CAST(Creation_Time AS DOUBLE) / 1000000000) AS TIMESTAMP)");
    assert.ok(Math.abs((evaluate(seconds) as number) - 1424686733090.638) < 0.001);
    assert.equal(col("x").cast("int").toString(), "CAST(x AS INT)");
    assert.equal(col("x").cast("bigint").toString(), "CAST(x AS BIGINT)");
    assert.throws(() => col("x").cast("money"), AnalysisError);
  });

  it("names an aliased column by the alias, and a re-alias replaces it", () => {
    assert.equal(col("x").alias("speed").toString(), "speed");
    assert.equal(col("x").as("speed").as("velocity").expr.kind, "alias");
    assert.deepEqual(col("x").as("a").as("b").expr, { kind: "alias", operand: { kind: "column", name: "x" }, name: "b" });
    assert.equal(compileExpression(col("x").plus(1).alias("y").expr, schema).name, "y");
  });

  it("builds CASE with when/otherwise and refuses them elsewhere", () => {
    const activity = when(col("gt").like("stairs%"), "moving").when(col("gt").eq("sit"), "resting").otherwise("other");
    assert.equal(activity.toString(), "CASE WHEN gt LIKE stairs% THEN moving WHEN (gt = sit) THEN resting ELSE other END");
    assert.equal(evaluate(activity), "moving");
    assert.equal(evaluate(activity, { ...row, gt: "sit" }), "resting");
    assert.equal(evaluate(activity, { ...row, gt: "bike" }), "other");
    assert.equal(evaluate(when(col("x").gt(5), 1)), null);
    assert.throws(() => col("x").otherwise(1), /otherwise\(\) can only follow when/);
    assert.throws(() => activity.when(col("x").gt(1), "fast"), /when\(\) can only follow when/);
  });
});

describe("functions", () => {
  it("makes columns from names and literals from values", () => {
    assert.deepEqual(col("gt").expr, { kind: "column", name: "gt" });
    assert.deepEqual(column("gt").expr, { kind: "column", name: "gt" });
    assert.deepEqual(col("*").expr, { kind: "star" });
    assert.deepEqual(lit(1).expr, { kind: "literal", value: 1, type: "int" });
    assert.deepEqual(lit(2 ** 40).expr, { kind: "literal", value: 2 ** 40, type: "long" });
    assert.deepEqual(lit(1.5).expr, { kind: "literal", value: 1.5, type: "double" });
    assert.deepEqual(lit("a").expr, { kind: "literal", value: "a", type: "string" });
    assert.deepEqual(lit(null).expr, { kind: "literal", value: null, type: "null" });
    assert.deepEqual(lit(new Date(1000)).expr, { kind: "literal", value: 1000, type: "timestamp" });
    assert.deepEqual(lit(10n).expr, { kind: "literal", value: 10, type: "long" });
    const existing = col("x");
    assert.equal(lit(existing), existing);
  });

  it("turns names into columns with toColumn", () => {
    assert.deepEqual(toColumn("gt").expr, { kind: "column", name: "gt" });
    const existing = col("x").plus(1);
    assert.equal(toColumn(existing), existing);
  });

  it("parses SQL text with expr", () => {
    const parsed = expr("cast(x as double) * 2 AS doubled");
    assert.equal(parsed.toString(), "doubled");
    assert.equal(evaluate(parsed), 3);
    assert.throws(() => expr("gt likee 1"), { name: "ParseError" });
  });

  it("builds aggregate calls with Spark's names", () => {
    assert.equal(count("*").toString(), "count(1)");
    assert.equal(count("gt").toString(), "count(gt)");
    assert.equal(countDistinct("gt", col("x")).toString(), "count(DISTINCT gt, x)");
    assert.equal(sum("x").toString(), "sum(x)");
    assert.equal(avg(col("x")).toString(), "avg(x)");
    assert.equal(mean("x").toString(), "avg(x)");
    assert.equal(min("x").toString(), "min(x)");
    assert.equal(max("x").toString(), "max(x)");
    assert.equal(first("gt").toString(), "first(gt)");
    assert.equal(last("gt").toString(), "last(gt)");
    assert.deepEqual(sum("x").expr, { kind: "call", name: "sum", args: [{ kind: "column", name: "x" }], distinct: false });
    assert.throws(() => evaluate(avg("x")), /Aggregate function 'avg\(x\)' is not allowed in select/);
  });

  it("builds scalar helpers that compile and evaluate", () => {
    assert.equal(evaluate(abs(col("x").negate())), 1.5);
    assert.equal(evaluate(sqrt(lit(9))), 3);
    assert.equal(evaluate(upper("gt")), "STAIRSUP");
    assert.equal(evaluate(lower(lit("AbC"))), "abc");
    assert.equal(evaluate(coalesce("gt", lit("none")), { ...row, gt: null }), "none");
    assert.equal(evaluate(concat("gt", lit("-"), "x")), "stairsup-1.5");
    assert.equal(round("x").toString(), "round(x, 0)");
    assert.equal(evaluate(round("x")), 2);
    assert.equal(evaluate(round(lit(2.675), 2)), 2.68);
  });
});
