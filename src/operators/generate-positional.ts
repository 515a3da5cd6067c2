// explode / posexplode and their _outer forms over rows by position: one output array per array element, the other
// columns copied by index or computed once per input row (compilePositional), as GenerateOperator does with names.
//
// Stateless: each input row's repeated columns are built once into an array, which each element's row copies
// (slice() keeps it packed) before the element and its position are stored at their places.
import { positionalReadOf } from "../core/column-read.ts";
import type { PositionalRow, Row } from "../core/types.ts";
import { positionOf, type OperatorPosition } from "./operator.ts";
import { freshRow, type PositionalProjection } from "./project-positional.ts";
import type { PositionalEmit, PositionalOperator } from "./positional-operator.ts";

/** One output column: a projection of the input row by position, or the generator's element or position. */
export type PositionalGeneratedColumn = PositionalProjection | { readonly name: string; readonly generated: "element" | "position" };

export interface PositionalGeneratorSpec {
  /** The array to explode, read by position; anything that is not an array counts as null. */
  readonly evaluate: (row: PositionalRow) => unknown;
  /** explode_outer: a null or empty array still gives one row, with null element and position. */
  readonly outer: boolean;
  readonly columns: readonly PositionalGeneratedColumn[];
  /**
   * After an aggregation: the hidden key column's index in the input row. The output carries it last, made unique
   * per element (`<key>#<index>`, as GenerateOperator's) so each output row replaces only itself.
   */
  readonly keyIndex: number | undefined;
}

const NO_ELEMENTS: readonly unknown[] = [null];

export class PositionalGenerateOperator implements PositionalOperator {
  constructor(readonly id: string, private readonly spec: PositionalGeneratorSpec) {}

  connect(next: PositionalEmit, position?: OperatorPosition): PositionalEmit {
    const { evaluate, outer, columns, keyIndex } = this.spec;
    const { chain, index: at } = positionOf(position);
    const fresh = freshRow(columns.length + (keyIndex === undefined ? 0 : 1));
    const keyAt = columns.length;
    const elementAt = columns.findIndex((column) => "generated" in column && column.generated === "element");
    const positionAt = columns.findIndex((column) => "generated" in column && column.generated === "position");
    // The repeated columns: [output index, input index] pairs copied as they are, and [output index, evaluator] pairs.
    const copies: Array<readonly [number, number]> = [];
    const computed: Array<readonly [number, (row: PositionalRow) => unknown]> = [];
    for (const [place, column] of columns.entries()) {
      if ("generated" in column) continue;
      const source = positionalReadOf(column.evaluate as unknown as (row: Row) => unknown);
      if (source === undefined) computed.push([place, column.evaluate]);
      else copies.push([place, source]);
    }
    return (row) => {
      chain.at = at;
      const value = evaluate(row);
      const present = Array.isArray(value) && value.length > 0;
      if (!present && !outer) return;
      const elements = present ? (value as readonly unknown[]) : NO_ELEMENTS;
      const base = fresh();
      for (const [place, source] of copies) {
        const copied = row[source];
        base[place] = copied === undefined ? null : copied;
      }
      for (const [place, compute] of computed) {
        const result = compute(row);
        base[place] = result === undefined ? null : result;
      }
      const last = elements.length - 1;
      for (let index = 0; index <= last; index++) {
        // The last element's row is the base itself: nothing writes to it after.
        const out = index === last ? base : base.slice();
        if (elementAt >= 0) out[elementAt] = elements[index] ?? null;
        if (positionAt >= 0) out[positionAt] = present ? index : null;
        if (keyIndex !== undefined) out[keyAt] = `${String(row[keyIndex])}#${index}`;
        next(out);
      }
    };
  }
}
