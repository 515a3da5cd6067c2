// Window functions partitioned by a struct or an array: the partition key was each value's String(), so every
// struct read "[object Object]" (all rows one partition) and arrays [1, 2] and ["1,2"] read "1,2".
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Row, Schema } from "../../src/core/types.ts";
import type { Expr } from "../../src/expr/ast.ts";
import { parseExpression } from "../../src/expr/parser.ts";
import { evaluateWindows } from "../../src/window-functions/evaluate.ts";
import { resolveWindow } from "../../src/window-functions/resolve.ts";

const SCHEMA: Schema = { fields: [{ name: "a", type: "long", nullable: true }, { name: "b", type: "string", nullable: true }, { name: "id", type: "int", nullable: false }] };
const ROWS: Row[] = [{ a: 1, b: "x", id: 1 }, { a: 2, b: "x", id: 2 }, { a: 1, b: "x", id: 3 }, { a: 1, b: "1,2", id: 4 }];

function counts(text: string): Record<number, unknown> {
  const expr = parseExpression(text) as Extract<Expr, { kind: "over" }>;
  const rows = evaluateWindows(ROWS, [resolveWindow(expr, SCHEMA, "w")]);
  return Object.fromEntries(rows.map((row) => [row.id as number, typeof row.w === "bigint" ? Number(row.w) : row.w]));
}

describe("window partitions of structs and arrays", () => {
  it("a struct partition holds the rows of equal structs only", () => {
    assert.deepEqual(counts("count(*) OVER (PARTITION BY named_struct('x', a))"), { 1: 3, 2: 1, 3: 3, 4: 3 });
  });
  it("an array partition holds the rows of equal arrays only", () => {
    // Rows 1 and 3: ["1", "2"]; row 2: ["2", "2"]; row 4: ["1,2"] (the same text as ["1", "2"] joined on commas).
    assert.deepEqual(counts("count(*) OVER (PARTITION BY if(id = 4, array(b), array(cast(a as string), '2')))"), { 1: 2, 2: 1, 3: 2, 4: 1 });
  });
  it("a struct holding a long past 2^53 is a partition of its own", () => {
    const rows = evaluateWindows([{ a: 2n ** 60n, b: "x", id: 1 }, { a: 2n ** 60n + 1n, b: "x", id: 2 }], [resolveWindow(parseExpression("count(*) OVER (PARTITION BY named_struct('x', a))") as Extract<Expr, { kind: "over" }>, SCHEMA, "w")]);
    assert.deepEqual(rows.map((row) => Number(row.w)), [1, 1]);
  });
});
