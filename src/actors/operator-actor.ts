// An actor in the middle of the plan: runs its chained operators over each frame's rows.
import type { Row } from "../core/types.ts";
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

  protected override collectStats(): ActorEpochStats {
    const stats = super.collectStats();
    for (const operator of this.operators) stats.stateRows += operator.stateRows?.() ?? 0;
    return stats;
  }
}
