// session.sql(text): parse, plan over the catalog, and analyse once so that a wrong query fails at sql(), as in Spark.
import { compileExpression } from "../expr/compile.ts";
import type { LogicalPlan } from "../plan/logical.ts";
import { splitResultOrder } from "../plan/result-order-analysis.ts";
import type { Query } from "./ast.ts";
import { parseSql } from "./parser.ts";
import { planQuery, schemaOfPlan, type SqlCatalog } from "./planner.ts";

/**
 * The logical plan of a SQL query over the catalog's views and tables.
 * @example planSql("SELECT gt, count(*) AS n FROM events GROUP BY gt", catalog)
 * @throws ParseError (line and column) for text that is not a query, AnalysisError for an unknown view or column.
 */
export function planSql(text: string, catalog: SqlCatalog): LogicalPlan {
  return planParsedSql(text, parseSql(text), catalog);
}

/** planSql for a query already parsed (a statement of a .sql file); `text` is the whole text, for error positions. */
export function planParsedSql(text: string, query: Query, catalog: SqlCatalog): LogicalPlan {
  const plan = planQuery(text, query, catalog);
  const schema = schemaOfPlan(plan);
  for (const order of splitResultOrder(plan).orders ?? []) compileExpression(order.expr, schema, "ORDER BY");
  return plan;
}

export type { JoinRequest, SqlCatalog } from "./planner.ts";
