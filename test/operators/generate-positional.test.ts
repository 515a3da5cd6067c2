// The generator over rows by position gives the named GenerateOperator's rows: odd array values, outer forms, keyed rows.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { positionalRead } from "../../src/core/column-read.ts";
import type { PositionalRow, Row } from "../../src/core/types.ts";
import { GenerateOperator, type GeneratedColumn } from "../../src/operators/generate.ts";
import { PositionalGenerateOperator, type PositionalGeneratedColumn } from "../../src/operators/generate-positional.ts";
import { toNamedRow, toPositionalRow } from "../../src/operators/positional-operator.ts";

const KEY = "__rill_key";
const INPUT = ["id", "list", "note"];
// A sparse array (a hole reads as undefined), a string, an object, a number: only arrays are exploded.
// eslint-disable-next-line no-sparse-arrays
const LISTS: unknown[] = [[1, null, 3], [], null, undefined, "abc", { 0: "a", length: 1 }, 7, [, "b"], [[1, 2]], [{ a: 1 }]];

function inputRows(keyed: boolean): Row[] {
  return LISTS.map((list, id) => ({ id, list, note: id % 3 === 0 ? null : `n${id}`, ...(keyed ? { [KEY]: `k${id}` } : {}) }));
}

/** Output columns: the note, the position, the element, an expression over id; named and by position. */
function columnsOf(withPosition: boolean): { named: GeneratedColumn[]; positional: PositionalGeneratedColumn[]; names: string[] } {
  const generated = [...(withPosition ? [{ name: "pos", generated: "position" as const }] : []), { name: "col", generated: "element" as const }];
  return {
    named: [{ name: "note", evaluate: (row: Row) => row.note }, ...generated, { name: "twice", evaluate: (row: Row) => Number(row.id) * 2 }],
    positional: [{ name: "note", evaluate: positionalRead(2) as unknown as (row: PositionalRow) => unknown }, ...generated, { name: "twice", evaluate: (row: PositionalRow) => Number(row[0]) * 2 }],
    names: ["note", ...generated.map((column) => column.name), "twice"],
  };
}

describe("PositionalGenerateOperator", () => {
  for (const keyed of [false, true]) {
    for (const outer of [false, true]) {
      for (const withPosition of [false, true]) {
        it(`${withPosition ? "pos" : ""}explode${outer ? "_outer" : ""}${keyed ? " over keyed rows" : ""}: the named operator's rows, each its own array`, () => {
          const { named, positional, names } = columnsOf(withPosition);
          const inputNames = keyed ? [...INPUT, KEY] : INPUT;
          const outputNames = keyed ? [...names, KEY] : names;
          const expected: Row[] = [];
          const pushNamed = new GenerateOperator("t.generate", { evaluate: (row) => row.list, outer, columns: named, keyColumn: keyed ? KEY : undefined }).connect((row) => expected.push(row));
          const actual: PositionalRow[] = [];
          const spec = { evaluate: positionalRead(1) as unknown as (row: PositionalRow) => unknown, outer, columns: positional, keyIndex: keyed ? INPUT.length : undefined };
          const pushPositional = new PositionalGenerateOperator("t.generate", spec).connect((row) => actual.push(row));
          for (const row of inputRows(keyed)) {
            pushNamed(row);
            pushPositional(toPositionalRow(inputNames, row));
          }
          assert.ok(expected.length > 0);
          assert.deepStrictEqual(actual.map((row) => toNamedRow(outputNames, row)), expected);
          assert.equal(new Set(actual).size, actual.length, "each output row is an array of its own");
          assert.ok(actual.every((row) => row.length === outputNames.length && row.every((value) => value !== undefined)), "packed rows, null for a missing value");
        });
      }
    }
  }
});
