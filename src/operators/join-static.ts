// The stream-static join: each row of the streaming (probe) side meets the static rows with its key, or every static
// row that passes the condition. Stateless on the stream side, so a restart needs only the static side loaded again.
import type { Row } from "../core/types.ts";
import type { KeyOf, StaticTable } from "./join-static-table.ts";
import type { Emit, Operator } from "./operator.ts";

export interface StaticJoinSpec {
  readonly table: StaticTable;
  /** The probe row's join key (hash lookup), or undefined: every static row is a candidate. */
  readonly probeKey: KeyOf | undefined;
  /** The rest of the condition, on a probe row and a static row. */
  readonly condition: ((probe: Row, other: Row) => boolean) | undefined;
  /** inner; outer: a probe row without a match is kept with nulls for the static side; semi / anti: probe rows with / without a match. */
  readonly mode: "inner" | "outer" | "semi" | "anti";
  readonly output: (probe: Row | null, other: Row | null) => Row;
  /** Bounded on both sides, right or full outer: the static rows no probe row matched, emitted at the end of the input. */
  readonly unmatchedStatic: boolean;
  /** After an aggregation: the hidden column naming the result row a row replaces (kept, one per match). */
  readonly keyColumn: string | undefined;
}

export class StaticJoinOperator implements Operator {
  private matched: Set<number> | undefined;
  private next: Emit | undefined;

  constructor(readonly id: string, private readonly spec: StaticJoinSpec) {}

  connect(next: Emit): Emit {
    this.next = next;
    const { table, probeKey, condition, mode, output, keyColumn } = this.spec;
    const withKey = keyColumn === undefined ? (row: Row) => row : (row: Row, probe: Row, match: number) => {
      // The first match keeps the probe row's key, the others extend it: each is a result row of its own.
      const key = probe[keyColumn];
      row[keyColumn] = match === 1 ? key : `${String(key)}#j${match}`;
      return row;
    };
    if (this.spec.unmatchedStatic) this.matched = new Set();
    const matched = this.matched;
    return (probe) => {
      const { rows, index } = table.rows;
      let positions: readonly number[] | undefined;
      if (probeKey) {
        const key = probeKey(probe);
        positions = key === undefined ? undefined : index?.get(key);
      }
      const candidates = probeKey ? (positions?.length ?? 0) : rows.length;
      let found = 0;
      for (let at = 0; at < candidates; at++) {
        const position = positions ? (positions[at] as number) : at;
        const other = rows[position] as Row;
        if (condition && !condition(probe, other)) continue;
        found++;
        matched?.add(position);
        if (mode === "semi" || mode === "anti") break;
        next(withKey(output(probe, other), probe, found));
      }
      if (found === 0 ? mode === "outer" || mode === "anti" : mode === "semi") next(withKey(output(probe, null), probe, 1));
    };
  }

  /** End of a bounded input: the static rows no probe row matched (right or full outer join of two static frames). */
  endOfInput(): void {
    if (!this.matched || !this.next) return;
    const { rows } = this.spec.table.rows;
    for (let position = 0; position < rows.length; position++) if (!this.matched.has(position)) this.next(this.spec.output(null, rows[position] as Row));
  }
}
