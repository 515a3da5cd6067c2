// Logical rewrites before analysis, as Spark's optimizer does: filters move below projections (fewer rows get
// projected) and adjacent projections merge into one (each row is built once).
import { expressionName } from "../expr/compile.ts";
import type { Expr } from "../expr/ast.ts";
import { generatorsOf } from "./generate-analysis.ts";
import type { FilterNode, LogicalPlan, ProjectNode } from "./logical.ts";

/** What a projection's output column is made of: the same-named input column, or an expression with its name. */
type Output = { readonly kind: "same" } | { readonly kind: "expression"; readonly expr: Expr; readonly name: string };

/** Output columns of a projection by lower-case name; `open` when unnamed input columns pass through too. */
interface Outputs {
  readonly columns: ReadonlyMap<string, Output>;
  readonly open: boolean;
}

export function optimize(plan: LogicalPlan): LogicalPlan {
  if (plan.kind === "source") return plan;
  if (plan.kind === "union" || plan.kind === "join") return { ...plan, child: optimize(plan.child), other: optimize(plan.other) };
  const child = optimize(plan.child);
  const node = { ...plan, child } as LogicalPlan;
  // A generator changes the number of rows: nothing moves through it or merges with it.
  if (child.kind === "project" && generatorsOf(child).length > 0) return node;
  if (node.kind === "filter" && child.kind === "project") return pushFilter(node, child) ?? node;
  if (node.kind === "project" && child.kind === "project" && generatorsOf(node).length === 0) return collapse(node, child) ?? node;
  return node;
}

/** Filter over a projection: filter the projection's input with the condition rewritten in its terms, then project. */
function pushFilter(filter: FilterNode, project: ProjectNode): LogicalPlan | undefined {
  const condition = substitute(filter.condition, outputsOf(project));
  if (!condition) return undefined;
  const pushed = optimize({ kind: "filter", child: project.child, condition });
  return { ...project, child: pushed };
}

/** select over a projection: one projection computing the outer columns from the inner projection's input. */
function collapse(outer: ProjectNode, inner: ProjectNode): LogicalPlan | undefined {
  if (outer.drop || outer.rename || outer.withColumn !== undefined || outer.columns.some((column) => column.kind === "star")) return undefined;
  const outputs = outputsOf(inner);
  const columns: Expr[] = [];
  for (const column of outer.columns) {
    const rewritten = substitute(column, outputs);
    if (!rewritten) return undefined;
    if (column.kind === "column") {
      const output = outputs.columns.get(column.name.toLowerCase());
      columns.push(output?.kind === "expression" ? { kind: "alias", operand: rewritten, name: output.name } : rewritten);
    } else if (column.kind === "alias" || rewritten === column) {
      columns.push(rewritten);
    } else {
      columns.push({ kind: "alias", operand: rewritten, name: expressionName(column) });
    }
  }
  return { ...outer, child: inner.child, columns };
}

function outputsOf(project: ProjectNode): Outputs {
  const columns = new Map<string, Output>();
  if (project.drop) {
    for (const name of project.drop) columns.set(name.toLowerCase(), DROPPED);
    return { columns, open: true };
  }
  if (project.rename) {
    // Whether the rename happens depends on the input schema, unknown here: a condition on either name stays above it.
    columns.set(project.rename.existing.toLowerCase(), DROPPED);
    columns.set(project.rename.renamed.toLowerCase(), DROPPED);
    return { columns, open: true };
  }
  if (project.withColumn !== undefined) {
    const [expr] = project.columns;
    if (expr) columns.set(project.withColumn.toLowerCase(), { kind: "expression", expr: unalias(expr), name: project.withColumn });
    return { columns, open: true };
  }
  let open = false;
  for (const expr of project.columns) {
    if (expr.kind === "star") open = true;
    else if (expr.kind === "column" && expr.name.includes(".")) {
      // select("s.a") outputs the struct field as `a`.
      const name = expr.name.slice(expr.name.lastIndexOf(".") + 1);
      columns.set(name.toLowerCase(), { kind: "expression", expr, name });
    } else if (expr.kind === "column") columns.set(expr.name.toLowerCase(), { kind: "same" });
    else {
      const name = expr.kind === "alias" ? expr.name : expressionName(expr);
      columns.set(name.toLowerCase(), { kind: "expression", expr: unalias(expr), name });
    }
  }
  return { columns, open };
}

/** A dropped column: referring to it cannot be rewritten (analysis will report it). */
const DROPPED: Output = { kind: "expression", expr: { kind: "star" }, name: "" };

function unalias(expr: Expr): Expr {
  return expr.kind === "alias" ? expr.operand : expr;
}

/** The expression with each column replaced by what the projection computes it from; undefined when one cannot be. */
function substitute(expr: Expr, outputs: Outputs): Expr | undefined {
  let failed = false;
  const walk = (node: Expr): Expr => {
    if (failed) return node;
    switch (node.kind) {
      case "column": {
        const output = outputs.columns.get(node.name.toLowerCase());
        if (output === DROPPED) failed = true;
        // `s.a` through a projection: the struct may be computed there; leave it to analysis.
        if (!output && node.name.includes(".")) failed = true;
        if (!output) {
          if (!outputs.open) failed = true;
          return node;
        }
        return output.kind === "same" ? node : output.expr;
      }
      case "star":
      case "literal": return node;
      case "unary": return { ...node, operand: walk(node.operand) };
      case "binary": return { ...node, left: walk(node.left), right: walk(node.right) };
      case "isNull": return { ...node, operand: walk(node.operand) };
      case "like": return { ...node, operand: walk(node.operand), pattern: walk(node.pattern) };
      case "in": return { ...node, operand: walk(node.operand), list: node.list.map(walk) };
      case "between": return { ...node, operand: walk(node.operand), low: walk(node.low), high: walk(node.high) };
      case "case": return { ...node, operand: node.operand && walk(node.operand), branches: node.branches.map((branch) => ({ when: walk(branch.when), then: walk(branch.then) })), otherwise: node.otherwise && walk(node.otherwise) };
      case "cast": return { ...node, operand: walk(node.operand) };
      case "call": return node.name === "window" ? fail(node) : { ...node, args: node.args.map(walk) };
      case "alias": return { ...node, operand: walk(node.operand) };
      case "over": return fail(node);
    }
  };
  const fail = (node: Expr): Expr => {
    failed = true;
    return node;
  };
  const result = walk(expr);
  return failed ? undefined : result;
}
