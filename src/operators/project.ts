// select / selectExpr / withColumn / drop: computes each output column from the input row.
//
// Up to CONSTRUCTED_WIDTH columns, each output row is built by `new` on this operator's own constructor of exactly its
// width (row-builders.ts, PROJECTORS), which assigns the columns in order: TurboFan inlines it into the per-row closure
// and allocates the row in place, and every row has the constructor's one shape. Wider projections (or past the pool)
// clone one template per row and fill it with this operator's own copy of a row builder. Either way a column that is
// only copied from the input is read directly rather than through its evaluator.
import { columnReadOf } from "../core/column-read.ts";
import type { Row } from "../core/types.ts";
import { positionOf, type Emit, type Operator, type OperatorPosition } from "./operator.ts";
import { BUILDER_WIDTH, CONSTRUCTED_WIDTH, PROJECTORS, ROW_BUILDERS, type BuildPlan, type Projector, type RowBuilder } from "./row-builders.ts";

export interface Projection {
  readonly name: string;
  readonly evaluate: (row: Row) => unknown;
}

let buildersTaken = 0;
/** How many of PROJECTORS[width] are taken, by width. */
const projectorsTaken: number[] = [];

/** Past the builders' pool or width: one loop for all projections, slower (V8's caches see many columns), the same rows. */
const sharedBuilder: RowBuilder = (input, plan) => {
  const out: Row = { ...plan.template };
  const { targets, sources, evaluators, missingAsNull, width } = plan;
  for (let index = 0; index < width; index++) {
    const source = sources[index];
    const value = source === null || source === undefined ? (evaluators[index] as (row: Row) => unknown)(input) : input[source];
    out[targets[index] as string] = value === undefined && missingAsNull[index] === true ? null : value;
  }
  return out;
};

export class ProjectOperator implements Operator {
  constructor(readonly id: string, private readonly projections: readonly Projection[]) {}

  connect(next: Emit, position?: OperatorPosition): Emit {
    const plan = buildPlan(this.projections);
    const at = positionOf(position);
    const { chain } = at;
    if (plan.width === 0)
      return (_row) => {
        chain.at = at.index;
        next({});
      };
    const projector = takeProjector(plan.width);
    if (projector !== undefined) return projector(plan, next, at);
    const own = plan.width <= BUILDER_WIDTH && buildersTaken < ROW_BUILDERS.length;
    const build = own ? (ROW_BUILDERS[buildersTaken++] as RowBuilder) : sharedBuilder;
    return (row) => {
      chain.at = at.index;
      next(build(row, plan));
    };
  }
}

function takeProjector(width: number): Projector | undefined {
  if (width > CONSTRUCTED_WIDTH) return undefined;
  const taken = projectorsTaken[width] ?? 0;
  const projector = PROJECTORS[width]?.[taken];
  if (projector !== undefined) projectorsTaken[width] = taken + 1;
  return projector;
}

function buildPlan(projections: readonly Projection[]): BuildPlan {
  const template: Row = {};
  for (const projection of projections) {
    // A field that held a double and then null takes any value without changing the rows' shape.
    template[projection.name] = 0.5;
    template[projection.name] = null;
  }
  const reads = projections.map((projection) => columnReadOf(projection.evaluate));
  return {
    template,
    targets: projections.map((projection) => internalized(projection.name)),
    sources: reads.map((read) => (read === undefined ? null : internalized(read.column))),
    evaluators: projections.map((projection) => projection.evaluate),
    missingAsNull: reads.map((read) => read?.missingAsNull ?? false),
    width: projections.length,
    missing: reads.map((read) => (read?.missingAsNull === true ? null : undefined)),
  };
}

/** The same name as an object key: V8 internalizes keys, and its caches match internalized names by identity. */
function internalized(name: string): string {
  const keys = Object.keys({ [name]: true });
  return keys.length === 1 ? (keys[0] as string) : name;
}
