// An actor in the middle of the plan: runs its chained operators over each frame's rows.
import { jsonWithLongs } from "../core/long.ts";
import type { RecordError } from "../core/errors.ts";
import { partitionOfKeyGroup } from "../core/keys.ts";
import type { Frame, PositionalDataFrame } from "../core/frame.ts";
import type { PositionalRow, Row } from "../core/types.ts";
import type { CheckpointStorage } from "../state/lmdb-storage.ts";
import { chain, type Operator } from "../operators/operator.ts";
import { chainPositional, toNamedRow, type PositionalEmit } from "../operators/positional-operator.ts";
import type { PositionalChain } from "../plan/positional-rows.ts";
import { Actor, type ActorEnvironment, type ActorWiring } from "./actor.ts";
import { decodeFramePositional } from "./codec.ts";
import type { ActorEpochStats } from "./control.ts";
import { runPositionalRows, runRows } from "./record-errors.ts";

/** Each operator actor's input watermark at a committed epoch. */
const WATERMARKS = "watermarks";

export class OperatorActor extends Actor {
  private readonly process: (row: Row) => void;

  private readonly lateOperators: Array<Operator & { late: Row[] }>;
  /** Operators with processing-time timers (group state timeouts), ticked by the actor. */
  private readonly tickers: Array<Operator & { tick(now: number): void }>;
  private cancelTicks: () => void = () => undefined;

  override start(): void {
    super.start();
    if (this.tickers.length === 0) return;
    const clock = this.environment.clock;
    this.cancelTicks = clock.setInterval(() => this.enqueueTask(() => {
      for (const operator of this.tickers) operator.tick(clock.now());
    }), 100, { unref: true });
  }

  override async stop(): Promise<void> {
    this.cancelTicks();
    await super.stop();
  }

  /** Rows by position (src/plan/positional-rows.ts): the chain over arrays, and what a frame's columns must be for it. */
  private readonly positional: { readonly chain: PositionalChain; readonly process: PositionalEmit } | undefined;
  /** The last frame columns found equal to the chain's input columns (a decoder gives one array per schema). */
  private matchedColumns: readonly string[] | undefined;
  /**
   * Partition 0 after a restart with fewer partitions: the stored watermarks of this stage's partitions that no longer
   * run. They count in this restore (they are the last committed epoch's), and are removed with the next epoch, so that a
   * later restore does not take the minimum over values a run long gone left behind.
   */
  private goneWatermarks: string[] = [];
  /** Rows that ran by position, and rows this positional actor ran named (frames of another column order, msgpack frames of named rows). */
  positionalRows = 0;
  namedFallbackRows = 0;

  /**
   * `positional`: the stage runs its rows by position (the planner found a positional form for every operator, or for
   * every one before a step that takes its input by position: positional input, named output). The
   * named operators are built all the same: they hold the ids, and run the rows of a frame whose columns are not the
   * chain's input columns in that order (a sender whose rows had another key order, or a msgpack frame of named rows).
   */
  constructor(wiring: ActorWiring, environment: ActorEnvironment, private readonly operators: readonly Operator[], positional?: PositionalChain) {
    super(wiring, environment);
    this.tickers = operators.filter((operator): operator is Operator & { tick(now: number): void } => typeof (operator as { tick?: unknown }).tick === "function");
    this.lateOperators = operators.filter((operator): operator is Operator & { late: Row[] } => Array.isArray((operator as { late?: unknown }).late));
    for (const operator of operators) operator.useClock?.(environment.clock.now.bind(environment.clock));
    this.process = chain(operators, this.emit, this.chainPosition);
    this.positional = positional && {
      chain: positional,
      process: chainPositional(positional.operators, this.positionalEnd(positional), this.chainPosition, 0, operators),
    };
  }

  /**
   * Where the positional steps' rows go: out of the actor by position, or (positional input, named output) into the
   * named operator at `namedFrom.index`, already connected to the named chain after it, which reads them by index, or
   * (`through`) into the named operator at `through.index`, whose output goes on by position.
   */
  private positionalEnd(positional: PositionalChain): PositionalEmit {
    const namedFrom = positional.namedFrom;
    const through = positional.through;
    if (through !== undefined) {
      // Positional input and output: the named operator's rows leave by position into the positional steps after it.
      const operator = this.operators[through.index] as Operator;
      const end = this.buildPositionalEmit(positional.outputColumns, positional.exchangeIndexes);
      through.output.connect(operator, chainPositional(through.after, end, this.chainPosition, through.index + 1, this.operators));
      return through.input.connect(operator, { chain: this.chainPosition, index: through.index });
    }
    if (namedFrom === undefined) return this.buildPositionalEmit(positional.outputColumns, positional.exchangeIndexes);
    return namedFrom.input.connect(this.operators[namedFrom.index] as Operator, { chain: this.chainPosition, index: namedFrom.index });
  }

  /** Whether this actor's rows run by position. */
  get runsPositional(): boolean {
    return this.positional !== undefined;
  }

  protected override decode(payload: Uint8Array): Frame | PositionalDataFrame {
    return this.positional ? decodeFramePositional(payload) : super.decode(payload);
  }

  protected processRows(rows: Row[]): void {
    if (this.positional) this.namedFallbackRows += rows.length;
    runRows(rows, this.process, this.chainPosition, this.operators, this.rejectRecord);
  }

  protected override processPositionalRows(frame: PositionalDataFrame): void {
    const positional = this.positional;
    if (positional && this.matches(frame.columns, positional.chain.inputColumns)) {
      this.positionalRows += frame.rows.length;
      runPositionalRows(frame.rows, positional.process, this.chainPosition, this.operators, this.rejectPositional);
      return;
    }
    this.processRows(frame.rows.map((row) => toNamedRow(frame.columns, row)));
  }

  /** A bad record by position goes to the dead letter as a named row (the names of the chain's input). */
  private readonly rejectPositional = (row: PositionalRow, operator: Operator | undefined, error: RecordError): void => {
    this.rejectRecord(toNamedRow((this.positional as { chain: PositionalChain }).chain.inputColumns, row), operator, error);
  };

  private matches(columns: readonly string[], expected: readonly string[]): boolean {
    if (columns === this.matchedColumns) return true;
    if (columns.length !== expected.length || columns.some((name, index) => name !== expected[index])) return false;
    this.matchedColumns = columns;
    return true;
  }

  protected override chainedOperators(): readonly Operator[] {
    return this.operators;
  }

  protected override flushOperators(): void {
    for (const operator of this.operators) operator.flush?.();
    for (const operator of this.lateOperators) if (operator.late.length > 0) this.handleLate(operator);
  }

  /** Late records are counted, and published to the late-data subject when one is configured (Flink's side output). */
  private handleLate(operator: Operator & { late: Row[] }): void {
    const late = operator.late;
    operator.late = [];
    this.stats.droppedByWatermark += late.length;
    const subject = this.environment.lateDataSubject;
    if (!subject) return;
    const encoder = new TextEncoder();
    for (const row of late) this.environment.transport.publish(subject, encoder.encode(jsonWithLongs({ operator: operator.id, watermark: this.watermark, row })));
  }

  /** Loads each stateful operator's state for the key groups this partition owns. */
  restore(storage: CheckpointStorage, parallelism: number): void {
    const partition = this.wiring.partition;
    const stage = this.name.slice(0, this.name.lastIndexOf(".p"));
    let watermark = Number.POSITIVE_INFINITY;
    for (const [actor, value] of storage.readState(WATERMARKS, () => true)) {
      if (!actor.startsWith(`${stage}.p`)) continue;
      watermark = Math.min(watermark, value as number);
      if (partition === 0 && Number(actor.slice(stage.length + 2)) >= parallelism) this.goneWatermarks.push(actor);
    }
    if (Number.isFinite(watermark)) this.restoreWatermark(watermark);
    for (const operator of this.operators) {
      if (!operator.stateId || !operator.restore) continue;
      const owned = operator.statePerPartition ? () => true : (keyGroup: number) => partitionOfKeyGroup(keyGroup, parallelism) === partition;
      operator.restore(storage.readState(operator.stateId, owned));
    }
    this.primeWatermark();
  }

  /** Takes the epoch's state changes now and writes them in one transaction while the actor goes on. */
  protected override persistEpoch(epoch: number): Promise<void> | undefined {
    const storage = this.environment.storage;
    // Taken without a checkpoint too: the counts feed progress (numRowsUpdated, numRowsRemoved).
    const changes = this.operators.flatMap((operator) => operator.snapshot?.() ?? []);
    for (const change of changes) {
      if (change.value === null) this.stats.rowsRemoved++;
      else this.stats.rowsUpdated++;
    }
    if (!storage) return undefined;
    if (Number.isFinite(this.watermark)) changes.push({ stateId: WATERMARKS, keyGroup: 0, key: this.name, value: this.watermark });
    for (const actor of this.goneWatermarks.splice(0)) changes.push({ stateId: WATERMARKS, keyGroup: 0, key: actor, value: null });
    return changes.length > 0 ? storage.writeChanges(epoch, changes, this.name, this.environment.subjects.attempt) : undefined;
  }

  protected override collectStats(): ActorEpochStats {
    const stats = super.collectStats();
    for (const operator of this.operators) stats.stateRows += operator.stateRows?.() ?? 0;
    return stats;
  }
}
