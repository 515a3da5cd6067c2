// Expand (for cube and rollup): one copy of each row per grouping set, the columns outside the set set to null.
import type { Row } from "../core/types.ts";
import type { Emit, Operator } from "./operator.ts";

/** The column that tells grouping sets apart (Spark's spark_grouping_id). */
export const GROUPING_ID = "__rill_grouping_id";

export class ExpandOperator implements Operator {
  /** `sets[i]` lists the grouping columns that grouping set i keeps. */
  constructor(readonly id: string, private readonly groupingColumns: readonly string[], private readonly sets: readonly (readonly string[])[]) {}

  connect(next: Emit): Emit {
    const nulled = this.sets.map((kept) => this.groupingColumns.filter((column) => !kept.includes(column)));
    return (row) => {
      for (let set = 0; set < nulled.length; set++) {
        const copy: Row = { ...row, [GROUPING_ID]: set };
        for (const column of nulled[set] as string[]) copy[column] = null;
        next(copy);
      }
    };
  }
}
