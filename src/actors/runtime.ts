// Turns an execution graph (stages x partitions) into running actors wired by subjects, plus their coordinator.
import type { SinkProvider, OutputMode, ResultOrder } from "../connectors/sinks/sink.ts";
import type { SourceProvider } from "../connectors/sources/source.ts";
import { partitionerOf } from "../core/keys.ts";
import type { Operator } from "../operators/operator.ts";
import type { PositionalChain } from "../plan/positional-rows.ts";
import type { CheckpointStorage } from "../state/lmdb-storage.ts";
import type { AttemptId } from "../state/fence.ts";
import type { Actor, ActorEnvironment, ActorRef, Routing } from "./actor.ts";
import type { FlowControl } from "./channel.ts";
import type { EpochParams } from "../core/param-values.ts";
import type { RecordedParams } from "../state/types.ts";
import { Coordinator, type CoordinatorEvents, type EpochParamSource } from "./coordinator.ts";
import { OperatorActor } from "./operator-actor.ts";
import { SinkActor } from "./sink-actor.ts";
import { systemClock, type Clock } from "../core/clock.ts";
import { RillError } from "../core/errors.ts";
import { SourceActor } from "./source-actor.ts";
import type { QuerySubjects } from "./subjects.ts";
import { DeadLetterOutput, type DeadLetterSettings } from "../deadletters/output.ts";
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
  /** The stages this one reads from; by default the one before it (a union's stage reads from each input's). */
  readonly inputs?: readonly number[];
  /** A withWatermark runs in this stage or upstream, so its actors send watermarks. */
  readonly carriesWatermark?: boolean;
  /** Rows run by position through this stage (src/plan/positional-rows.ts): its chain for one partition. */
  readonly createPositional?: (partition: number) => PositionalChain;
  /** How the stage runs by position, for explain(): the whole chain, or its input into a step that emits named rows. */
  readonly positionalDetail?: string;
  /** `name: detail` of each chained operator, for explain(). */
  readonly stepDetails?: readonly string[];
}

export interface ExecutionGraph {
  readonly queryName: string;
  /** Stable across restarts from one checkpoint location. */
  readonly queryId: string;
  readonly stages: readonly StageSpec[];
  readonly outputMode: OutputMode;
  readonly microBatch: boolean;
  readonly deadLetterSubject: string;
  /** The stream dead letters go into where there is JetStream (created when none captures the subject); without it, rill's defaults. */
  readonly deadLetterStream?: Omit<DeadLetterSettings, "subject">;
  /** How an actor combines the watermarks of a union's inputs; min by default. */
  readonly multipleWatermarkPolicy?: "min" | "max";
  /** orderBy / limit, applied by the sink actor. */
  readonly resultOrder?: ResultOrder | undefined;
}

/**
 * Where the actors of a query run when it is spread over worker processes (src/workers): each process builds only the
 * actors it hosts, from the same graph, so every process derives the same names, indexes and subjects.
 */
export interface Placement {
  /** True for an actor this process constructs. */
  hosts(actor: string): boolean;
  /** On the driver: the actors placed on workers, started once this process's actors listen, stopped with them. */
  readonly remote?: RemoteActors;
}

/** The resume point a worker needs: state is read from the shared checkpoint, its source actors seek to `offsets`. */
export interface HostedResume {
  readonly lastCommittedEpoch: number;
  /** The committed offset of each source actor, by actor name. */
  readonly offsets: Readonly<Record<string, unknown>>;
}

export interface RemoteActors {
  /**
   * Resolves once every remote actor listens and its sink is open; rejects when a worker refuses or is lost. `params`:
   * the parameter values of the run's first epoch (src/params), which the remote actors start with. `attemptSequence`:
   * the attempt's sequence number on the checkpoint (src/state/fence.ts), which the remote sinks record.
   */
  start(resume: HostedResume | undefined, params?: EpochParams, attemptSequence?: number): Promise<void>;
  /** Resolves once every remote actor has stopped and its epoch writes have settled (or its worker is gone for good). */
  stop(): Promise<void>;
}

/** The coordinator's events, and where the runtime logs what needs a person's attention (a dead letter the stream refuses). */
export type RuntimeEvents = CoordinatorEvents & { readonly log?: (line: string) => void };

/** A query's parameters (src/params/query-params.ts): the values of a run's first epoch, then of each next one. */
export interface RuntimeParams extends EpochParamSource {
  begin(firstEpoch: number, recorded: { readonly committed?: RecordedParams | undefined; readonly firstEpoch?: RecordedParams | undefined } | undefined): EpochParams;
}

/** Where a run resumes: after the last committed epoch, from its offsets, with the parameter values recorded for it. */
export interface RuntimeResume {
  readonly lastCommittedEpoch: number;
  readonly offsets: Readonly<Record<string, unknown>>;
  readonly params?: { readonly committed?: RecordedParams | undefined; readonly firstEpoch?: RecordedParams | undefined };
}

export class QueryRuntime {
  readonly actors: Actor[] = [];
  /** Publishes this process's dead letters: committed ones after each commit (driver), or at once without a checkpoint. */
  readonly deadLetters: DeadLetterOutput;
  readonly coordinator: Coordinator;
  private readonly sources: SourceActor[] = [];
  private readonly sinks: SinkActor[] = [];
  private cancelTrigger: () => void = () => undefined;
  /** Whether start() took the checkpoint's fence for this attempt (the next attempt of the run names it as previous). */
  began = false;
  /** Set by stop(): a start still awaiting (its remote actors' placement) must not go on to open sources and epochs. */
  private stopping = false;

  constructor(
    private readonly graph: ExecutionGraph,
    private readonly transport: Transport,
    readonly subjects: QuerySubjects,
    flow: FlowControl,
    events: RuntimeEvents,
    private readonly storage: CheckpointStorage | undefined,
    epochTimeoutMs: number,
    idleTimeoutMs: number,
    lateDataSubject: string | undefined,
    private readonly clock: Clock = systemClock,
    private readonly placement?: Placement,
    private readonly params?: RuntimeParams,
  ) {
    this.deadLetters = new DeadLetterOutput(transport, { ...(graph.deadLetterStream ?? defaultDeadLetterStream(graph.deadLetterSubject)), subject: graph.deadLetterSubject }, events.log);
    const environment: ActorEnvironment = { transport, subjects, flow, storage, idleTimeoutMs, lateDataSubject, multipleWatermarkPolicy: graph.multipleWatermarkPolicy ?? "min", clock, deadLetter: { subject: graph.deadLetterSubject, query: graph.queryName, output: this.deadLetters } };
    const refs = this.assignRefs();
    const inputsOf = (stageIndex: number) => graph.stages[stageIndex]?.inputs ?? (stageIndex > 0 ? [stageIndex - 1] : []);
    graph.stages.forEach((stage, stageIndex) => {
      const inputs = inputsOf(stageIndex);
      const upstream = inputs.flatMap((input) => refs[input] ?? []);
      const consumer = graph.stages.findIndex((_, candidate) => inputsOf(candidate).includes(stageIndex));
      const downstream = consumer >= 0 ? (refs[consumer] ?? []) : [];
      const watermarkGroups = watermarkGroupsOf(graph.stages, inputs, refs);
      for (let partition = 0; partition < stage.parallelism; partition++) {
        if (placement && !placement.hosts(`${stage.id}.p${partition}`)) continue;
        const wiring = { self: (refs[stageIndex] as ActorRef[])[partition] as ActorRef, partition, upstream, downstream, routing: routingOf(stage.exchange, downstream.length), watermarkGroups };
        this.actors.push(this.createActor(stage, wiring, environment, partition));
      }
    });
    const offsetOrders = new Map(this.sources.flatMap((source) => (source.offsetOrder ? [[source.name, source.offsetOrder] as const] : [])));
    // A source actor placed on a worker acks its offsets to this coordinator all the same: its order comes from a
    // reader made here and never opened.
    if (placement?.remote) {
      for (const stage of graph.stages) {
        if (stage.role !== "source" || !stage.source) continue;
        for (let partition = 0; partition < stage.parallelism; partition++) {
          const name = `${stage.id}.p${partition}`;
          const order = placement.hosts(name) ? undefined : stage.source.createReader(partition).offsetOrder;
          if (order) offsetOrders.set(name, order);
        }
      }
    }
    // The coordinator waits for every actor of the graph, wherever it runs.
    const everyActor = refs.flat().map((ref) => ref.name);
    const everySink = graph.stages.flatMap((stage, index) => (stage.role === "sink" ? (refs[index] ?? []).map((ref) => ref.name) : []));
    this.coordinator = new Coordinator(transport, subjects, everyActor, storage ? everySink : [], events, storage, epochTimeoutMs, offsetOrders, params);
  }

  /**
   * Subscribes every actor, makes sure the broker has the subscriptions, opens sources, starts epochs.
   * With `resume`, state, source offsets and epoch numbers continue from the last committed epoch.
   */
  async start(epochIntervalMs: number | undefined, resume?: RuntimeResume, previousAttempt?: AttemptId): Promise<void> {
    // This attempt takes the checkpoint's fence, and the uncommitted epochs' changes go, in one transaction: a writer
    // of an earlier attempt given up for lost (a paused worker) that resumes lands nothing (src/state/fence.ts).
    // Its sequence number orders the sinks' preparations by attempts of several runs (prepared-epochs.ts).
    const attemptSequence = this.storage ? await this.storage.beginAttempt(this.subjects.attempt, resume?.lastCommittedEpoch ?? -1, previousAttempt) : undefined;
    this.began = true;
    if (resume && this.storage) this.restore(this.storage, resume.lastCommittedEpoch, resume.offsets);
    const first = this.params?.begin(resume ? resume.lastCommittedEpoch + 1 : 0, resume?.params);
    if (first) for (const actor of this.actors) actor.useParams(first.values);
    for (const actor of this.actors) actor.start();
    this.coordinator.listen();
    // Committed letters a crash left unpublished go out now, and each commit's letters after it.
    if (this.storage) this.deadLetters.watchCommits(this.subjects.control, this.storage, this.graph.queryId);
    await this.transport.flush();
    await this.placement?.remote?.start(resume ? { lastCommittedEpoch: resume.lastCommittedEpoch, offsets: resume.offsets } : undefined, first, attemptSequence);
    this.refuseIfStopped();
    for (const sink of this.sinks) await sink.open(attemptSequence);
    for (const source of this.sources) await source.open();
    this.refuseIfStopped();
    // The trigger's interval runs on the query's clock (a test's ManualClock fires it on advance()).
    this.coordinator.startEpochs(undefined);
    if (epochIntervalMs !== undefined) this.cancelTrigger = this.clock.setInterval(() => this.coordinator.requestTriggeredEpoch(), epochIntervalMs);
    // A resumed query commits its first epoch at once (as Spark runs its first batch at once): what was replayed is
    // durable again without waiting a whole interval, and recovery is visibly complete.
    if (resume && epochIntervalMs !== undefined) this.coordinator.requestEpoch(false);
  }

  /**
   * On a worker: restores, subscribes and opens the actors this process hosts (sinks, then sources, which read at once:
   * the driver places them after every other actor listens); the driver's coordinator runs the epochs. The storage is
   * read afresh, since the last commit was written by another process. `attemptSequence`: the driver's, for the sinks.
   */
  async host(resume: HostedResume | undefined, params?: EpochParams, attemptSequence?: number): Promise<void> {
    if (resume && this.storage) {
      this.storage.refresh();
      this.restoreActors(this.storage, resume.lastCommittedEpoch, resume.offsets);
    }
    // The driver decided the first epoch's values (the ones recorded for it, on a replay); the barriers bring the rest.
    if (params) for (const actor of this.actors) actor.useParams(params.values);
    for (const actor of this.actors) actor.start();
    await this.transport.flush();
    for (const sink of this.sinks) await sink.open(attemptSequence);
    for (const source of this.sources) await source.open();
  }

  /** On a worker: stops the hosted actors and waits for their epoch writes; then throws the first failure. */
  async release(): Promise<void> {
    await this.stopActors();
    await this.deadLetters.stop();
  }

  /** A run stopped while it started (a rollback overtook it) must not start epochs: two runs would read the sources. */
  private refuseIfStopped(): void {
    if (this.stopping) throw new RillError("RUN_STOPPED", "internal", `a run of query ${this.graph.queryName} was stopped while it started`);
  }

  private restore(storage: CheckpointStorage, lastCommittedEpoch: number, offsets: Readonly<Record<string, unknown>>): void {
    this.coordinator.resumeAfter(lastCommittedEpoch, offsets);
    this.restoreActors(storage, lastCommittedEpoch, offsets);
  }

  private restoreActors(storage: CheckpointStorage, lastCommittedEpoch: number, offsets: Readonly<Record<string, unknown>>): void {
    for (const actor of this.actors) actor.startAt(lastCommittedEpoch + 1);
    for (const source of this.sources) {
      if (source.name in offsets) source.seek(offsets[source.name]);
      source.restore(storage);
    }
    for (const actor of this.actors) if (actor instanceof OperatorActor) actor.restore(storage, this.parallelismOf(actor.name));
    for (const sink of this.sinks) sink.restore(storage, lastCommittedEpoch);
  }

  private parallelismOf(actor: string): number {
    const stage = this.graph.stages.find((candidate) => actor.startsWith(`${candidate.id}.p`));
    return stage?.parallelism ?? 1;
  }

  /**
   * Stops every actor, even past one whose stop fails, and waits for the checkpoint writes they and the coordinator
   * had under way; then throws the first failure.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelTrigger();
    await this.coordinator.stop();
    let failure: { error: unknown } | undefined;
    try {
      await this.stopActors();
    } catch (error) {
      failure = { error };
    }
    // Remote actors stop too, and their epoch writes settle, before a rollback reads the checkpoint.
    try {
      await this.placement?.remote?.stop();
    } catch (error) {
      failure ??= { error };
    }
    // Letters still committed stay in the checkpoint; the next run publishes them with the same ids.
    await this.deadLetters.stop();
    if (failure) throw failure.error;
  }

  private async stopActors(): Promise<void> {
    let failure: { error: unknown } | undefined;
    for (const actor of this.actors) {
      try {
        await actor.stop();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }

  private assignRefs(): ActorRef[][] {
    let index = 0;
    return this.graph.stages.map((stage) => Array.from({ length: stage.parallelism }, (_, partition) => ({ index: index++, name: `${stage.id}.p${partition}` })));
  }

  private createActor(stage: StageSpec, wiring: ConstructorParameters<typeof OperatorActor>[0], environment: ActorEnvironment, partition: number): Actor {
    const operators = stage.createOperators(partition);
    if (stage.role === "source" && stage.source) {
      // Rows by position: the planner chose it only for a source with readers by position (positionalSourcePlanOf).
      const positionalChain = stage.createPositional?.(partition);
      const positionalReader = positionalChain && stage.source.createPositionalReader?.(partition);
      const actor = new SourceActor(wiring, environment, {
        reader: positionalChain && positionalReader ? { positional: positionalReader, chain: positionalChain } : stage.source.createReader(partition),
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
      const actor = new SinkActor(wiring, environment, { writer: stage.sink.createWriter(), outputMode: this.graph.outputMode, microBatch: this.graph.microBatch, queryName: this.graph.queryName, queryId: this.graph.queryId, orderReproducible: orderReproducible(this.graph.stages), resultOrder: this.graph.resultOrder });
      this.sinks.push(actor);
      return actor;
    }
    return new OperatorActor(wiring, environment, operators, stage.createPositional?.(partition));
  }
}

/**
 * The inputs whose watermarks count, grouped by the stage they come from: an input of a union without a withWatermark
 * sends none and must not hold the others back (Spark's global watermark ignores it too). Undefined: every input, one group.
 */
function watermarkGroupsOf(stages: readonly StageSpec[], inputs: readonly number[], refs: readonly ActorRef[][]): number[][] | undefined {
  if (inputs.length < 2) return undefined;
  const carrying = inputs.filter((input) => stages[input]?.carriesWatermark);
  if (carrying.length === 0) return undefined;
  return carrying.map((input) => (refs[input] ?? []).map((ref) => ref.index));
}

function routingOf(exchange: Exchange, receivers: number): Routing {
  if (exchange.kind === "hash" && receivers > 1) return { kind: "hash", partitionOf: partitionerOf(exchange.columns, receivers) };
  return { kind: "forward" };
}

/**
 * A sink's row ids count rows per sender, so they name the same rows on a replay only when each sender's order is
 * what a replay reproduces: every actor before the sink reads one sender through a forward exchange. A hash shuffle
 * (groupBy, dropDuplicates, group state) or a stage merging several inputs interleaves senders in arrival order.
 */
export function orderReproducible(stages: readonly StageSpec[]): boolean {
  return stages.every((stage) => stage.exchange.kind !== "hash" && (stage.role === "sink" || (stage.inputs?.length ?? 1) <= 1));
}

/** Rill's dead-letter stream when the query names none: RILL_DEADLETTERS, capturing the subject (or every query's, for the default subject). */
export function defaultDeadLetterStream(subject: string): Omit<DeadLetterSettings, "subject"> {
  const tokens = subject.split(".");
  const everyQuery = tokens.length === 3 && tokens[2] === "deadletter" ? `${tokens[0]}.*.deadletter` : subject;
  return { stream: "RILL_DEADLETTERS", streamSubjects: [everyQuery] };
}
