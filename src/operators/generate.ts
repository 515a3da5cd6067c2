// explode / posexplode (Spark's Generate): one output row per array element, the other columns repeated.
import type { Row } from "../core/types.ts";
import { positionOf, type Emit, type Operator, type OperatorPosition } from "./operator.ts";
import type { Projection } from "./project.ts";

/** One output column: a projection of the input row, or the generator's element or position. */
export type GeneratedColumn = Projection | { readonly name: string; readonly generated: "element" | "position" };

export interface GeneratorSpec {
  /** The array to explode; anything that is not an array counts as null. */
  readonly evaluate: (row: Row) => unknown;
  /** explode_outer: a null or empty array still gives one row, with null element and position. */
  readonly outer: boolean;
  readonly columns: readonly GeneratedColumn[];
  /** After an aggregation: the hidden key column, made unique per element so each output row replaces only itself. */
  readonly keyColumn: string | undefined;
}

const NO_ELEMENTS: readonly unknown[] = [null];

export class GenerateOperator implements Operator {
  constructor(readonly id: string, private readonly spec: GeneratorSpec) {}

  connect(next: Emit, position?: OperatorPosition): Emit {
    const { evaluate, outer, columns, keyColumn } = this.spec;
    const { chain, index: at } = positionOf(position);
    return (row) => {
      chain.at = at;
      const value = evaluate(row);
      const present = Array.isArray(value) && value.length > 0;
      if (!present && !outer) return;
      const elements = present ? (value as readonly unknown[]) : NO_ELEMENTS;
      const values = columns.map((column) => ("generated" in column ? undefined : column.evaluate(row)));
      for (let index = 0; index < elements.length; index++) {
        const out: Row = {};
        for (let position = 0; position < columns.length; position++) {
          const column = columns[position] as GeneratedColumn;
          if (!("generated" in column)) out[column.name] = values[position];
          else if (column.generated === "element") out[column.name] = elements[index] ?? null;
          else out[column.name] = present ? index : null;
        }
        if (keyColumn !== undefined) out[keyColumn] = `${String(row[keyColumn])}#${index}`;
        next(out);
      }
    };
  }
}
