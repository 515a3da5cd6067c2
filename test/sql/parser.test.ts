// The SQL statement parser: clauses into a tree, expressions by the expression parser, errors at the line and column.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ParseError } from "../../src/core/errors.ts";
import { parseSql } from "../../src/sql/parser.ts";

function failure(text: string): ParseError {
  try {
    parseSql(text);
  } catch (error) {
    if (error instanceof ParseError) return error;
    throw error;
  }
  assert.fail(`expected a ParseError for: ${text}`);
}

describe("SQL parser", () => {
  it("reads every clause of a SELECT", () => {
    const text = "SELECT DISTINCT gt AS label, count(*) n FROM events AS e WHERE x > 1 GROUP BY gt HAVING count(*) > 2 ORDER BY n DESC NULLS FIRST, 1 LIMIT 5;";
    const query = parseSql(text);
    assert.equal(query.limit, 5);
    assert.deepEqual(query.orderBy.map((item) => [item.descending, item.nullsFirst]), [[true, true], [false, true]]);
    const select = query.body;
    assert.equal(select.kind, "select");
    if (select.kind !== "select") return;
    assert.equal(select.distinct, true);
    assert.deepEqual(select.items.map((item) => (item.kind === "expression" ? item.alias : "*")), ["label", "n"]);
    assert.deepEqual(select.from, { kind: "table", name: "events", alias: "e", position: text.indexOf("events") });
    assert.deepEqual(select.where?.value, { kind: "binary", op: ">", left: { kind: "column", name: "x" }, right: { kind: "literal", value: 1, type: "int" } });
    assert.equal(select.groupBy?.grouping, "groupBy");
    assert.equal(select.having?.value.kind, "binary");
  });

  it("reads subqueries in FROM, UNION [ALL], t.*, CUBE/ROLLUP and WITH ROLLUP", () => {
    const query = parseSql("SELECT t.* FROM (SELECT a FROM x) t UNION ALL SELECT a FROM y UNION SELECT a FROM z");
    assert.equal(query.body.kind, "union");
    if (query.body.kind !== "union") return;
    assert.equal(query.body.all, false);
    assert.equal(query.body.left.kind === "union" && query.body.left.all, true);
    const first = query.body.left.kind === "union" ? query.body.left.left : undefined;
    assert.equal(first?.kind === "select" && first.from?.kind, "subquery");
    assert.deepEqual(first?.kind === "select" && first.items[0], { kind: "star", qualifier: "t", position: 7 });
    for (const [text, grouping] of [["GROUP BY CUBE(a, b)", "cube"], ["GROUP BY ROLLUP(a, b)", "rollup"], ["GROUP BY a, b WITH ROLLUP", "rollup"], ["GROUP BY a, b WITH CUBE", "cube"]] as const) {
      const parsed = parseSql(`SELECT a, b, count(*) FROM t ${text}`).body;
      assert.equal(parsed.kind === "select" && parsed.groupBy?.grouping, grouping, text);
      assert.equal(parsed.kind === "select" && parsed.groupBy?.keys.length, 2, text);
    }
  });

  it("reads JOIN clauses with Spark's join types", () => {
    const cases = [["JOIN", "inner"], ["INNER JOIN", "inner"], ["LEFT JOIN", "left_outer"], ["LEFT OUTER JOIN", "left_outer"], ["RIGHT JOIN", "right_outer"], ["FULL OUTER JOIN", "full_outer"], ["LEFT SEMI JOIN", "left_semi"], ["LEFT ANTI JOIN", "left_anti"]] as const;
    for (const [words, how] of cases) {
      const body = parseSql(`SELECT * FROM a ${words} b ON a.k = b.k`).body;
      assert.equal(body.kind === "select" && body.from?.kind === "join" && body.from.how, how, words);
    }
    const using = parseSql("SELECT * FROM a JOIN b USING (gt, model)").body;
    assert.deepEqual(using.kind === "select" && using.from?.kind === "join" && using.from.using, ["gt", "model"]);
  });

  it("skips -- and nested /* */ comments, and reads backquoted names", () => {
    const query = parseSql("-- the count\nSELECT /* outer /* inner */ still comment */ `my col` AS `the n` -- trailing\nFROM `my view`");
    const select = query.body;
    assert.equal(select.kind === "select" && select.items[0]?.kind === "expression" && select.items[0].alias, "the n");
    assert.deepEqual(select.kind === "select" && select.items[0]?.kind === "expression" && select.items[0].expr, { kind: "column", name: "my col" });
    assert.equal(select.kind === "select" && select.from?.kind === "table" && select.from.name, "my view");
  });

  it("fails with the line and column of the fault, the line itself and a caret under it", () => {
    const error = failure("SELECT gt,\n       count(*\nFROM events");
    assert.equal(error.line, 3);
    assert.equal(error.column, 1);
    assert.equal(error.message, "Cannot parse SQL at line 3, column 1: expected ')' but found keyword 'FROM'\n  FROM events\n  ^");
  });

  it("points at a misspelt keyword and suggests the right one", () => {
    const error = failure("SELECT gt\nFORM events");
    assert.deepEqual([error.line, error.column], [2, 1]);
    assert.match(error.message, /unexpected identifier 'FORM'[\s\S]*Did you mean 'FROM'\?/);
  });

  it("points at lexer faults inside the statement: an unterminated comment or string, a stray character", () => {
    assert.deepEqual([failure("SELECT a\n  FROM t /* open").line, failure("SELECT a\n  FROM t /* open").column], [2, 10]);
    const string = failure("SELECT a FROM t\nWHERE gt = 'walk");
    assert.deepEqual([string.line, string.column], [2, 12]);
    assert.match(string.message, /unterminated string literal/);
    const stray = failure("SELECT a # b FROM t");
    assert.deepEqual([stray.line, stray.column], [1, 10]);
  });

  it("refuses what it does not support by name: EXCEPT, GROUPING SETS, a missing select item, an empty statement", () => {
    assert.match(failure("SELECT a FROM t EXCEPT SELECT a FROM u").message, /line 1, column 17: EXCEPT is not supported/);
    assert.match(failure("SELECT a FROM t GROUP BY GROUPING SETS ((a))").message, /GROUPING SETS is not supported/);
    assert.match(failure("SELECT FROM t").message, /line 1, column 8: expected a column or expression but found keyword 'FROM'/);
    assert.match(failure("  -- nothing\n").message, /empty statement/);
    assert.match(failure("SELECT a FROM t LIMIT -1").message, /expected a non-negative integer after LIMIT/);
    assert.match(failure("SELECT a FROM t LEFT t2").message, /expected JOIN/);
  });
});
