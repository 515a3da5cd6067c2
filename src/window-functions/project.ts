// A projection that computes window functions, split in two: the windows (computed over the whole input into hidden
// columns) and the projection itself, which reads those columns; a last step drops them.
import type { Field, Schema } from "../core/types.ts";
import type { Expr } from "../expr/ast.ts";
import { expressionName } from "../expr/names.ts";
import type { LogicalPlan, ProjectNode } from "../plan/logical.ts";
import { resolveWindow, type ResolvedWindow } from "./resolve.ts";

/** Spark's refusal of ranking, offset and aggregate windows on a stream. */
export const STREAMING_WINDOWS_REFUSED = "Non-time-based windows are not supported on streaming DataFrames/Datasets";

export interface WindowSplit {
  readonly windows: readonly ResolvedWindow[];
  /** The input's columns, then one hidden column per window. */
  readonly schema: Schema;
  /** The projection and the drop of the hidden columns, over `child` (which must have `schema`). */
  wrap(child: LogicalPlan): LogicalPlan;
}

/** The projection computes a window function (`rank() OVER (...)`, `col.over(w)`). */
export function hasWindowFunction(node: ProjectNode): boolean {
  return node.columns.some(containsWindow);
}

export function containsWindow(expr: Expr): boolean {
  switch (expr.kind) {
    case "over": return true;
    case "column": case "star": case "literal": return false;
    case "unary": case "isNull": case "cast": case "alias": return containsWindow(expr.operand);
    case "binary": return containsWindow(expr.left) || containsWindow(expr.right);
    case "like": return containsWindow(expr.operand) || containsWindow(expr.pattern);
    case "in": return containsWindow(expr.operand) || expr.list.some(containsWindow);
    case "between": return containsWindow(expr.operand) || containsWindow(expr.low) || containsWindow(expr.high);
    case "case": return (expr.operand !== undefined && containsWindow(expr.operand)) || expr.branches.some((branch) => containsWindow(branch.when) || containsWindow(branch.then)) || (expr.otherwise !== undefined && containsWindow(expr.otherwise));
    case "call": return expr.args.some(containsWindow);
  }
}

const HIDDEN = "__rill_window";

/** Resolves the projection's windows over `input` and rewrites it to read their columns. */
export function splitWindowProject(node: ProjectNode, input: Schema): WindowSplit {
  const windows: ResolvedWindow[] = [];
  const replace = (expr: Expr): Expr => {
    if (expr.kind === "over") {
      const name = `${HIDDEN}${windows.length}`;
      windows.push(resolveWindow(expr, input, name));
      return { kind: "column", name };
    }
    return mapExpr(expr, replace);
  };
  const columns = node.columns.map((column): Expr => {
    if (!containsWindow(column)) return column;
    const rewritten = replace(column);
    // The column keeps the name Spark gives the original expression.
    return column.kind === "alias" || node.withColumn !== undefined ? rewritten : { kind: "alias", operand: rewritten, name: expressionName(column) };
  });
  const hidden = windows.map((window) => window.field.name);
  const schema: Schema = { fields: [...input.fields, ...windows.map((window): Field => window.field)] };
  return {
    windows,
    schema,
    wrap: (child) => ({ kind: "project", child: { ...node, child, columns }, columns: [], drop: hidden, operation: node.operation }),
  };
}

function mapExpr(expr: Expr, map: (child: Expr) => Expr): Expr {
  switch (expr.kind) {
    case "column": case "star": case "literal": case "over": return expr;
    case "unary": case "isNull": case "cast": case "alias": return { ...expr, operand: map(expr.operand) };
    case "binary": return { ...expr, left: map(expr.left), right: map(expr.right) };
    case "like": return { ...expr, operand: map(expr.operand), pattern: map(expr.pattern) };
    case "in": return { ...expr, operand: map(expr.operand), list: expr.list.map(map) };
    case "between": return { ...expr, operand: map(expr.operand), low: map(expr.low), high: map(expr.high) };
    case "case": return { ...expr, operand: expr.operand && map(expr.operand), branches: expr.branches.map((branch) => ({ when: map(branch.when), then: map(branch.then) })), otherwise: expr.otherwise && map(expr.otherwise) };
    case "call": return { ...expr, args: expr.args.map(map) };
  }
}
