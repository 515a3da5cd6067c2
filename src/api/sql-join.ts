// How session.sql plans a JOIN: the one place to switch once DataFrame.join exists (issue 14, item 2).
import { AnalysisError } from "../core/errors.ts";
import type { LogicalPlan } from "../plan/logical.ts";
import type { JoinRequest } from "../sql/sql.ts";
import { pointAt } from "../sql/position.ts";

/**
 * Plans `left JOIN right ON/USING ...`. When DataFrame.join lands, this becomes
 * `new DataFrame(session, request.left).join(new DataFrame(session, request.right), on, request.how).plan`, with `on` a
 * Column of the condition or the USING column list.
 */
export function planSqlJoin(request: JoinRequest): LogicalPlan {
  throw new AnalysisError(`Joins are not supported yet: ${request.how.replace("_", " ").toUpperCase()} JOIN ${pointAt(request.text, request.position)}\nRill cannot join two DataFrames yet (issue 14); query one view per statement, or combine streams with UNION ALL.`);
}
