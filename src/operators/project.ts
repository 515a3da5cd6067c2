// select / selectExpr / withColumn / drop: computes each output column from the input row.
import type { Row } from "../core/types.ts";
import type { Emit, Operator } from "./operator.ts";

export interface Projection {
  readonly name: string;
  readonly evaluate: (row: Row) => unknown;
}

export class ProjectOperator implements Operator {
  constructor(readonly id: string, private readonly projections: readonly Projection[]) {}

  connect(next: Emit): Emit {
    const names = this.projections.map((projection) => projection.name);
    const evaluators = this.projections.map((projection) => projection.evaluate);
    const width = names.length;
    return (row) => {
      const out: Row = {};
      for (let index = 0; index < width; index++) out[names[index] as string] = (evaluators[index] as (row: Row) => unknown)(row);
      next(out);
    };
  }
}
