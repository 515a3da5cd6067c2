// orderBy / sort and limit on a stream: where Spark allows them (UnsupportedOperationChecker), applied at the sink.
import type { OutputMode, ResultOrder } from "../connectors/sinks/sink.ts";
import { AnalysisError } from "../core/errors.ts";
import type { Row, Schema } from "../core/types.ts";
import { compileExpression } from "../expr/compile.ts";
import { sortOrdering } from "../expr/compare.ts";
import type { LogicalPlan, SortOrder } from "./logical.ts";

/** The plan without its trailing sort and limit, and those. */
export interface SplitPlan {
  readonly plan: LogicalPlan;
  readonly orders: readonly SortOrder[] | undefined;
  readonly limit: number | undefined;
}

/** Takes the sort and limit off the end of the plan; one anywhere else is refused (Rill applies them at the sink). */
export function splitResultOrder(plan: LogicalPlan): SplitPlan {
  let node = plan;
  let orders: readonly SortOrder[] | undefined;
  let limit: number | undefined;
  while (node.kind === "sort" || node.kind === "limit") {
    if (node.kind === "limit") {
      if (orders !== undefined) throw new AnalysisError("orderBy() after limit() is not supported on streaming DataFrames: put orderBy() before limit().");
      limit = limit === undefined ? node.count : Math.min(limit, node.count);
    } else if (orders === undefined) {
      // The outermost sort decides the order.
      orders = node.orders;
    }
    node = node.child;
  }
  checkNoInnerOrder(node);
  return { plan: node, orders, limit };
}

function checkNoInnerOrder(node: LogicalPlan): void {
  if (node.kind === "source") return;
  // A join's static side runs whole on its own, where orderBy() and limit() may be anywhere.
  if (node.kind === "join") return checkNoInnerOrder(node.static?.side === "left" ? node.other : node.child);
  if (node.kind === "sort" || node.kind === "limit") {
    throw new AnalysisError(`${node.kind === "sort" ? "orderBy()" : "limit()"} must be the last operation of a streaming query: Rill applies it to the result at the sink.`);
  }
  checkNoInnerOrder(node.child);
}

/** Spark's rules: sorting only on an aggregation in complete mode; limit not in update mode. */
export function analyzeResultOrder(split: SplitPlan, schema: Schema, hasAggregate: boolean, outputMode: OutputMode): ResultOrder | undefined {
  const { orders, limit } = split;
  if (orders === undefined && limit === undefined) return undefined;
  if (orders !== undefined && !(hasAggregate && outputMode === "complete")) {
    throw new AnalysisError("Sorting is not supported on streaming DataFrames/Datasets, unless it is on aggregated DataFrame/Dataset in Complete output mode.");
  }
  if (limit !== undefined && outputMode === "update") {
    throw new AnalysisError("Limits are not supported on streaming DataFrames/Datasets in Update output mode.");
  }
  return { compare: orders === undefined ? undefined : rowComparator(orders, schema), limit };
}

export function rowComparator(orders: readonly SortOrder[], schema: Schema): (left: Row, right: Row) => number {
  const keys = orders.map((order) => {
    const compiled = compileExpression(order.expr, schema, "orderBy()");
    return { evaluate: compiled.evaluate, ordering: sortOrdering(compiled.type), sign: order.descending ? -1 : 1, nullsFirst: order.nullsFirst };
  });
  return (left, right) => {
    for (const key of keys) {
      const a = key.evaluate(left);
      const b = key.evaluate(right);
      const aNull = a === null || a === undefined;
      const bNull = b === null || b === undefined;
      if (aNull || bNull) {
        if (aNull && bNull) continue;
        return aNull === key.nullsFirst ? -1 : 1;
      }
      const order = key.ordering(a, b) * key.sign;
      if (order !== 0) return order;
    }
    return 0;
  };
}
