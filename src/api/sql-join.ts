// How session.sql plans a JOIN: the plan the DataFrame API builds, `left.alias(l).join(right.alias(r), on, how)`.
import type { LogicalPlan } from "../plan/logical.ts";
import type { JoinRequest } from "../sql/sql.ts";
import { Column } from "./column.ts";
import { DataFrame } from "./dataframe.ts";
import type { Session } from "./session.ts";

/**
 * Plans `left JOIN right ON/USING ...` as DataFrame.join does, so the same analysis (and the same refusals of a
 * stream-static join at start()) applies. `on` is the ON condition over the aliased sides, or the USING column list.
 */
export function planSqlJoin(session: Session, request: JoinRequest): LogicalPlan {
  const left = new DataFrame(session, request.left).alias(request.leftAlias);
  const right = new DataFrame(session, request.right).alias(request.rightAlias);
  const on = request.on === undefined ? undefined : isNames(request.on) ? request.on : new Column(request.on);
  return left.join(right, on, request.how).plan;
}

function isNames(on: NonNullable<JoinRequest["on"]>): on is readonly string[] {
  return Array.isArray(on);
}
