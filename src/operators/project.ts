// select / selectExpr / withColumn / drop: computes each output column from the input row.
import type { Row } from "../core/types.ts";
import { positionOf, type Emit, type Operator, type OperatorPosition } from "./operator.ts";

export interface Projection {
  readonly name: string;
  readonly evaluate: (row: Row) => unknown;
}

export class ProjectOperator implements Operator {
  constructor(readonly id: string, private readonly projections: readonly Projection[]) {}

  connect(next: Emit, position?: OperatorPosition): Emit {
    const names = this.projections.map((projection) => projection.name);
    const evaluators = this.projections.map((projection) => projection.evaluate);
    const width = names.length;
    const { chain, index: at } = positionOf(position);
    return (row) => {
      chain.at = at;
      const out: Row = {};
      for (let index = 0; index < width; index++) out[names[index] as string] = (evaluators[index] as (row: Row) => unknown)(row);
      next(out);
    };
  }
}
