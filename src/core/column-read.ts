// Evaluators that only read one input column: made here so that an operator can copy the column directly instead.
import type { PositionalRow, Row } from "./types.ts";

export interface ColumnRead {
  readonly column: string;
  /** A column missing from the row reads as null (an expression's column reference) rather than undefined. */
  readonly missingAsNull: boolean;
}

const reads = new WeakMap<(row: Row) => unknown, ColumnRead>();

/** An evaluator that reads `column` from the row; columnReadOf() recognizes it. */
export function columnRead(column: string, missingAsNull: boolean): (row: Row) => unknown {
  const evaluate = missingAsNull
    ? (row: Row): unknown => {
      const value = row[column];
      return value === undefined ? null : value;
    }
    : (row: Row): unknown => row[column];
  reads.set(evaluate, { column, missingAsNull });
  return evaluate;
}

/** What the evaluator reads, when it was made by columnRead(). */
export function columnReadOf(evaluate: (row: Row) => unknown): ColumnRead | undefined {
  return reads.get(evaluate);
}

const positionalReads = new WeakMap<(row: Row) => unknown, number>();

/**
 * An evaluator that reads field `index` of a row by position (missing reads as null); positionalReadOf() recognizes
 * it. Typed over Row so that it composes with the expression compiler's closures, which pass the row through untouched.
 */
export function positionalRead(index: number): (row: Row) => unknown {
  const evaluate = (row: Row): unknown => {
    const value = (row as unknown as PositionalRow)[index];
    return value === undefined ? null : value;
  };
  positionalReads.set(evaluate, index);
  return evaluate;
}

/** The field index the evaluator reads, when it was made by positionalRead(). */
export function positionalReadOf(evaluate: (row: Row) => unknown): number | undefined {
  return positionalReads.get(evaluate);
}
