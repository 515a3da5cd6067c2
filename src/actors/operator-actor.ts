// An actor in the middle of the plan: runs its chained operators over each frame's rows.
import { partitionOfKeyGroup } from "../core/keys.ts";
import type { Row } from "../core/types.ts";
import type { CheckpointStorage } from "../state/lmdb-storage.ts";
import { chain, type Operator } from "../operators/operator.ts";
import { Actor, type ActorEnvironment, type ActorWiring } from "./actor.ts";
import type { ActorEpochStats } from "./control.ts";

export class OperatorActor extends Actor {
  private readonly process: (row: Row) => void;

  constructor(wiring: ActorWiring, environment: ActorEnvironment, private readonly operators: readonly Operator[]) {
    super(wiring, environment);
    this.process = chain(operators, this.emit);
  }

  protected processRows(rows: Row[]): void {
    const process = this.process;
    for (let index = 0; index < rows.length; index++) process(rows[index] as Row);
  }

  protected override flushOperators(): void {
    for (const operator of this.operators) operator.flush?.();
  }

  /** Loads each stateful operator's state for the key groups this partition owns. */
  restore(storage: CheckpointStorage, parallelism: number): void {
    const partition = this.wiring.partition;
    for (const operator of this.operators) {
      if (operator.stateId && operator.restore) operator.restore(storage.readState(operator.stateId, (keyGroup) => partitionOfKeyGroup(keyGroup, parallelism) === partition));
    }
  }

  /** Writes the epoch's state changes in one transaction before the barrier moves on. */
  protected override async onBarrier(epoch: number): Promise<void> {
    const storage = this.environment.storage;
    if (!storage) return;
    const changes = this.operators.flatMap((operator) => operator.snapshot?.() ?? []);
    await storage.writeChanges(epoch, changes);
  }

  protected override collectStats(): ActorEpochStats {
    const stats = super.collectStats();
    for (const operator of this.operators) stats.stateRows += operator.stateRows?.() ?? 0;
    return stats;
  }
}
