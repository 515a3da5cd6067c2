// Turns an execution graph (stages x partitions) into running actors wired by subjects, plus their coordinator.
import type { SinkProvider, OutputMode, ResultOrder } from "../connectors/sinks/sink.ts";
import type { SourceProvider } from "../connectors/sources/source.ts";
import { partitionerOf } from "../core/keys.ts";
import type { Operator } from "../operators/operator.ts";
import type { CheckpointStorage } from "../state/lmdb-storage.ts";
import type { Actor, ActorEnvironment, ActorRef, Routing } from "./actor.ts";
import type { FlowControl } from "./channel.ts";
import { Coordinator, type CoordinatorEvents } from "./coordinator.ts";
import { OperatorActor } from "./operator-actor.ts";
import { SinkActor } from "./sink-actor.ts";
import { systemClock, type Clock } from "../core/clock.ts";
import { SourceActor } from "./source-actor.ts";
import type { QuerySubjects } from "./subjects.ts";
import type { Transport } from "./transport.ts";

export type Exchange = { readonly kind: "forward" } | { readonly kind: "hash"; readonly columns: readonly string[] };

export interface StageSpec {
  /** Stable id, e.g. `s1-aggregate`; actors are `<id>.p<partition>`. */
  readonly id: string;
  readonly role: "source" | "operator" | "sink";
  readonly parallelism: number;
  readonly createOperators: (partition: number) => Operator[];
  /** How rows leave this stage for the next. */
  readonly exchange: Exchange;
  readonly source?: SourceProvider;
  readonly sink?: SinkProvider;
}

export interface ExecutionGraph {
  readonly queryName: string;
  /** Stable across restarts from one checkpoint location. */
  readonly queryId: string;
  readonly stages: readonly StageSpec[];
  readonly outputMode: OutputMode;
  readonly microBatch: boolean;
  readonly deadLetterSubject: string;
  /** orderBy / limit, applied by the sink actor. */
  readonly resultOrder?: ResultOrder | undefined;
}

export class QueryRuntime {
  readonly actors: Actor[] = [];
  readonly coordinator: Coordinator;
  private readonly sources: SourceActor[] = [];
  private readonly sinks: SinkActor[] = [];
  private cancelTrigger: () => void = () => undefined;

  constructor(
    private readonly graph: ExecutionGraph,
    private readonly transport: Transport,
    readonly subjects: QuerySubjects,
    flow: FlowControl,
    events: CoordinatorEvents,
    private readonly storage: CheckpointStorage | undefined,
    epochTimeoutMs: number,
    idleTimeoutMs: number,
    lateDataSubject: string | undefined,
    private readonly clock: Clock = systemClock,
  ) {
    const environment: ActorEnvironment = { transport, subjects, flow, storage, idleTimeoutMs, lateDataSubject, clock };
    const refs = this.assignRefs();
    graph.stages.forEach((stage, stageIndex) => {
      const upstream = stageIndex > 0 ? (refs[stageIndex - 1] as ActorRef[]) : [];
      const downstream = refs[stageIndex + 1] ?? [];
      for (let partition = 0; partition < stage.parallelism; partition++) {
        const wiring = { self: (refs[stageIndex] as ActorRef[])[partition] as ActorRef, partition, upstream, downstream, routing: routingOf(stage.exchange, downstream.length) };
        this.actors.push(this.createActor(stage, wiring, environment, partition));
      }
    });
    this.coordinator = new Coordinator(transport, subjects, this.actors.map((actor) => actor.name), storage ? this.sinks.map((sink) => sink.name) : [], events, storage, epochTimeoutMs);
  }

  /**
   * Subscribes every actor, makes sure the broker has the subscriptions, opens sources, starts epochs.
   * With `resume`, state, source offsets and epoch numbers continue from the last committed epoch.
   */
  async start(epochIntervalMs: number | undefined, resume?: { lastCommittedEpoch: number; offsets: Readonly<Record<string, unknown>> }): Promise<void> {
    if (resume && this.storage) this.restore(this.storage, resume.lastCommittedEpoch, resume.offsets);
    for (const actor of this.actors) actor.start();
    this.coordinator.listen();
    await this.transport.flush();
    for (const sink of this.sinks) await sink.open();
    for (const source of this.sources) await source.open();
    // The trigger's interval runs on the query's clock (a test's ManualClock fires it on advance()).
    this.coordinator.startEpochs(undefined);
    if (epochIntervalMs !== undefined) this.cancelTrigger = this.clock.setInterval(() => this.coordinator.requestEpoch(false), epochIntervalMs);
  }

  private restore(storage: CheckpointStorage, lastCommittedEpoch: number, offsets: Readonly<Record<string, unknown>>): void {
    this.coordinator.resumeAfter(lastCommittedEpoch);
    for (const actor of this.actors) actor.startAt(lastCommittedEpoch + 1);
    for (const source of this.sources) if (source.name in offsets) source.seek(offsets[source.name]);
    for (const actor of this.actors) if (actor instanceof OperatorActor) actor.restore(storage, this.parallelismOf(actor.name));
    for (const sink of this.sinks) sink.restore(storage, lastCommittedEpoch);
  }

  private parallelismOf(actor: string): number {
    const stage = this.graph.stages.find((candidate) => actor.startsWith(`${candidate.id}.p`));
    return stage?.parallelism ?? 1;
  }

  async stop(): Promise<void> {
    this.cancelTrigger();
    this.coordinator.stop();
    for (const actor of this.actors) await actor.stop();
  }

  private assignRefs(): ActorRef[][] {
    let index = 0;
    return this.graph.stages.map((stage) => Array.from({ length: stage.parallelism }, (_, partition) => ({ index: index++, name: `${stage.id}.p${partition}` })));
  }

  private createActor(stage: StageSpec, wiring: ConstructorParameters<typeof OperatorActor>[0], environment: ActorEnvironment, partition: number): Actor {
    const operators = stage.createOperators(partition);
    if (stage.role === "source" && stage.source) {
      const actor = new SourceActor(wiring, environment, {
        reader: stage.source.createReader(partition),
        operators,
        microBatch: this.graph.microBatch,
        deadLetterSubject: this.graph.deadLetterSubject,
        queryName: this.graph.queryName,
        numPartitions: stage.parallelism,
      });
      this.sources.push(actor);
      return actor;
    }
    if (stage.role === "sink" && stage.sink) {
      const actor = new SinkActor(wiring, environment, { writer: stage.sink.createWriter(), outputMode: this.graph.outputMode, microBatch: this.graph.microBatch, queryName: this.graph.queryName, queryId: this.graph.queryId, resultOrder: this.graph.resultOrder });
      this.sinks.push(actor);
      return actor;
    }
    return new OperatorActor(wiring, environment, operators);
  }
}

function routingOf(exchange: Exchange, receivers: number): Routing {
  if (exchange.kind === "hash" && receivers > 1) return { kind: "hash", partitionOf: partitionerOf(exchange.columns, receivers) };
  return { kind: "forward" };
}
