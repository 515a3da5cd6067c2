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
import { DropCounter, FRAME_ROWS, OutputRing, type MicroSuite, type MicroTask } from "./harness.ts";
import { droppedFilter, droppedFilterSelect, droppedSelect, isStairs, operatorRows, plainFilter, plainFilterSelect, plainSelect, selected, type PlainWork } from "./operators.ts";

const schema = schemaFromZod(activitySchema);
const names = schema.fields.map((field) => field.name);
const compiled = (text: string): ((row: PositionalRow) => unknown) => compilePositional(parseExpression(text), schema, "bench").evaluate;
const stairsFilter = (): PositionalOperator => new PositionalFilterOperator("bench.filter", compiled("gt like '%stairs%'"));
const SELECT = [["gt", "gt"], ["Model", "model"], ["Arrival_Time", "arrival_time"], ["Creation_Time", "creation_time"]] as const;
const seedSelect = (): PositionalOperator => new PositionalProjectOperator("bench.project", SELECT.map(([name, text]) => ({ name, evaluate: compiled(text) })));

function positionalTask(name: string, rows: readonly ActivityRow[], operators: () => PositionalOperator[], outNames: readonly string[], expected: (rows: readonly ActivityRow[]) => Row[], plainWork: PlainWork, droppedWork: PlainWork): MicroTask {
  const input = rows.map((row) => toPositionalRow(names, row as unknown as Row));
  // The subject and its plain code store every output row into one ring (harness.ts), so that both build their rows.
  const ring = new OutputRing();
  const keep: PositionalEmit = ring.keep;
  const timed = chainPositional(operators(), keep, { at: -1 });
  const dropped = new DropCounter();
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
      const before = ring.count;
      for (let index = 0; index < input.length; index++) timed(input[index] as PositionalRow);
      return ring.count - before;
    },
    plain: () => {
      const before = ring.count;
      plainWork(rows, ring.keep);
      return ring.count - before;
    },
    plainDropped: () => {
      const before = dropped.count;
      droppedWork(rows, dropped.drop);
      return dropped.count - before;
    },
  };
}

export function positionalSuite(): MicroSuite {
  const rows = operatorRows();
  const selectNames = SELECT.map(([name]) => name);
  return {
    name: "by position",
    tasks: [
      positionalTask("FilterOperator by position", rows, () => [stairsFilter()], names, (input) => input.filter(isStairs) as unknown as Row[], plainFilter, droppedFilter),
      positionalTask("ProjectOperator by position", rows, () => [seedSelect()], selectNames, (input) => input.map(selected), plainSelect, droppedSelect),
      positionalTask("Filter + Project by position", rows, () => [stairsFilter(), seedSelect()], selectNames, (input) => input.filter(isStairs).map(selected), plainFilterSelect, droppedFilterSelect),
    ],
  };
}
