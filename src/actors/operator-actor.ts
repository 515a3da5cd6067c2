// An actor in the middle of the plan: runs its chained operators over each frame's rows.
import { jsonWithLongs } from "../core/long.ts";
import { partitionOfKeyGroup } from "../core/keys.ts";
import type { Row } from "../core/types.ts";
import type { CheckpointStorage } from "../state/lmdb-storage.ts";
import { chain, type Operator } from "../operators/operator.ts";
import { Actor, type ActorEnvironment, type ActorWiring } from "./actor.ts";
import type { ActorEpochStats } from "./control.ts";
import { runRows } from "./record-errors.ts";

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

  constructor(wiring: ActorWiring, environment: ActorEnvironment, private readonly operators: readonly Operator[]) {
    super(wiring, environment);
    this.tickers = operators.filter((operator): operator is Operator & { tick(now: number): void } => typeof (operator as { tick?: unknown }).tick === "function");
    this.lateOperators = operators.filter((operator): operator is Operator & { late: Row[] } => Array.isArray((operator as { late?: unknown }).late));
    for (const operator of operators) operator.useClock?.(environment.clock.now.bind(environment.clock));
    this.process = chain(operators, this.emit, this.chainPosition);
  }

  protected processRows(rows: Row[]): void {
    runRows(rows, this.process, this.chainPosition, this.operators, this.rejectRecord);
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
    for (const [actor, value] of storage.readState(WATERMARKS, () => true)) if (actor.startsWith(`${stage}.p`)) watermark = Math.min(watermark, value as number);
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
    return changes.length > 0 ? storage.writeChanges(epoch, changes, this.name) : undefined;
  }

  protected override collectStats(): ActorEpochStats {
    const stats = super.collectStats();
    for (const operator of this.operators) stats.stateRows += operator.stateRows?.() ?? 0;
    return stats;
  }
}
