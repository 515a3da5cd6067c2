// Filter and Project over rows by position give the same rows as over named rows, nulls and missing fields included.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateActivity } from "../../src/connectors/sources/activity.ts";
import { schemaOf, type Field, type PositionalRow, type Row } from "../../src/core/types.ts";
import { compileExpression, compilePositional } from "../../src/expr/compile.ts";
import { parseExpression } from "../../src/expr/parser.ts";
import { FilterOperator } from "../../src/operators/filter.ts";
import { PositionalFilterOperator } from "../../src/operators/filter-positional.ts";
import { chain, type Operator } from "../../src/operators/operator.ts";
import { chainPositional, toNamedRow, toPositionalRow, type PositionalOperator } from "../../src/operators/positional-operator.ts";
import { ProjectOperator } from "../../src/operators/project.ts";
import { PositionalProjectOperator } from "../../src/operators/project-positional.ts";

const point: Field = { name: "point", type: "struct", nullable: true, fields: [{ name: "x", type: "double", nullable: true }, { name: "label", type: "string", nullable: true }] };
const schema = schemaOf([
  { name: "Arrival_Time", type: "long", nullable: false },
  { name: "Creation_Time", type: "long", nullable: false },
  { name: "Device", type: "string", nullable: false },
  { name: "Index", type: "long", nullable: false },
  { name: "Model", type: "string", nullable: false },
  { name: "User", type: "string", nullable: false },
  { name: "gt", type: "string", nullable: true },
  { name: "x", type: "double", nullable: false },
  { name: "y", type: "double", nullable: false },
  { name: "z", type: "double", nullable: false },
  point,
  // Never present in the rows: a missing field reads as null both ways.
  { name: "absent", type: "string", nullable: true },
]);
const names = schema.fields.map((field) => field.name);

function rows(): Row[] {
  return (generateActivity({ seed: 11, count: 600, rowsPerSecond: 10_000, startMs: 1_700_000_000_000 }) as unknown as Row[]).map((row, index) => ({
    ...row,
    point: index % 4 === 0 ? null : { x: index / 7, label: index % 3 === 0 ? null : `p${index % 5}` },
  }));
}

const SELECTS: readonly (readonly [string, string])[] = [
  ["gt", "gt"], ["Model", "model"], ["Arrival_Time", "arrival_time"], ["Creation_Time", "creation_time"],
  ["label", "point.label"], ["px", "point.x * 2"], ["absent", "absent"], ["missing_or", "coalesce(absent, gt, 'none')"],
  ["sum", "x + y + z"], ["upper", "upper(Device)"], ["kind", "case when gt like '%stairs%' then 'stairs' when gt is null then null else 'flat' end"],
  ["late", "Arrival_Time - Creation_Time / 1000000 > 2000"],
];
const WHERES = ["gt like '%stairs%'", "point.label is null", "absent is null and x > 0", "gt in ('sit', 'walk') or point.x > 40"];

function namedOperators(where: string): Operator[] {
  const compiled = (text: string) => compileExpression(parseExpression(text), schema, "test").evaluate;
  return [new FilterOperator("t.filter", compiled(where)), new ProjectOperator("t.project", SELECTS.map(([name, text]) => ({ name, evaluate: compiled(text) })))];
}

function positionalOperators(where: string): PositionalOperator[] {
  const compiled = (text: string) => compilePositional(parseExpression(text), schema, "test").evaluate;
  return [new PositionalFilterOperator("t.filter", compiled(where)), new PositionalProjectOperator("t.project", SELECTS.map(([name, text]) => ({ name, evaluate: compiled(text) })))];
}

describe("operators over rows by position", () => {
  for (const where of WHERES) {
    it(`Filter (${where}) then Project gives the named path's rows, in order, as arrays in the projection's order`, () => {
      const input = rows();
      const byName: Row[] = [];
      const named = chain(namedOperators(where), (row) => byName.push(row));
      for (const row of input) named(row);
      const byPosition: PositionalRow[] = [];
      const positional = chainPositional(positionalOperators(where), (row) => byPosition.push(row));
      for (const row of input) positional(toPositionalRow(names, row));
      assert.ok(byName.length > 10 && byName.length < input.length, `the filter must keep some rows and drop some (kept ${byName.length})`);
      const outNames = SELECTS.map(([name]) => name);
      assert.deepStrictEqual(byPosition.map((row) => toNamedRow(outNames, row)), byName);
    });
  }

  it("a projection of copied fields only copies them, a missing one as null; a row shorter than the schema reads null past its end", () => {
    const project = new PositionalProjectOperator("t.copy", [
      { name: "b", evaluate: compilePositional(parseExpression("Device"), schema).evaluate },
      { name: "a", evaluate: compilePositional(parseExpression("absent"), schema).evaluate },
    ]);
    const out: PositionalRow[] = [];
    const input = project.connect((row) => out.push(row));
    input(["t", 1, "dev", 0, "m", "u", null, 0, 0, 0, null]);
    input(["t", 1, null]);
    assert.deepStrictEqual(out, [["dev", null], [null, null]]);
  });

  it("converts named rows to rows by position and back by the schema's names", () => {
    const row = { b: 2, a: 1 };
    assert.deepStrictEqual(toPositionalRow(["a", "b", "c"], row), [1, 2, null]);
    assert.deepStrictEqual(toNamedRow(["a", "b"], [1, 2]), { a: 1, b: 2 });
  });
});
