// Tests for the Spark SQL expression parser: the trees it builds, Spark's names for them, and its errors.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ParseError } from "../../src/core/errors.ts";
import type { Expr } from "../../src/expr/ast.ts";
import { expressionName } from "../../src/expr/names.ts";
import { MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_TERMS, parseExpression } from "../../src/expr/parser.ts";
import { compileExpression } from "../../src/expr/compile.ts";
import { schemaOf } from "../../src/core/types.ts";

const column = (name: string): Expr => ({ kind: "column", name });
/** An integer literal: int when it fits in 32 bits, as in Spark. */
const integer = (value: number): Expr => ({ kind: "literal", value, type: "int" });
const string = (value: string): Expr => ({ kind: "literal", value, type: "string" });

function parseFailure(text: string): ParseError {
  try {
    parseExpression(text);
  } catch (error) {
    assert.ok(error instanceof ParseError, `expected a ParseError for ${text}, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected '${text}' not to parse`);
}

describe("parseExpression", () => {
  it("parses the seed's LIKE filter into a like node", () => {
    assert.deepEqual(parseExpression("gt like '%stairs%'"), {
      kind: "like", operand: column("gt"), pattern: string("%stairs%"), negated: false, regex: false,
    });
  });

  it("parses IS NOT NULL and NOT LIKE", () => {
    assert.deepEqual(parseExpression("gt is not null"), { kind: "isNull", operand: column("gt"), negated: true });
    assert.deepEqual(parseExpression("gt NOT LIKE 'sit%'"), {
      kind: "like", operand: column("gt"), pattern: string("sit%"), negated: true, regex: false,
    });
  });

  it("parses casts, mapping Spark type names onto Rill types", () => {
    assert.deepEqual(parseExpression("cast(x as double)"), { kind: "cast", operand: column("x"), to: "double" });
    assert.equal((parseExpression("CAST(x AS INT)") as { to: string }).to, "int");
    assert.equal((parseExpression("CAST(x AS BIGINT)") as { to: string }).to, "long");
    assert.equal((parseExpression("cast(x as decimal(10, 2))") as { to: string }).to, "double");
    assert.equal((parseExpression("cast(x as smallint)") as { to: string }).to, "int");
    assert.equal((parseExpression("cast(x as float)") as { to: string }).to, "double");
  });

  it("parses the seed's nested cast to timestamp and names it as Spark does", () => {
    const parsed = parseExpression("cast(cast(Creation_Time as double)/1000000000 as timestamp)");
    assert.deepEqual(parsed, {
      kind: "cast",
      to: "timestamp",
      operand: {
        kind: "binary", op: "/",
        left: { kind: "cast", operand: column("Creation_Time"), to: "double" },
        right: integer(1000000000),
      },
    });
    assert.equal(expressionName(parsed), "CAST((CAST(Creation_Time AS DOUBLE) / 1000000000) AS TIMESTAMP)");
  });

  it("gives * and / precedence over + and -, and keeps operators left-associative", () => {
    assert.equal(expressionName(parseExpression("1 + 2 * 3 - 4 / 2 % 3")), "((1 + (2 * 3)) - ((4 / 2) % 3))");
    assert.equal(expressionName(parseExpression("(1 + 2) * 3")), "((1 + 2) * 3)");
    assert.equal(expressionName(parseExpression("a - b - c")), "((a - b) - c)");
  });

  it("binds AND tighter than OR, and NOT tighter than AND", () => {
    assert.equal(expressionName(parseExpression("a or b and not c")), "(a OR (b AND (NOT c)))");
    assert.equal(expressionName(parseExpression("a = 1 AND b > 2 OR c")), "(((a = 1) AND (b > 2)) OR c)");
  });

  it("reads literals with Spark's types", () => {
    assert.deepEqual(parseExpression("42"), integer(42));
    assert.deepEqual(parseExpression("2147483648"), { kind: "literal", value: 2147483648, type: "long" });
    assert.deepEqual(parseExpression("1.5"), { kind: "literal", value: 1.5, type: "double" });
    assert.deepEqual(parseExpression("1e3"), { kind: "literal", value: 1000, type: "double" });
    assert.deepEqual(parseExpression("-7"), integer(-7));
    assert.deepEqual(parseExpression("TRUE"), { kind: "literal", value: true, type: "boolean" });
    assert.deepEqual(parseExpression("null"), { kind: "literal", value: null, type: "null" });
    assert.deepEqual(parseExpression('"double quoted"'), string("double quoted"));
    assert.deepEqual(parseExpression("'it\\'s\\n'"), string("it's\n"));
  });

  it("maps == to = and <> to !=", () => {
    assert.equal((parseExpression("a == 1") as { op: string }).op, "=");
    assert.equal((parseExpression("a <> 1") as { op: string }).op, "!=");
    assert.equal((parseExpression("a != 1") as { op: string }).op, "!=");
    assert.equal((parseExpression("a <=> 1") as { op: string }).op, "<=>");
  });

  it("keeps backtick-quoted and dotted names as one column name", () => {
    assert.deepEqual(parseExpression("`avg(x)`"), column("avg(x)"));
    assert.deepEqual(parseExpression("`we``ird`"), column("we`ird"));
    assert.deepEqual(parseExpression("a.b.c"), column("a.b.c"));
  });

  it("parses function calls with DISTINCT and count(*)", () => {
    assert.deepEqual(parseExpression("COUNT(*)"), { kind: "call", name: "count", args: [{ kind: "star" }], distinct: false });
    assert.deepEqual(parseExpression("count(DISTINCT gt)"), { kind: "call", name: "count", args: [column("gt")], distinct: true });
    assert.equal(expressionName(parseExpression("count(*)")), "count(1)");
    assert.equal(expressionName(parseExpression("current_timestamp()")), "current_timestamp()");
  });

  it("parses IN, NOT IN, BETWEEN and NOT BETWEEN", () => {
    assert.deepEqual(parseExpression("x in (1, 2)"), { kind: "in", operand: column("x"), list: [integer(1), integer(2)], negated: false });
    assert.equal(expressionName(parseExpression("x not in ('a', 'b')")), "(NOT (x IN (a, b)))");
    assert.deepEqual(parseExpression("x between 1 and 5 and y"), {
      kind: "binary", op: "and",
      left: { kind: "between", operand: column("x"), low: integer(1), high: integer(5), negated: false },
      right: column("y"),
    });
    assert.equal(expressionName(parseExpression("x not between 1 and 5")), "(NOT ((x >= 1) AND (x <= 5)))");
  });

  it("parses RLIKE and REGEXP as regex matches", () => {
    assert.equal((parseExpression("gt rlike '^s'") as { regex: boolean }).regex, true);
    assert.equal((parseExpression("gt regexp '^s'") as { regex: boolean }).regex, true);
    assert.equal(expressionName(parseExpression("gt rlike '^s'")), "RLIKE(gt, ^s)");
  });

  it("parses searched and simple CASE", () => {
    const searched = parseExpression("case when x > 1 then 'big' else 'small' end");
    assert.equal(expressionName(searched), "CASE WHEN (x > 1) THEN big ELSE small END");
    const simple = parseExpression("CASE x WHEN 1 THEN 'one' WHEN 2 THEN 'two' END");
    assert.deepEqual(simple, {
      kind: "case", operand: column("x"), otherwise: undefined,
      branches: [{ when: integer(1), then: string("one") }, { when: integer(2), then: string("two") }],
    });
    assert.equal(expressionName(simple), "CASE WHEN (x = 1) THEN one WHEN (x = 2) THEN two END");
  });

  it("parses || as string concatenation named concat", () => {
    assert.equal(expressionName(parseExpression("a || '-' || b")), "concat(concat(a, -), b)");
  });

  it("takes a trailing alias with or without AS", () => {
    assert.deepEqual(parseExpression("x as y"), { kind: "alias", operand: column("x"), name: "y" });
    assert.deepEqual(parseExpression("x y"), { kind: "alias", operand: column("x"), name: "y" });
    assert.deepEqual(parseExpression("avg(x) AS `avg x`"), {
      kind: "alias", operand: { kind: "call", name: "avg", args: [column("x")], distinct: false }, name: "avg x",
    });
  });

  it("reports a misspelt operator at its position with a caret and a hint", () => {
    const error = parseFailure("gt likee 1");
    assert.equal(error.position, 3);
    const lines = error.message.split("\n");
    assert.equal(lines[0], "Cannot parse expression 'gt likee 1' at position 3: unexpected identifier 'likee'");
    assert.equal(lines[1], "  gt likee 1");
    assert.equal(lines[2], "     ^");
    assert.equal(lines[3], "Did you mean 'LIKE'?");
  });

  it("reports incomplete and malformed input", () => {
    assert.match(parseFailure("a +").message, /at position 3: unexpected end of input/);
    assert.match(parseFailure("(a").message, /at position 2: expected '\)' but found end of input/);
    assert.match(parseFailure("'abc").message, /at position 0: unterminated string literal/);
    assert.match(parseFailure("a = = b").message, /at position 4: unexpected '='/);
    assert.match(parseFailure("a not b").message, /expected LIKE, RLIKE, IN or BETWEEN after NOT/);
    assert.match(parseFailure("cast(x as foo)").message, /at position 10: unknown type 'foo'/);
    assert.match(parseFailure("case end").message, /expected WHEN/);
    assert.match(parseFailure("a # b").message, /at position 2: unexpected character '#'/);
  });

  it("refuses nesting past MAX_EXPRESSION_DEPTH with a ParseError at the position, not a RangeError", () => {
    const deep = `${"(".repeat(700)}1${")".repeat(700)}`;
    const error = parseFailure(deep);
    assert.equal(error.position, MAX_EXPRESSION_DEPTH);
    assert.match(error.message, /nested deeper than 256 levels/);
    assert.ok(parseFailure(`${"not ".repeat(5000)}a`).message.includes("nested deeper"));
    assert.ok(parseFailure(`${"- ".repeat(5000)}a`).message.includes("nested deeper"));
    const allowed = parseExpression(`${"(".repeat(MAX_EXPRESSION_DEPTH - 1)}1${")".repeat(MAX_EXPRESSION_DEPTH - 1)}`);
    assert.deepEqual(allowed, integer(1));
  });

  it("refuses more than MAX_EXPRESSION_TERMS operators, and compiles the longest chain it accepts", () => {
    const error = parseFailure(Array.from({ length: 20_000 }, () => "a").join(" + "));
    assert.match(error.message, /more than 1000 operators/);
    assert.equal(error.position, MAX_EXPRESSION_TERMS * 4 + 2);
    const longest = parseExpression(Array.from({ length: MAX_EXPRESSION_TERMS + 1 }, () => "a").join(" + "));
    const compiled = compileExpression(longest, schemaOf([{ name: "a", type: "int", nullable: true }]));
    assert.equal(compiled.evaluate({ a: 1 }), MAX_EXPRESSION_TERMS + 1);
  });
});
