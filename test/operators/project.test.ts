// ProjectOperator gives the same rows whichever way it builds them (a constructor per projection up to
// CONSTRUCTED_WIDTH columns, a template clone and builder past it or once the constructors are all taken, the shared
// builder past BUILDER_WIDTH): names, column order, plain-object prototype, nulls, missing columns and computed values.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { columnRead } from "../../src/core/column-read.ts";
import type { Row } from "../../src/core/types.ts";
import { chain } from "../../src/operators/operator.ts";
import { ProjectOperator, type Projection } from "../../src/operators/project.ts";
import { BUILDER_WIDTH, CONSTRUCTED_WIDTH } from "../../src/operators/row-builders.ts";

/** Input rows whose values change kind from row to row: small and large numbers, strings, null, bigint, objects. */
function inputs(): Row[] {
  return Array.from({ length: 40 }, (_, index): Row => ({
    a: index % 5 === 0 ? null : index % 2 === 0 ? index : index + 0.5,
    b: index % 3 === 0 ? `b${index}` : 1_700_000_000_000 + index,
    c: BigInt(index) * 1_000n,
    d: index % 4 === 0 ? { nested: index } : [index],
    e: index % 7 === 0 ? undefined : true,
    ...(index % 6 === 0 ? {} : { sometimes: `s${index}` }),
  }));
}

/** Output column i: a copy of an input column (missing reads as null, or as undefined), or a computed value. */
function projections(width: number): Projection[] {
  const sources = ["a", "b", "c", "d", "e", "sometimes", "never"];
  return Array.from({ length: width }, (_, index): Projection => {
    const name = `out_${width}_${index}`;
    if (index % 4 === 3) return { name, evaluate: (row) => `${String(row.a)}:${index}` };
    const column = sources[index % sources.length] as string;
    return { name, evaluate: columnRead(column, index % 8 !== 5) };
  });
}

/** What the projection must give, written as a plain literal-built object. */
function expected(list: readonly Projection[], row: Row): Row {
  const out: Row = {};
  for (const projection of list) out[projection.name] = projection.evaluate(row);
  return out;
}

function run(list: readonly Projection[], rows: readonly Row[]): Row[] {
  const out: Row[] = [];
  const input = chain([new ProjectOperator("test.project", list)], (row) => out.push(row), { at: -1 });
  for (const row of rows) input(row);
  return out;
}

describe("ProjectOperator", () => {
  for (const width of [1, 2, 4, CONSTRUCTED_WIDTH, CONSTRUCTED_WIDTH + 1, BUILDER_WIDTH, BUILDER_WIDTH + 3]) {
    it(`builds ${width}-column rows with the projection's names, order, values and a plain prototype`, () => {
      const list = projections(width);
      const rows = inputs();
      const out = run(list, rows);
      assert.equal(out.length, rows.length);
      for (const [index, row] of out.entries()) {
        assert.deepStrictEqual(row, expected(list, rows[index] as Row));
        assert.deepEqual(Object.keys(row), list.map((projection) => projection.name));
        assert.equal(Object.getPrototypeOf(row), Object.prototype);
      }
      // A missing column read by an expression is null; one read as it is stays undefined (but the key is there).
      if (width > 6) assert.equal((out[0] as Row)[`out_${width}_6`], null);
      if (width > 5) assert.ok(Object.hasOwn(out[0] as Row, `out_${width}_5`) && (out[0] as Row)[`out_${width}_5`] === undefined);
    });
  }

  it("gives the same rows once its per-width constructors are all taken (more operators than the pool)", () => {
    const list = projections(4);
    const rows = inputs();
    const want = rows.map((row) => expected(list, row));
    for (let operator = 0; operator < 40; operator++) assert.deepStrictEqual(run(list, rows), want);
  });

  it("emits an empty row for an empty projection", () => {
    assert.deepStrictEqual(run([], inputs().slice(0, 2)), [{}, {}]);
  });

  it("names the operator in the chain position before it evaluates", () => {
    const position = { at: -1 };
    const thrower: Projection = { name: "boom", evaluate: () => {
      throw new Error("bad record");
    } };
    const input = chain([new ProjectOperator("test.first", projections(2)), new ProjectOperator("test.second", [thrower])], () => undefined, position);
    assert.throws(() => input({ a: 1 }), /bad record/);
    assert.equal(position.at, 1);
  });
});
