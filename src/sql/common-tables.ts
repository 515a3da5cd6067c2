// The common table expressions in scope while a query is planned (`WITH a AS (...), b AS (...)`): one scope per WITH,
// innermost last, so a CTE is visible in its query and that query's subqueries, and hides a view of its name there.
import type { LogicalPlan } from "../plan/logical.ts";
import type { CommonTableExpression } from "./ast.ts";

export class CommonTables {
  private readonly scopes: Array<Map<string, { name: string; plan: LogicalPlan }>> = [];

  /**
   * Plans each CTE in order (each sees the ones before it; a CTE naming itself reads the view of that name, as Spark's
   * non-recursive CTEs), then `body` with all of them in scope.
   */
  within<T>(ctes: readonly CommonTableExpression[], plan: (cte: CommonTableExpression) => LogicalPlan, body: () => T): T {
    if (ctes.length === 0) return body();
    const scope = new Map<string, { name: string; plan: LogicalPlan }>();
    this.scopes.push(scope);
    try {
      for (const cte of ctes) scope.set(cte.name.toLowerCase(), { name: cte.name, plan: plan(cte) });
      return body();
    } finally {
      this.scopes.pop();
    }
  }

  /** The innermost CTE of that (unqualified) name, if any. */
  get(name: string): LogicalPlan | undefined {
    if (name.includes(".")) return undefined;
    for (let index = this.scopes.length - 1; index >= 0; index--) {
      const entry = this.scopes[index]?.get(name.toLowerCase());
      if (entry !== undefined) return entry.plan;
    }
    return undefined;
  }

  /** The names in scope, innermost last, for "did you mean" hints. */
  names(): string[] {
    return this.scopes.flatMap((scope) => [...scope.values()].map((entry) => entry.name));
  }
}
