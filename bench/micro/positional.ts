// Filter and Project over rows by position (src/operators/*-positional.ts, compilePositional), beside the same work in
// plain code over named rows (operators.ts): the input rows are arrays in the activity schema's order, as a frame
// decoded by position gives them.
import assert from "node:assert/strict";
import { activitySchema, type ActivityRow } from "../../src/connectors/sources/activity.ts";
import type { PositionalRow, Row } from "../../src/core/types.ts";
import { schemaFromZod } from "../../src/core/zod-schema.ts";
import { compilePositional } from "../../src/expr/compile.ts";
import { parseExpression } from "../../src/expr/parser.ts";
import { PositionalFilterOperator } from "../../src/operators/filter-positional.ts";
import { chainPositional, toNamedRow, toPositionalRow, type PositionalEmit, type PositionalOperator } from "../../src/operators/positional-operator.ts";
import { PositionalProjectOperator } from "../../src/operators/project-positional.ts";
import { FRAME_ROWS, type MicroSuite, type MicroTask } from "./harness.ts";
import { isStairs, operatorRows, plainFilter, plainFilterSelect, plainSelect, selected, type PlainWork } from "./operators.ts";

const schema = schemaFromZod(activitySchema);
const names = schema.fields.map((field) => field.name);
const compiled = (text: string): ((row: PositionalRow) => unknown) => compilePositional(parseExpression(text), schema, "bench").evaluate;
const stairsFilter = (): PositionalOperator => new PositionalFilterOperator("bench.filter", compiled("gt like '%stairs%'"));
const SELECT = [["gt", "gt"], ["Model", "model"], ["Arrival_Time", "arrival_time"], ["Creation_Time", "creation_time"]] as const;
const seedSelect = (): PositionalOperator => new PositionalProjectOperator("bench.project", SELECT.map(([name, text]) => ({ name, evaluate: compiled(text) })));

function positionalTask(name: string, rows: readonly ActivityRow[], operators: () => PositionalOperator[], outNames: readonly string[], expected: (rows: readonly ActivityRow[]) => Row[], plainWork: PlainWork): MicroTask {
  const input = rows.map((row) => toPositionalRow(names, row as unknown as Row));
  let count = 0;
  const countRow: PositionalEmit = () => count++;
  const timed = chainPositional(operators(), countRow, { at: -1 });
  return {
    name,
    rowsPerCall: FRAME_ROWS,
    check: () => {
      const out: PositionalRow[] = [];
      const fresh = chainPositional(operators(), (row) => out.push(row), { at: -1 });
      for (const row of input) fresh(row);
      const want = expected(rows);
      assert.ok(want.length > 0, `${name}: the frame must give some output for the check to mean something`);
      assert.deepEqual(out.map((row) => toNamedRow(outNames, row)), want);
    },
    run: () => {
      const before = count;
      for (let index = 0; index < input.length; index++) timed(input[index] as PositionalRow);
      return count - before;
    },
    plain: () => {
      const before = count;
      plainWork(rows, () => count++);
      return count - before;
    },
  };
}

export function positionalSuite(): MicroSuite {
  const rows = operatorRows();
  const selectNames = SELECT.map(([name]) => name);
  return {
    name: "by position",
    tasks: [
      positionalTask("FilterOperator by position", rows, () => [stairsFilter()], names, (input) => input.filter(isStairs) as unknown as Row[], plainFilter),
      positionalTask("ProjectOperator by position", rows, () => [seedSelect()], selectNames, (input) => input.map(selected), plainSelect),
      positionalTask("Filter + Project by position", rows, () => [stairsFilter(), seedSelect()], selectNames, (input) => input.filter(isStairs).map(selected), plainFilterSelect),
    ],
  };
}
