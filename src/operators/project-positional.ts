// select / selectExpr / withColumn / drop over rows by position: output field i is input field sources[i] copied, or
// the value of evaluators[i] (compilePositional).
//
// An output row is a new all-null array of the output's width (a packed array of V8's generic elements kind, so every
// row has one shape and no store changes it), then one indexed store a field. No per-operator copy of the
// loop is needed: an indexed store into an array of one elements kind is monomorphic whatever the field.
import { positionalReadOf } from "../core/column-read.ts";
import type { PositionalRow, Row } from "../core/types.ts";
import { positionOf, type OperatorPosition } from "./operator.ts";
import type { PositionalEmit, PositionalOperator } from "./positional-operator.ts";

/**
 * A new all-null row of `width` fields: an array literal up to 8 fields (V8 allocates it inline, with no call), past
 * that a copy of an all-null array.
 */
export function freshRow(width: number): () => PositionalRow {
  const nulls: PositionalRow = Array.from({ length: width }, () => null);
  return (ROW_LITERALS[width] as (() => PositionalRow) | undefined) ?? (() => nulls.slice());
}

const ROW_LITERALS: readonly (() => PositionalRow)[] = [
  () => [],
  () => [null],
  () => [null, null],
  () => [null, null, null],
  () => [null, null, null, null],
  () => [null, null, null, null, null],
  () => [null, null, null, null, null, null],
  () => [null, null, null, null, null, null, null],
  () => [null, null, null, null, null, null, null, null],
];

export interface PositionalProjection {
  readonly name: string;
  readonly evaluate: (row: PositionalRow) => unknown;
}

export class PositionalProjectOperator implements PositionalOperator {
  constructor(readonly id: string, private readonly projections: readonly PositionalProjection[]) {}

  /** The output's field names, in order. */
  get names(): string[] {
    return this.projections.map((projection) => projection.name);
  }

  connect(next: PositionalEmit, position?: OperatorPosition): PositionalEmit {
    const { chain, index: at } = positionOf(position);
    const width = this.projections.length;
    const fresh = freshRow(width);
    // A field copied as it is: its input index, or -1 where the evaluator computes the value.
    const sources = this.projections.map((projection) => positionalReadOf(projection.evaluate as unknown as (row: Row) => unknown) ?? -1);
    const evaluators = this.projections.map((projection) => projection.evaluate);
    return (row) => {
      chain.at = at;
      const out = fresh();
      for (let field = 0; field < width; field++) {
        const source = sources[field] as number;
        if (source >= 0) {
          const value = row[source];
          out[field] = value === undefined ? null : value;
        } else {
          out[field] = (evaluators[field] as (row: PositionalRow) => unknown)(row);
        }
      }
      next(out);
    };
  }
}
