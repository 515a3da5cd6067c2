// The stream-static join over rows by position: the probe row's key and condition columns read by index, the static
// rows as arrays in the static side's column order (made once a version of the table), each output row an array in
// the join's output order. The same matches as StaticJoinOperator's (the table's key index is shared), in the same order.
import type { PositionalRow } from "../core/types.ts";
import { positionalStaticRows, type StaticRows, type StaticTable } from "./join-static-table.ts";
import { positionOf, type OperatorPosition } from "./operator.ts";
import type { PositionalEmit, PositionalOperator } from "./positional-operator.ts";
import { freshRow } from "./project-positional.ts";

/** Where an output field comes from: the probe row's field `index`, the static row's, or a key read from either. */
export type PositionalJoinField =
  | { readonly from: "probe" | "static"; readonly index: number }
  /** A USING key: the probe's value, or the static row's when `staticFirst` (right outer with the stream on the left: never) or the probe row is absent. */
  | { readonly from: "key"; readonly probeIndex: number; readonly staticIndex: number; readonly staticFirst: boolean };

export interface PositionalStaticJoinSpec {
  readonly table: StaticTable;
  /** The static side's columns, in the order its rows are stored by position. */
  readonly staticColumns: readonly string[];
  /** The probe row's join key, the same keys as the table's index; undefined: every static row is a candidate. */
  readonly probeKey: ((probe: PositionalRow) => unknown) | undefined;
  /** The rest of the condition, on a probe row and a static row by position. */
  readonly condition: ((probe: PositionalRow, other: PositionalRow) => boolean) | undefined;
  readonly mode: "inner" | "outer" | "semi" | "anti";
  readonly output: readonly PositionalJoinField[];
}

export class PositionalStaticJoinOperator implements PositionalOperator {
  constructor(readonly id: string, private readonly spec: PositionalStaticJoinSpec) {}

  connect(next: PositionalEmit, position?: OperatorPosition): PositionalEmit {
    const { chain, index: at } = positionOf(position);
    const { table, staticColumns, probeKey, condition, mode } = this.spec;
    const build = outputBuilder(this.spec.output);
    const existence = mode === "semi" || mode === "anti";
    const keepUnmatched = mode === "outer" || mode === "anti";
    // The arrays of the table version last seen (a reload replaces the version whole): one compare a row, no lookup.
    let version: StaticRows | undefined;
    let rows: readonly PositionalRow[] = [];
    return (probe) => {
      chain.at = at;
      const current = table.rows;
      if (current !== version) {
        version = current;
        rows = positionalStaticRows(current, staticColumns);
      }
      let positions: readonly number[] | undefined;
      if (probeKey) {
        const key = probeKey(probe);
        positions = key === undefined ? undefined : current.index?.get(key);
      }
      const candidates = probeKey ? (positions?.length ?? 0) : rows.length;
      let found = 0;
      for (let candidate = 0; candidate < candidates; candidate++) {
        const other = rows[positions ? (positions[candidate] as number) : candidate] as PositionalRow;
        if (condition && !condition(probe, other)) continue;
        found++;
        if (existence) break;
        next(build(probe, other));
      }
      if (found === 0 ? keepUnmatched : mode === "semi") next(build(probe, null));
    };
  }
}

/** The output row builder: one loop over plain arrays of kinds and indexes, no closure per field. */
function outputBuilder(fields: readonly PositionalJoinField[]): (probe: PositionalRow, other: PositionalRow | null) => PositionalRow {
  const width = fields.length;
  // 0: probe[first], 1: static[first], 2: key (probe[first] unless the static row comes first), 3: key, static first.
  const kinds = fields.map((field) => (field.from === "key" ? (field.staticFirst ? 3 : 2) : field.from === "probe" ? 0 : 1));
  const first = fields.map((field) => (field.from === "key" ? field.probeIndex : field.index));
  const second = fields.map((field) => (field.from === "key" ? field.staticIndex : -1));
  const fresh = freshRow(width);
  return (probe, other) => {
    const out = fresh();
    for (let field = 0; field < width; field++) {
      const kind = kinds[field];
      let value: unknown;
      if (kind === 0 || kind === 2) value = probe[first[field] as number];
      else if (kind === 1) value = other === null ? null : other[first[field] as number];
      else value = other === null ? probe[first[field] as number] : other[second[field] as number];
      out[field] = value === undefined ? null : value;
    }
    return out;
  };
}
