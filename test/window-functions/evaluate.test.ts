// The window evaluation as a pure function: peers, frames (ROWS and RANGE, bounded and unbounded, empty), ntile and
// offsets on small hand-checked partitions.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Row, Schema } from "../../src/core/types.ts";
import type { Expr } from "../../src/expr/ast.ts";
import { parseExpression } from "../../src/expr/parser.ts";
import { evaluateWindows } from "../../src/window-functions/evaluate.ts";
import { resolveWindow } from "../../src/window-functions/resolve.ts";

const SCHEMA: Schema = { fields: [{ name: "k", type: "string", nullable: true }, { name: "v", type: "long", nullable: true }, { name: "id", type: "int", nullable: false }] };
const ROWS: Row[] = [
  { k: "a", v: 10, id: 1 }, { k: "a", v: 20, id: 2 }, { k: "a", v: 20, id: 3 }, { k: "a", v: 40, id: 4 }, { k: "a", v: null, id: 5 },
  { k: "b", v: 5, id: 6 },
];

/** The window column of each row, by id. */
function values(text: string): Record<number, unknown> {
  const expr = parseExpression(text) as Extract<Expr, { kind: "over" }>;
  assert.equal(expr.kind, "over");
  const rows = evaluateWindows(ROWS, [resolveWindow(expr, SCHEMA, "w")]);
  return Object.fromEntries(rows.map((row) => [row.id as number, typeof row.w === "bigint" ? Number(row.w) : row.w]));
}

describe("window evaluation", () => {
  it("ranks peers alike and counts nulls first in ascending order", () => {
    assert.deepEqual(values("rank() OVER (PARTITION BY k ORDER BY v)"), { 5: 1, 1: 2, 2: 3, 3: 3, 4: 5, 6: 1 });
    assert.deepEqual(values("dense_rank() OVER (PARTITION BY k ORDER BY v DESC)"), { 4: 1, 2: 2, 3: 2, 1: 3, 5: 4, 6: 1 });
    assert.deepEqual(values("cume_dist() OVER (PARTITION BY k ORDER BY v)"), { 5: 0.2, 1: 0.4, 2: 0.8, 3: 0.8, 4: 1, 6: 1 });
    assert.deepEqual(values("ntile(2) OVER (PARTITION BY k ORDER BY id)"), { 1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 1 });
  });

  it("sums over the default RANGE frame (peers included), a ROWS frame, a value RANGE, and an empty frame", () => {
    assert.deepEqual(values("sum(v) OVER (PARTITION BY k ORDER BY v)"), { 5: null, 1: 10, 2: 50, 3: 50, 4: 90, 6: 5 });
    assert.deepEqual(values("sum(v) OVER (PARTITION BY k ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING)"), { 1: 30, 2: 50, 3: 80, 4: 60, 5: 40, 6: 5 });
    assert.deepEqual(values("count(v) OVER (PARTITION BY k ORDER BY v RANGE BETWEEN 10 PRECEDING AND CURRENT ROW)"), { 5: 0, 1: 1, 2: 3, 3: 3, 4: 1, 6: 1 });
    assert.deepEqual(values("sum(v) OVER (PARTITION BY k ORDER BY v RANGE BETWEEN 5 FOLLOWING AND 20 FOLLOWING)"), { 5: null, 1: 40, 2: 40, 3: 40, 4: null, 6: null });
    assert.deepEqual(values("max(v) OVER (PARTITION BY k ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 2 PRECEDING)"), { 1: null, 2: null, 3: 10, 4: 20, 5: 20, 6: null });
    assert.deepEqual(values("count(*) OVER ()"), { 1: 6, 2: 6, 3: 6, 4: 6, 5: 6, 6: 6 });
  });

  it("lag and lead read within the partition, with the default outside it", () => {
    assert.deepEqual(values("lag(v, 2, -1) OVER (PARTITION BY k ORDER BY id)"), { 1: -1, 2: -1, 3: 10, 4: 20, 5: 20, 6: -1 });
    assert.deepEqual(values("lead(v) OVER (PARTITION BY k ORDER BY id)"), { 1: 20, 2: 20, 3: 40, 4: null, 5: null, 6: null });
  });
});
