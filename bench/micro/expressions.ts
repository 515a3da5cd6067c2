// Expression evaluation (src/expr): the seed's expressions parsed and compiled once, then evaluated over a frame of rows.
import assert from "node:assert/strict";
import { schemaFromZod } from "../../src/core/zod-schema.ts";
import { activitySchema, type ActivityRow } from "../../src/connectors/sources/activity.ts";
import { compileExpression } from "../../src/expr/compile.ts";
import { parseExpression } from "../../src/expr/parser.ts";
import type { Row } from "../../src/core/types.ts";
import { activityFrame, FRAME_ROWS, type MicroSuite, type MicroTask } from "./harness.ts";

const schema = schemaFromZod(activitySchema);

interface Case {
  readonly text: string;
  /** The same expression in plain code: the answer the compiled closure must give. */
  readonly plain: (row: ActivityRow) => unknown;
  /** Folds a result into the checksum. */
  readonly fold: (value: unknown) => number;
}

const CASES: readonly Case[] = [
  { text: "gt like '%stairs%'", plain: (row) => (row.gt === null ? null : row.gt.includes("stairs")), fold: (value) => (value === true ? 1 : 0) },
  // Not a string-method shortcut: the general LIKE matcher and the RE2 engine of RLIKE.
  { text: "gt like 'st_irs%'", plain: (row) => (row.gt === null ? null : row.gt.startsWith("st") && row.gt.slice(3, 6) === "irs"), fold: (value) => (value === true ? 1 : 0) },
  { text: "gt rlike 'st.irs'", plain: (row) => (row.gt === null ? null : /st.irs/.test(row.gt)), fold: (value) => (value === true ? 1 : 0) },
  { text: "cast(x as double) * 2 + 1", plain: (row) => row.x * 2 + 1, fold: (value) => value as number },
  {
    text: "case when x > 0.5 then 'high' when x < -0.5 then 'low' else 'mid' end",
    plain: (row) => (row.x > 0.5 ? "high" : row.x < -0.5 ? "low" : "mid"),
    fold: (value) => (value as string).length,
  },
  { text: "sqrt(x * x + y * y + z * z)", plain: (row) => Math.sqrt(row.x * row.x + row.y * row.y + row.z * row.z), fold: (value) => value as number },
];

export function expressionSuite(): MicroSuite {
  const rows = activityFrame();
  const tasks: MicroTask[] = CASES.map((item) => {
    const evaluate = compileExpression(parseExpression(item.text), schema, "bench").evaluate;
    return {
      name: `evaluate ${item.text}`,
      rowsPerCall: FRAME_ROWS,
      check: () => {
        const expected = rows.map(item.plain);
        assert.ok(new Set(expected.map(String)).size > 1, `${item.text}: the frame must give more than one distinct answer for the check to mean something`);
        assert.deepEqual(rows.map((row) => evaluate(row as Row)), expected);
      },
      run: () => {
        let sum = 0;
        for (let index = 0; index < rows.length; index++) sum += item.fold(evaluate(rows[index] as Row));
        return sum;
      },
      plain: () => {
        let sum = 0;
        for (let index = 0; index < rows.length; index++) sum += item.fold(item.plain(rows[index] as ActivityRow));
        return sum;
      },
    };
  });
  const stairs = CASES[0] as Case;
  tasks.push({
    name: `parse + compile ${stairs.text} (once per query)`,
    rowsPerCall: 1,
    check: () => assert.equal(compileExpression(parseExpression(stairs.text), schema).type, "boolean"),
    run: () => compileExpression(parseExpression(stairs.text), schema).name.length,
  });
  return { name: "expressions", tasks };
}
