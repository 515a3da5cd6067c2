// Tests for LIKE and RLIKE: Spark's semantics, and linear-time matching so a hostile pattern cannot block the process.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AnalysisError, RecordError } from "../../src/core/errors.ts";
import { schemaOf, type Row } from "../../src/core/types.ts";
// Every expression here is compiled both ways (named and by position) and the two compared on each evaluation.
import { compileBothWays as compileExpression } from "../helpers/compile-both.ts";
import { parseExpression } from "../../src/expr/parser.ts";

const schema = schemaOf([
  { name: "s", type: "string", nullable: true },
  { name: "p", type: "string", nullable: true },
]);

function compile(text: string): (row: Row) => unknown {
  return compileExpression(parseExpression(text), schema, "select").evaluate;
}

function evaluate(text: string, row: Row = { s: null, p: null }): unknown {
  return compile(text)(row);
}

/** Runs `work` and returns how long it took in milliseconds. */
function timed(work: () => void): number {
  const started = performance.now();
  work();
  return performance.now() - started;
}

describe("LIKE", () => {
  it("follows Spark: % any run, _ exactly one character, \\ escapes, null in gives null", () => {
    assert.equal(evaluate("'abc' like 'a_c'"), true);
    assert.equal(evaluate("'ac' like 'a_c'"), false);
    assert.equal(evaluate("'abbc' like 'a_c'"), false);
    assert.equal(evaluate("'a😀c' like 'a_c'"), true, "_ is one character, even outside the BMP");
    assert.equal(evaluate("'a😀c' like 'a__c'"), false);
    assert.equal(evaluate("'' like '%'"), true);
    assert.equal(evaluate("'' like '_'"), false);
    assert.equal(evaluate("'abc' like '%b%'"), true);
    assert.equal(evaluate("'abcbd' like 'a%b_'"), true);
    assert.equal(evaluate("'abcbd' like 'a%c'"), false);
    assert.equal(evaluate("'line1\nline2' like 'line1%2'"), true, "% crosses line ends");
    assert.equal(evaluate("'50%' like '50\\%'"), true);
    assert.equal(evaluate("'500' like '50\\%'"), false);
    assert.equal(evaluate("'a_b' like 'a\\_b'"), true);
    assert.equal(evaluate("'axb' like 'a\\_b'"), false);
    assert.equal(evaluate("'a_b%' like '%\\_%\\%'"), true);
    assert.equal(evaluate("'a.*b' like 'a.*b'"), true, "regex characters are plain text in LIKE");
    assert.equal(evaluate("s like 'a%'", { s: null, p: null }), null);
    assert.equal(evaluate("'abc' like p", { s: null, p: null }), null);
    assert.equal(evaluate("s not like 'a%'", { s: "b", p: null }), true);
  });

  it("matches a pattern read from the record, the same as a literal", () => {
    const like = compile("s like p");
    assert.equal(like({ s: "abc", p: "a_c" }), true);
    assert.equal(like({ s: "a_c", p: "a\\_c" }), true);
    assert.equal(like({ s: "abc", p: "a\\_c" }), false);
    assert.equal(like({ s: "abc", p: "%d" }), false);
  });

  it("finishes a catastrophic LIKE pattern (11 × '%a' on 40 characters) in linear time", () => {
    const pattern = "%a".repeat(11) + "b";
    const value = "a".repeat(40);
    const literal = compile(`s like '${pattern}'`);
    const fromRecord = compile("s like p");
    const elapsed = timed(() => {
      assert.equal(literal({ s: value, p: null }), false);
      assert.equal(fromRecord({ s: value, p: pattern }), false);
      assert.equal(literal({ s: `${value}b`, p: null }), true);
    });
    assert.ok(elapsed < 2000, `took ${elapsed.toFixed(0)} ms`);
  });
});

describe("RLIKE", () => {
  it("finds the pattern anywhere, as Java's find() does, on ordinary patterns", () => {
    assert.equal(evaluate("'stairsup' rlike 'airs'"), true);
    assert.equal(evaluate("'stairsup' rlike '^airs'"), false);
    assert.equal(evaluate("'STAIRS' rlike 'airs'"), false, "plain text is matched case-sensitively");
    assert.equal(evaluate("'a-b' rlike '-'"), true);
    assert.equal(evaluate("'stairsup' rlike '^st.*up$'"), true);
    assert.equal(evaluate("'abc123' regexp '[0-9]{3}'"), true);
    assert.equal(evaluate("'abc12' rlike '\\\\d{3}'"), false);
    assert.equal(evaluate("'Stairs' rlike '(?i)stairs'"), true);
    assert.equal(evaluate("'x' rlike 'a|b'"), false);
    assert.equal(evaluate("s rlike 'a'"), null);
    assert.equal(evaluate("s not rlike 'a'", { s: "b", p: null }), true);
  });

  it("gives the same answers as a JavaScript RegExp on ordinary patterns", () => {
    const patterns = ["a+b", "^[a-c]*$", "(ab|cd)e", "x?y", "\\d+\\.\\d*", "^$", "[^a]b"];
    const values = ["", "aab", "abc", "cde", "y", "12.5", "bb", "ab"];
    const rlike = compile("s rlike p");
    for (const pattern of patterns) {
      const expected = new RegExp(pattern);
      for (const value of values) assert.equal(rlike({ s: value, p: pattern }), expected.test(value), `${value} rlike ${pattern}`);
    }
  });

  it("finishes a catastrophic pattern ('(a+)+$' on 28 characters) in linear time, literal or from the record", () => {
    const value = `${"a".repeat(28)}!`;
    const literal = compile("s rlike '(a+)+$'");
    const fromRecord = compile("s rlike p");
    const elapsed = timed(() => {
      assert.equal(literal({ s: value, p: null }), false);
      assert.equal(fromRecord({ s: value, p: "(a+)+$" }), false);
      assert.equal(fromRecord({ s: "a".repeat(10_000), p: "(a+)+$" }), true);
    });
    assert.ok(elapsed < 2000, `took ${elapsed.toFixed(0)} ms`);
  });

  it("refuses a literal pattern RE2 does not support, naming the pattern and why", () => {
    for (const [pattern, why] of [["(a)\\\\1", /backreference|escape/], ["a(?=b)", /Perl syntax|lookaround/], ["(?<=a)b", /named capture|lookaround/]] as const) {
      assert.throws(() => compile(`s rlike '${pattern}'`), (error: unknown) => {
        assert.ok(error instanceof AnalysisError, String(error));
        assert.ok(error.message.includes(pattern.replace("\\\\", "\\")), error.message);
        assert.match(error.message, why);
        assert.match(error.message, /RE2/);
        return true;
      });
    }
  });

  it("throws a RecordError naming the pattern and the expression for a record whose pattern is invalid, also when cached, and keeps matching the next records", () => {
    const rlike = compile("s rlike p");
    const split = compile("split(s, p)");
    for (const [evaluate, pattern] of [[rlike, "(a)\\1"], [rlike, "("], [rlike, "("], [split, "["], [split, "["]] as const) {
      assert.throws(() => evaluate({ s: "aa", p: pattern }), (error: unknown) => {
        assert.ok(error instanceof RecordError, String(error));
        assert.ok(error.message.includes(`Invalid regular expression '${pattern}' from the record in '`), error.message);
        return true;
      });
    }
    assert.equal(rlike({ s: "aa", p: "a+" }), true);
    assert.deepEqual(split({ s: "a,b", p: "," }), ["a", "b"]);
  });
});
