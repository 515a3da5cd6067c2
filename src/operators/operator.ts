// The operator seam: an operator turns input rows into output rows; the actor around it owns channels, barriers and flow.
import type { Row } from "../core/types.ts";
import type { StateChange } from "../state/types.ts";

export type Emit = (row: Row) => void;

/** Figures an operator gathers for the epoch's progress report; taken (and reset) at each barrier. */
export interface OperatorMetrics {
  /** withWatermark: the event times of the rows that went by (Spark's eventTime min, max and avg). */
  eventTimeMin?: number;
  eventTimeMax?: number;
  eventTimeSum?: number;
  eventTimeCount?: number;
  /** dropDuplicates: rows dropped as duplicates (Spark's numDroppedDuplicateRows). */
  droppedDuplicates?: number;
}

export interface Operator {
  /** Stable id (`<stage>.<index>-<kind>`): it names the operator's state and metrics. */
  readonly id: string;
  /**
   * Wires the operator to what follows; returns the function that takes its input rows. Called once. An operator that
   * evaluates expressions stores `position.index` in `position.chain` on entry (see ChainPosition).
   */
  connect(next: Emit, position?: OperatorPosition): Emit;
  /** End of the actor's turn: emit what was coalesced during it. */
  flush?(): void;
  /** A bounded input (a static DataFrame run whole) ended: emit what only the end can tell, such as unmatched rows. */
  endOfInput?(): void;
  /** Rows of state held (for progress). */
  stateRows?(): number;
  /** Stable across restarts and partitions (`aggregate-0`): names the operator's state in checkpoints. */
  readonly stateId?: string;
  /** The state changes since the last snapshot (then forgotten): written at each barrier. */
  snapshot?(): StateChange[];
  /** The state is one entry per partition (not per key group): a restore hands it every entry to pick its own. */
  readonly statePerPartition?: boolean;
  /** Loads state as of the last committed epoch, before any row arrives. */
  restore?(entries: Iterable<[string, unknown]>): void;
  /** The event-time watermark of this operator's input advanced (ms): close windows, evict state. */
  onWatermark?(watermark: number): void;
  /** Processing time for the operator (GroupState timeouts): the query's clock, given once before any row. */
  useClock?(now: () => number): void;
  /** The figures since the last call (event times seen, duplicates dropped), for the epoch's progress. */
  takeMetrics?(): OperatorMetrics;
  /** This operator's output watermark for its input's: withWatermark raises it from the event times it has seen. */
  outputWatermark?(input: number): number;
}

/**
 * Which operator of a chain a row is in (its index in the chain). An operator that evaluates expressions, the only
 * kind that raises a RecordError, stores its index on entry (one store a row, no extra call), so after a bad record it
 * names the operator that threw: an operator evaluates before it emits, so the last one entered is the thrower.
 * The actor reads it only after a bad record.
 */
export interface ChainPosition {
  at: number;
}

/** Where an operator sits in its actor's chain, handed to `connect`. */
export interface OperatorPosition {
  readonly chain: ChainPosition;
  readonly index: number;
}

/** For an operator connected without a position (benchmarks, tests): stores go to a slot nobody reads. */
const UNREAD: OperatorPosition = { chain: { at: 0 }, index: 0 };

/** The position an expression operator stores on entry. */
export function positionOf(position: OperatorPosition | undefined): OperatorPosition {
  return position ?? UNREAD;
}

/** Wires operators into one closure chain: the hot path is plain calls, built once. */
export function chain(operators: readonly Operator[], last: Emit, position?: ChainPosition): Emit {
  let next = last;
  for (let index = operators.length - 1; index >= 0; index--) next = (operators[index] as Operator).connect(next, position ? { chain: position, index } : undefined);
  return next;
}
