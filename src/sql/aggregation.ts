// GROUP BY, aggregate functions and HAVING: one aggregation (keys and every aggregate call the query names), then the
// select list computed over its result, as Spark's analyzer rewrites an aggregate query.
import type { AnalysisError } from "../core/errors.ts";
import { findField, type Schema } from "../core/types.ts";
import type { Expr } from "../expr/ast.ts";
import { expressionName } from "../expr/names.ts";
import type { GroupingKind, LogicalPlan } from "../plan/logical.ts";
import type { Located, SelectItem } from "./ast.ts";
import { aggregateCalls, containsAggregate, mapChildren, nestedAggregate, structuralKey } from "./expressions.ts";

export interface AggregationInput {
  readonly plan: LogicalPlan;
  /** The select list, qualifiers removed. */
  readonly items: readonly SelectItem[];
  /** The columns of the relation in FROM. */
  readonly schema: Schema;
  readonly groupBy: { readonly grouping: GroupingKind; readonly keys: ReadonlyArray<Located<Expr>> } | undefined;
  readonly having: Located<Expr> | undefined;
  readonly checkColumns: (expr: Expr, position: number, clause: string) => void;
  readonly error: (position: number, detail: string, hint?: string) => AnalysisError;
}

interface Key {
  readonly structural: string;
  /** The key's column after the aggregation. */
  readonly name: string;
  /** The key as the aggregate node takes it. */
  readonly expr: Expr;
}

const TIME_WINDOWS = new Set(["window", "session_window"]);

/** The aggregation, HAVING and the select list over it; `outputs` keep each item's expression for ORDER BY. */
export function planAggregation(input: AggregationInput): { plan: LogicalPlan; outputs: Array<{ name: string; expr: Expr | undefined }> } {
  const { items, error } = input;
  const expressions = items.map((item) => {
    if (item.kind === "star") throw error(item.position, "SELECT * cannot be used with GROUP BY or aggregate functions", "List the grouping columns and the aggregates instead.");
    return item;
  });
  const keys = (input.groupBy?.keys ?? []).map((key, index) => groupingKey(input, expressions, key, index));
  const aggregates = new Map<string, { name: string; call: Expr }>();
  const collect = (expr: Expr, position: number, clause: string): void => {
    const nested = nestedAggregate(expr);
    if (nested) throw error(position, `${expressionName(nested)} is an aggregate inside another aggregate`, "It is not allowed to use an aggregate function in the argument of another aggregate function.");
    for (const call of aggregateCalls(expr)) {
      input.checkColumns(call, position, clause);
      const structural = structuralKey(call);
      if (!aggregates.has(structural)) aggregates.set(structural, { name: `__rill_agg${aggregates.size}`, call });
    }
  };
  for (const item of expressions) collect(item.expr, item.position, "the SELECT list");
  const having = input.having && { value: substituteAliases(input.having.value, expressions, keys), position: input.having.position };
  if (having) collect(having.value, having.position, "HAVING");
  // GROUP BY without aggregates (SELECT k FROM t GROUP BY k) still needs one aggregate column; it is projected away.
  if (aggregates.size === 0) aggregates.set("", { name: "__rill_agg_rows", call: { kind: "call", name: "count", args: [{ kind: "star" }], distinct: false } });

  const rewrite = (expr: Expr, position: number, clause: string): Expr => {
    const structural = structuralKey(expr);
    const key = keys.find((candidate) => candidate.structural === structural);
    if (key) return { kind: "column", name: key.name };
    const aggregate = aggregates.get(structural);
    if (aggregate) return { kind: "column", name: aggregate.name };
    if (expr.kind === "column") {
      const first = (expr.name.split(".")[0] ?? expr.name).toLowerCase();
      if (keys.some((candidate) => candidate.name.toLowerCase() === first)) return expr;
      input.checkColumns(expr, position, clause);
      throw error(position, `expression '${expr.name}' is neither present in the group by, nor is it an aggregate function`, "Add it to GROUP BY, or wrap it in first() if any value of the group will do.");
    }
    return mapChildren(expr, (child) => rewrite(child, position, clause));
  };

  let plan: LogicalPlan = {
    kind: "aggregate",
    child: input.plan,
    grouping: input.groupBy?.grouping ?? "groupBy",
    groupBy: keys.map((key) => key.expr),
    aggregates: [...aggregates.values()].map(({ name, call }) => ({ kind: "alias", operand: call, name })),
  };
  if (having) plan = { kind: "filter", child: plan, condition: rewrite(having.value, having.position, "HAVING") };
  const columns = expressions.map((item): Expr => {
    const value = rewrite(item.expr, item.position, "the SELECT list");
    if (item.alias === undefined && value.kind === "column" && item.expr.kind === "column") return value;
    return { kind: "alias", operand: value, name: item.alias ?? expressionName(item.expr) };
  });
  plan = { kind: "project", child: plan, columns, operation: "SQL SELECT" };
  return { plan, outputs: expressions.map((item) => ({ name: item.alias ?? expressionName(item.expr), expr: item.expr })) };
}

/**
 * A GROUP BY key: an ordinal (`GROUP BY 1`) or a select alias (Spark's groupByOrdinal and groupByAliases) stand for the
 * item's expression. window() and session_window() keep their column names; other expressions get a hidden name.
 */
function groupingKey(input: AggregationInput, items: ReadonlyArray<Extract<SelectItem, { kind: "expression" }>>, key: Located<Expr>, index: number): Key {
  let expr = key.value;
  if (expr.kind === "literal" && expr.type === "int" && typeof expr.value === "number") {
    const item = items[expr.value - 1];
    if (item === undefined) throw input.error(key.position, `GROUP BY position ${expr.value} is not in the select list (1 to ${items.length})`);
    expr = item.expr;
  } else if (expr.kind === "column" && findField(input.schema, expr.name) === undefined) {
    const name = expr.name.toLowerCase();
    const byAlias = items.find((item) => item.alias?.toLowerCase() === name);
    if (byAlias) expr = byAlias.expr;
  }
  if (containsAggregate(expr)) throw input.error(key.position, `GROUP BY ${expressionName(expr)} is an aggregate function`, "Aggregate functions are not allowed in GROUP BY.");
  input.checkColumns(expr, key.position, "GROUP BY");
  const structural = structuralKey(expr);
  if (expr.kind === "column") return { structural, name: expr.name, expr };
  if (expr.kind === "call" && TIME_WINDOWS.has(expr.name)) return { structural, name: expr.name, expr };
  const name = `__rill_group${index}`;
  return { structural, name, expr: { kind: "alias", operand: expr, name } };
}

/** In HAVING, a name that is a select alias (and no grouping column) stands for the aliased expression, as in Spark. */
function substituteAliases(expr: Expr, items: ReadonlyArray<Extract<SelectItem, { kind: "expression" }>>, keys: readonly Key[]): Expr {
  if (expr.kind === "column") {
    const name = expr.name.toLowerCase();
    if (keys.some((key) => key.name.toLowerCase() === name)) return expr;
    const item = items.find((candidate) => candidate.alias?.toLowerCase() === name);
    return item ? item.expr : expr;
  }
  return mapChildren(expr, (child) => substituteAliases(child, items, keys));
}
