// Compiles an expression both ways, over named rows and over rows by position, and checks on every evaluation that
// the two agree: the expression test tables run through it, so each case is also a case of compilePositional.
import assert from "node:assert/strict";
import type { Row, Schema } from "../../src/core/types.ts";
import { compileExpression, compilePositional, type CompiledExpr } from "../../src/expr/compile.ts";
import type { Expr } from "../../src/expr/ast.ts";
import { toPositionalRow } from "../../src/operators/positional-operator.ts";

/** How many evaluations compared both ways (a test can assert the comparison ran). */
export const comparisons = { count: 0 };

/**
 * compileExpression, whose evaluate also runs the positional compilation on the same row by position and fails the
 * test when the value (or the error thrown) differs. Type, nullability and name must match too.
 */
export function compileBothWays(expr: Expr, schema: Schema, context?: string): CompiledExpr {
  const named = compileExpression(expr, schema, context);
  const positional = compilePositional(expr, schema, context);
  assert.deepStrictEqual({ ...positional, evaluate: undefined }, { ...named, evaluate: undefined }, "compiled the same apart from its evaluator");
  const names = schema.fields.map((field) => field.name);
  // The clock (or randomness) may tick between the two evaluations: those expressions are compared only when equal.
  const varies = NONDETERMINISTIC.test(JSON.stringify(expr, (_key, value: unknown) => (typeof value === "bigint" ? String(value) : value)));
  const evaluate = (row: Row): unknown => {
    const byPosition = outcome(() => positional.evaluate(toPositionalRow(names, row)));
    const byName = outcome(() => named.evaluate(row));
    comparisons.count++;
    if (!varies) assert.deepStrictEqual(byPosition, byName, `by position and by name differ on ${JSON.stringify(row, (_key, value: unknown) => (typeof value === "bigint" ? `${value}n` : value))}`);
    if ("error" in byName) throw byName.error;
    return byName.value;
  };
  return { ...named, evaluate };
}

const NONDETERMINISTIC = /"(current_timestamp|current_date|now|localtimestamp|rand|randn|uuid|unix_timestamp|monotonically_increasing_id)"/i;

function outcome(run: () => unknown): { value: unknown } | { error: unknown } {
  try {
    return { value: run() };
  } catch (error) {
    return { error };
  }
}
