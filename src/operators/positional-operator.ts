// The operator seam for rows by position: operators whose rows are arrays in the order of a schema the planner knows.
//
// The same contract as Operator (operator.ts), over PositionalRow: an operator reads and writes fields by index, so
// no field name is looked up per row. Stateless per-row operators have a positional form (filter, project); the
// streaming aggregation and group state take their input by position (PositionalInput), and the aggregation can emit
// its output by position too (PositionalOutput); the stateful pass-through steps (withWatermark, dropDuplicates) read
// their columns by index into the named operator that keeps their state, and their rows go on by position; a row is
// named (toNamedRow) wherever else a user or a stateful operator sees it.
import type { PositionalRow, Row } from "../core/types.ts";
import type { ChainPosition, Operator, OperatorPosition } from "./operator.ts";

export type PositionalEmit = (row: PositionalRow) => void;

export interface PositionalOperator {
  /** Stable id (`<stage>.<index>-<kind>`), as Operator's. */
  readonly id: string;
  /**
   * Wires the operator to what follows; returns the function that takes its input rows. Called once. `named`: the
   * named chain's operator of the same step, already connected there; a stateful pass-through (withWatermark,
   * dropDuplicates) keeps its state, metrics and late rows in it, so the actor snapshots and restores one operator
   * whichever way the rows ran.
   */
  connect(next: PositionalEmit, position?: OperatorPosition, named?: Operator): PositionalEmit;
}

/**
 * Positional input, named output: a step whose rows come in by position and go into its named operator (the one the
 * named chain holds: its state, its output and the named steps after it), such as the streaming aggregation.
 */
export interface PositionalInput {
  /** The column order the step reads its rows in. */
  readonly inputColumns: readonly string[];
  /** The function that takes rows by position into `operator` (already connected in the named chain). */
  connect(operator: Operator, position?: OperatorPosition): PositionalEmit;
  /** Positional output too (the aggregation): the operator can emit its rows by position instead of named. */
  readonly output?: PositionalOutput;
}

/**
 * A stateful step's output by position: `operator` (the named chain's, holding the state) emits its rows as arrays in
 * the order of `outputColumns` into `next` instead of named rows into the named chain. Its state does not change.
 */
export interface PositionalOutput {
  readonly outputColumns: readonly string[];
  /** Redirects `operator`'s output to `next`, for good; called after the named chain is connected. */
  connect(operator: Operator, next: PositionalEmit): void;
}

/**
 * Wires positional operators into one closure chain, as chain() does. `firstIndex`: the first one's place in the
 * actor's chain; `named`: the actor's whole named chain, whose operator at the same place is handed to each positional
 * one at connect (a stateful pass-through keeps its state there).
 */
export function chainPositional(operators: readonly PositionalOperator[], last: PositionalEmit, position?: ChainPosition, firstIndex = 0, named?: readonly Operator[]): PositionalEmit {
  let next = last;
  for (let index = operators.length - 1; index >= 0; index--) next = (operators[index] as PositionalOperator).connect(next, position ? { chain: position, index: firstIndex + index } : undefined, named?.[firstIndex + index]);
  return next;
}

/** The named operator a stateful pass-through is bound to, checked to be of its kind. */
export function boundOperator<T extends Operator>(id: string, named: Operator | undefined, kind: abstract new (...args: never[]) => T): T {
  if (!(named instanceof kind)) throw new Error(`internal: the positional form of ${id} was connected without its named operator (${named === undefined ? "none" : named.id})`);
  return named;
}

/** A row by position as a named row: the names are the schema's, in its order. */
export function toNamedRow(names: readonly string[], row: PositionalRow): Row {
  const named: Row = {};
  for (let column = 0; column < names.length; column++) named[names[column] as string] = row[column];
  return named;
}

/** A named row by position in the order of `names` (a missing field reads as null, as a column reference does). */
export function toPositionalRow(names: readonly string[], row: Row): PositionalRow {
  // map(), not new Array(n): a packed array, as a decoded frame's rows are (a holey one costs a check per read).
  return names.map((name) => {
    const value = row[name];
    return value === undefined ? null : value;
  });
}
