// The actor: one mailbox, one message at a time, barriers aligned across inputs, outputs flushed at the end of each turn.
import { nowMs, type Clock } from "../core/clock.ts";
import { RecordError, RillError, TransportError } from "../core/errors.ts";
import { FRAME_BARRIER, FRAME_CREDIT, FRAME_DATA, FRAME_WATERMARK, type ChannelFrame, type DataFrame, type Frame, type PositionalDataFrame } from "../core/frame.ts";
import { activeParams, type ActiveParamValues, type EpochParams } from "../core/param-values.ts";
import type { ChainPosition, Operator, OperatorMetrics } from "../operators/operator.ts";
import type { PositionalRow, Row } from "../core/types.ts";
import type { CheckpointStorage } from "../state/lmdb-storage.ts";
import { InputChannel, OutputChannel, type FlowControl } from "./channel.ts";
import { decodeFrame, isPositional } from "./codec.ts";
import { positionalPartitionerOf } from "../core/keys.ts";
import { toNamedRow } from "../operators/positional-operator.ts";
import { hopTrace, stageOf } from "./hop-trace.ts";
import { deadLetterBytes, type DeadLetterFields } from "./dead-letter.ts";
import { LETTERS_KEY_GROUP, LETTERS_STATE_ID, addressLetters, letterKey } from "../deadletters/protocol.ts";
import type { DeadLetterOutput } from "../deadletters/output.ts";
import { emptyStats, encodeControl, type ActorEpochStats, type ControlMessage } from "./control.ts";
import type { QuerySubjects } from "./subjects.ts";
import type { Subscription, Transport } from "./transport.ts";

export interface ActorRef {
  readonly index: number;
  readonly name: string;
}

/** How a row chooses its receiver among the downstream actors. */
export type Routing =
  | { readonly kind: "forward" }
  | { readonly kind: "hash"; readonly partitionOf: (row: Row) => number };

export interface ActorWiring {
  readonly self: ActorRef;
  readonly partition: number;
  readonly upstream: readonly ActorRef[];
  readonly downstream: readonly ActorRef[];
  readonly routing: Routing;
  /**
   * The senders whose watermarks count, grouped by input stage (a union's inputs): the minimum within a group, then
   * the minimum (or maximum, by policy) across groups. Undefined: all senders, one group.
   */
  readonly watermarkGroups?: ReadonlyArray<readonly number[]>;
}

export interface ActorEnvironment {
  readonly transport: Transport;
  readonly subjects: QuerySubjects;
  readonly flow: FlowControl;
  /** Present when the query has a checkpoint location: state changes are written here at each barrier. */
  readonly storage: CheckpointStorage | undefined;
  /** An input that sent nothing for this long stops holding the watermark back (Flink's idleness). */
  readonly idleTimeoutMs: number;
  /** Where records older than the watermark go, besides being counted. */
  readonly lateDataSubject: string | undefined;
  /** How the watermarks of a union's inputs combine (spark.sql.streaming.multipleWatermarkPolicy); min when absent. */
  readonly multipleWatermarkPolicy?: "min" | "max";
  /** Processing time for timeouts (the system clock, or a test's ManualClock). */
  readonly clock: Clock;
  /** Where a row too large for the broker goes (it cannot travel to the next actor); without one, it fails the query. */
  readonly deadLetter?: { readonly subject: string; readonly query: string; readonly output?: DeadLetterOutput };
}

const TASK = -1;
/**
 * An output watermark that rose goes out at most this often (ms), and before every barrier: a watermark frame per
 * channel per turn doubled the messages of an event-time query (ARCHITECTURE.md, decision log: watermark frames).
 */
export const WATERMARK_INTERVAL_MS = 5;
/** How long a stop waits for a turn that is inside an await (a sink commit, a write) before it goes on. */
const STOP_WAIT_MS = 5000;

/** Work queued behind the frames already in the mailbox (a sink's commit), run in the actor's turn. */
interface LocalTask {
  readonly kind: typeof TASK;
  readonly sender: -1;
  readonly run: () => void | Promise<void>;
}

type MailboxItem = ChannelFrame | PositionalDataFrame | LocalTask;

export abstract class Actor {
  protected readonly outputs: OutputChannel[];
  protected stats: ActorEpochStats = emptyStats();
  /** Ingest time of the oldest row being processed; output rows inherit it. */
  protected since = Number.POSITIVE_INFINITY;
  /** Ingest time of the newest row being processed. */
  protected until = Number.NEGATIVE_INFINITY;
  protected epoch = 0;
  /** Where a row is in this actor's operator chain, so a bad record names the operator that refused it. */
  protected readonly chainPosition: ChainPosition = { at: -1 };
  /** Dead letters of the open epoch, held until its barrier writes them with the epoch (src/deadletters/protocol.ts). */
  private heldLetters: Uint8Array[] = [];

  /** On a restart from a checkpoint: the first epoch this actor will see. */
  startAt(epoch: number): void {
    this.epoch = epoch;
  }

  /** The parameter values of the epoch being processed (src/params); param() reads them through activeParams. */
  protected params: ActiveParamValues = Object.freeze({});
  /** The values of the next epoch, from the barrier that ends this one: in force once the barrier has moved on. */
  protected nextParams: EpochParams | undefined;

  /** Before start(): the parameter values of the first epoch this actor will see. */
  useParams(values: ActiveParamValues): void {
    this.params = values;
  }
  /** Sends a row on: to the one receiver, or to the receiver its key hashes to. */
  protected readonly emit: (row: Row) => void;
  private readonly inputs = new Map<number, InputChannel>();
  private readonly subscriptions: Subscription[] = [];
  private mailbox: MailboxItem[] = [];
  private mailboxHead = 0;
  private readonly held = new Map<number, MailboxItem[]>();
  private readonly barrierFrom = new Set<number>();
  private turnSince = Number.POSITIVE_INFINITY;
  private turnUntil = Number.NEGATIVE_INFINITY;
  /** Event time: the last watermark of each input, when each input last sent anything, and what this actor last sent on. */
  private readonly inputWatermarks = new Map<number, number>();
  private readonly lastHeard = new Map<number, number>();
  private inputWatermark = Number.NEGATIVE_INFINITY;
  private outputWatermark = Number.NEGATIVE_INFINITY;
  /** The output watermark last put on the channels, when, and the timer that sends one held back by the interval. */
  private sentWatermark = Number.NEGATIVE_INFINITY;
  private watermarkSentAt = Number.NEGATIVE_INFINITY;
  private watermarkTimer: NodeJS.Timeout | undefined;
  private readonly operatorWatermarks: number[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  /** The final barrier of the run (once, availableNow) came from every input: nothing more will arrive. */
  private inputsDone = false;
  /** Some operator here makes or uses watermarks (known once the subclass has its operators). */
  private eventTimeKnown: boolean | undefined;

  private get hasEventTime(): boolean {
    this.eventTimeKnown ??= this.chainedOperators().some((operator) => operator.onWatermark !== undefined || operator.outputWatermark !== undefined);
    return this.eventTimeKnown;
  }
  private scheduled = false;
  private running = false;
  protected blocked = false;
  protected stopped = false;
  /** Epoch writes under way (each settles to its ack or failure); `stop()` waits for them. */
  private readonly pendingWrites = new Set<Promise<void>>();
  private turnUnderWay: Promise<void> | undefined;

  constructor(
    protected readonly wiring: ActorWiring,
    protected readonly environment: ActorEnvironment,
  ) {
    const { transport, subjects, flow } = environment;
    this.outputs = wiring.downstream.map((receiver) => new OutputChannel(transport, subjects.input(receiver.name), wiring.self.index, flow, (row, bytes) => this.oversizedRow(row, bytes)));
    for (const sender of wiring.upstream) {
      const describe = `${sender.name} -> ${wiring.self.name}`;
      this.inputs.set(sender.index, new InputChannel(transport, sender.index, subjects.credit(sender.name), wiring.self.index, flow, describe));
    }
    this.emit = this.buildEmit();
    if (hopTrace) {
      this.traceStage = stageOf(wiring.self.name);
      wiring.downstream.forEach((receiver, position) => ((this.outputs[position] as OutputChannel).traceLabel = `${this.traceStage}->${stageOf(receiver.name)}`));
    }
  }

  /** The stage's name in hop traces (RILL_TRACE_HOPS), and the rows of the turn under way. */
  protected traceStage = "";
  private turnRows = 0;

  get name(): string {
    return this.wiring.self.name;
  }

  /** Subscribes to the actor's subjects; the runtime flushes the transport before any data flows. */
  start(): void {
    const { transport, subjects } = this.environment;
    // An input that never sends anything is idle after the timeout too; barriers do not count as hearing from it.
    const now = Date.now();
    for (const sender of this.inputs.keys()) this.lastHeard.set(sender, now);
    if (this.inputs.size > 0) this.subscriptions.push(transport.subscribe(subjects.input(this.name), (payload) => this.receive(payload)));
    if (this.outputs.length > 0) this.subscriptions.push(transport.subscribe(subjects.credit(this.name), (payload) => this.receiveCredit(payload)));
  }

  /**
   * Stops processing, then waits for the epoch writes still under way: a rollback that read the checkpoint before a
   * late write landed would keep that write's changes as if the new run had made them.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.idleTimer);
    clearTimeout(this.watermarkTimer);
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions.length = 0;
    // A turn may be inside an await (a sink's commit, a write): let it finish, so that nothing of this run still acts
    // on sinks or storage once the next run recovers. Bounded, because a turn can wait on a broker that is gone.
    const turn = this.turnUnderWay;
    if (turn) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([turn, new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
      clearTimeout(timer);
    }
    await Promise.allSettled(this.pendingWrites);
  }

  /** Rows of one data frame, already checked; subclasses run them through their operators. */
  protected abstract processRows(rows: Row[], sender: number): void | Promise<void>;

  /** How this actor reads a frame's bytes: named rows, unless it runs rows by position (OperatorActor). */
  protected decode(payload: Uint8Array): Frame | PositionalDataFrame {
    return decodeFrame(payload);
  }

  /** Rows of a data frame decoded by position (only an actor whose decode() gives them); named here by default. */
  protected processPositionalRows(frame: PositionalDataFrame): void | Promise<void> {
    return this.processRows(frame.rows.map((row) => toNamedRow(frame.columns, row)), frame.sender);
  }

  /**
   * Sends a row by position on, its values in the order of `columns` (the same array for every row), as `emit` does a
   * named row: to the one receiver, or to the receiver its key (at `keyIndexes` in the row) hashes to.
   */
  protected buildPositionalEmit(columns: readonly string[], keyIndexes: readonly number[] | undefined): (row: PositionalRow) => void {
    const outputs = this.outputs;
    const stats = () => this.stats;
    if (outputs.length === 0) return () => undefined;
    if (this.wiring.routing.kind === "hash" && outputs.length > 1) {
      if (keyIndexes === undefined) throw new RillError("INTERNAL", "internal", `${this.name}: a hash exchange by position needs its key columns' places`);
      const partitionOf = positionalPartitionerOf(keyIndexes, outputs.length);
      return (row) => {
        (outputs[partitionOf(row)] as OutputChannel).pushPositional(row, columns, this.since, this.until);
        stats().rowsOut++;
      };
    }
    const target = outputs[this.wiring.partition % outputs.length] as OutputChannel;
    return (row) => {
      target.pushPositional(row, columns, this.since, this.until);
      stats().rowsOut++;
    };
  }

  /** End of a turn, before outputs flush: emit what operators coalesced. */
  protected flushOperators(): void {}

  /** The operators of this actor, in chain order (for watermarks). */
  protected chainedOperators(): readonly Operator[] {
    return [];
  }

  /** The watermark this actor received (min over its live inputs), for progress. */
  get watermark(): number {
    return this.inputWatermark;
  }

  /** On a restart: the input watermark as of the last committed epoch. */
  restoreWatermark(watermark: number): void {
    this.inputWatermark = watermark;
  }

  /**
   * On a restart, once the operators hold their restored state: every operator sees the watermark it had at the last
   * committed epoch before the first row, so a row that was late before the restart is late after it too.
   */
  protected primeWatermark(): void {
    this.watermarkOperators(this.inputWatermark);
  }

  /**
   * Moves event time on: the input watermark is the minimum over the inputs that are not idle (never moving back;
   * when all are idle, the highest any reached);
   * each operator gets the watermark of its own input, then the actor's output watermark goes on every channel: at once
   * when `beforeBarrier` (the epoch ends with the windows it closed, decision 14), else within WATERMARK_INTERVAL_MS.
   */
  protected advanceWatermark(beforeBarrier = false): void {
    if (this.inputWatermarks.size === 0 && !this.hasEventTime) return;
    if (this.inputs.size > 0) {
      const combined = this.combineInputWatermarks(Date.now());
      if (combined > this.inputWatermark) this.inputWatermark = combined;
    }
    const watermark = this.watermarkOperators(this.inputWatermark);
    if (watermark > this.outputWatermark && Number.isFinite(watermark)) this.outputWatermark = watermark;
    this.sendWatermark(beforeBarrier);
  }

  /**
   * Puts a risen output watermark on every channel, after the rows queued there: now when `now` or when the last one
   * left WATERMARK_INTERVAL_MS ago, else from a timer at the end of the interval. Holding it back is safe: a watermark
   * only ever arrives later than it could have (rows count as late less often, windows close a little later).
   */
  private sendWatermark(now: boolean): void {
    if (this.outputWatermark <= this.sentWatermark || this.outputs.length === 0) return;
    const at = nowMs();
    const wait = this.watermarkSentAt + WATERMARK_INTERVAL_MS - at;
    if (!now && wait > 0) {
      this.watermarkTimer ??= setTimeout(this.sendHeldWatermark, Math.ceil(wait));
      return;
    }
    clearTimeout(this.watermarkTimer);
    this.watermarkTimer = undefined;
    this.sentWatermark = this.outputWatermark;
    this.watermarkSentAt = at;
    for (const output of this.outputs) output.watermark(this.outputWatermark);
  }

  /** The interval's timer: the held watermark leaves, in a turn of its own when a turn is under way. */
  private readonly sendHeldWatermark = (): void => {
    this.watermarkTimer = undefined;
    if (this.stopped) return;
    if (this.running) return this.enqueueTask(() => this.sendWatermark(true));
    this.sendWatermark(true);
    this.flushOutputs();
  };

  /**
   * The minimum over the live inputs of each group, then the policy across groups; a group whose inputs are all idle
   * does not count. After the final barrier of a run (once, availableNow), an input that never sent a watermark (a
   * source partition without rows) holds nothing back once another input of its group has one: every row of the run
   * is in, and Spark's watermark is the latest event time over all partitions.
   * Every input idle: as Flink does, the highest watermark any input reached holds (nothing older is coming).
   */
  /** Without watermarkGroups: every input in one group (the inputs are fixed at construction), built once, not a turn. */
  private allInputsGroup: ReadonlyArray<readonly number[]> | undefined;

  private combineInputWatermarks(now: number): number {
    const groups = this.wiring.watermarkGroups ?? (this.allInputsGroup ??= [[...this.inputs.keys()]]);
    const useMax = this.environment.multipleWatermarkPolicy === "max";
    let combined: number | undefined;
    for (const group of groups) {
      let minimum = Number.POSITIVE_INFINITY;
      let live = 0;
      for (const sender of group) {
        if (now - (this.lastHeard.get(sender) ?? now) > this.environment.idleTimeoutMs) continue;
        live++;
        const watermark = this.inputWatermarks.get(sender);
        if (watermark !== undefined) minimum = Math.min(minimum, watermark);
        else if (!this.inputsDone) minimum = Number.NEGATIVE_INFINITY;
      }
      if (live === 0) continue;
      if (minimum === Number.POSITIVE_INFINITY) minimum = Number.NEGATIVE_INFINITY;
      combined = combined === undefined ? minimum : useMax ? Math.max(combined, minimum) : Math.min(combined, minimum);
    }
    return combined ?? Math.max(...this.inputWatermarks.values(), Number.NEGATIVE_INFINITY);
  }

  /** Hands the watermark down the operator chain (each operator sees its own input's); returns the chain's output watermark. */
  private watermarkOperators(input: number): number {
    let watermark = input;
    const operators = this.chainedOperators();
    for (let index = 0; index < operators.length; index++) {
      const operator = operators[index] as Operator;
      if (operator.onWatermark && watermark > (this.operatorWatermarks[index] ?? Number.NEGATIVE_INFINITY)) {
        this.operatorWatermarks[index] = watermark;
        operator.onWatermark(watermark);
      }
      if (operator.outputWatermark) watermark = operator.outputWatermark(watermark);
    }
    return watermark;
  }

  /** All inputs delivered the barrier of `epoch`: what must happen before the barrier moves on (a sink's prepare). */
  protected onBarrier(_epoch: number, _final: boolean): void | Promise<void> {}

  /**
   * Starts writing the epoch's state changes (taken synchronously, now). The barrier moves on and the actor goes on
   * processing while the write runs; the ack waits for it, so an epoch never commits before its state is durable.
   */
  protected persistEpoch(_epoch: number): Promise<void> | undefined {
    return undefined;
  }

  protected schedule(): void {
    if (this.scheduled || this.running || this.stopped) return;
    this.scheduled = true;
    queueMicrotask(this.startTurn);
  }

  /**
   * One function for every turn, not a closure a turn and a `finally` on each turn's promise (a closure, a promise and
   * its reactions, and a turn is a frame or two at 10,000 rows/s). A turn that ends without awaiting is over when
   * turn() returns; one that awaits is kept for stop() until its own end clears it.
   */
  private readonly startTurn = (): void => {
    const turn = this.turn();
    if (this.running) this.turnUnderWay = turn;
  };

  protected report(message: ControlMessage): void {
    this.environment.transport.publish(this.environment.subjects.coordinator, encodeControl(message));
  }

  /** A single row whose frame exceeds the broker's payload limit cannot reach the next actor: it is dead-lettered, counted. */
  private oversizedRow(row: Row, bytes: number): void {
    const reason = `record larger than the broker's payload limit (${bytes} bytes encoded, limit ${this.environment.transport.maxPayload}), sent by ${this.name}`;
    const target = this.environment.deadLetter;
    if (!target) throw new RecordError(`A ${reason}; it cannot travel to the next actor.`);
    this.sendToDeadLetter(target.subject, { query: target.query, source: this.name, reason }, row);
  }

  /**
   * Counts a dead letter in the open epoch. With a checkpoint it is held, written with the epoch at its barrier and
   * published after the epoch's commit (a replay of an epoch that did not commit publishes nothing twice); without one,
   * it is published now. Either way into the dead-letter stream where there is JetStream (src/deadletters/output.ts).
   */
  protected sendToDeadLetter(subject: string, fields: DeadLetterFields, raw: unknown): void {
    const { transport, storage } = this.environment;
    this.stats.deadLetters++;
    const payload = deadLetterBytes(fields, raw, transport.maxPayload);
    const output = this.environment.deadLetter?.output;
    if (storage && output) this.heldLetters.push(payload);
    else if (output && output.subject === subject) output.publishNow(payload);
    else transport.publish(subject, payload);
  }

  /** The held letters of `epoch`, written as state changes of the epoch next to the actor's own (`persisted`). */
  private persistLetters(epoch: number, persisted: Promise<void> | undefined): Promise<void> | undefined {
    const storage = this.environment.storage;
    if (this.heldLetters.length === 0 || !storage) return persisted;
    const changes = addressLetters(this.name, epoch, this.heldLetters).map((letter) => ({ stateId: LETTERS_STATE_ID, keyGroup: LETTERS_KEY_GROUP, key: letterKey(letter), value: letter.payload }));
    this.heldLetters = [];
    const written = storage.writeChanges(epoch, changes, undefined, this.environment.subjects.attempt);
    return persisted ? Promise.all([persisted, written]).then(() => undefined) : written;
  }

  /**
   * A record an operator refused (a RecordError, such as an invalid regular expression from the record) goes to the
   * dead letter with the operator, the reason and the epoch, and is counted in the epoch's progress; the query goes on.
   * Like a source's dead letters it belongs to the epoch the actor is in, and is published after that epoch commits;
   * only committed epochs count it (their acks make progress).
   */
  protected readonly rejectRecord = (row: Row, operator: Operator | undefined, error: RecordError): void => {
    const target = this.environment.deadLetter;
    if (!target) throw error;
    this.sendToDeadLetter(target.subject, { query: target.query, source: this.name, operator: operator?.id ?? this.name, epoch: String(this.epoch), reason: error.message }, row);
  };

  protected fail(error: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    const code = error instanceof RillError ? error.code : "INTERNAL";
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.report({ type: "failed", actor: this.name, error: text, code });
  }

  /** Sends queued output rows while credit lasts; marks the actor blocked when some must wait. */
  protected flushOutputs(): void {
    let blocked = false;
    for (const output of this.outputs) if (!output.flush(this.epoch)) blocked = true;
    this.blocked = blocked;
  }

  protected pendingOutputRows(): number {
    let total = 0;
    for (const output of this.outputs) total += output.pendingRows;
    return total;
  }

  /** Forwards a barrier on every output and acks the epoch to the coordinator. */
  protected completeEpoch(epoch: number, final: boolean, extra: Partial<Pick<ControlMessage & { type: "ack" }, "sourceOffset" | "dataLeft">> = {}, persisted?: Promise<void>): void {
    const nextParams = this.nextParams;
    for (const output of this.outputs) output.barrier(epoch, final, nextParams);
    this.flushOutputs();
    if (nextParams) {
      // Never within an epoch: the next epoch's rows are the first to see the new values.
      this.params = nextParams.values;
      this.nextParams = undefined;
      activeParams.values = this.params;
    }
    const stats = this.collectStats();
    const durable = this.persistLetters(epoch, persisted);
    this.epoch = epoch + 1;
    const ack = () => this.report({ type: "ack", actor: this.name, epoch, stats, ...extra });
    if (!durable) return ack();
    const write = durable.then(ack, (error: unknown) => this.fail(error));
    this.pendingWrites.add(write);
    void write.finally(() => this.pendingWrites.delete(write));
  }

  protected collectStats(): ActorEpochStats {
    const stats = this.stats;
    if (Number.isFinite(this.inputWatermark)) stats.watermark = this.inputWatermark;
    for (const operator of this.chainedOperators()) if (operator.takeMetrics) addMetrics(stats, operator.takeMetrics());
    for (const output of this.outputs) {
      stats.framesOut += output.framesSent;
      stats.creditWaits += output.creditWaits;
      output.framesSent = 0;
      output.creditWaits = 0;
    }
    this.stats = emptyStats();
    return stats;
  }

  private buildEmit(): (row: Row) => void {
    const outputs = this.outputs;
    const stats = () => this.stats;
    if (outputs.length === 0) return () => undefined;
    const routing = this.wiring.routing;
    if (routing.kind === "hash" && outputs.length > 1) {
      const partitionOf = routing.partitionOf;
      return (row) => {
        (outputs[partitionOf(row)] as OutputChannel).push(row, this.since, this.until);
        stats().rowsOut++;
      };
    }
    const target = outputs[this.wiring.partition % outputs.length] as OutputChannel;
    return (row) => {
      target.push(row, this.since, this.until);
      stats().rowsOut++;
    };
  }

  /**
   * Bytes that do not decode, or a frame from no sender of this actor, are rejected (thrown to the transport, which
   * reports them) and change nothing. A frame from a known sender out of sequence fails the actor: a frame was lost.
   */
  private receive(payload: Uint8Array): void {
    if (this.stopped) return;
    const frame = this.decode(payload);
    if (hopTrace && typeof frame === "object" && frame !== null && frame.kind === FRAME_DATA) hopTrace.record(`${this.traceStage}: decoded`, frame.since, frame.until, frame.rows.length);
    const input = typeof frame === "object" && frame !== null && frame.kind !== FRAME_CREDIT ? this.inputs.get(frame.sender) : undefined;
    if (!input || frame.kind === FRAME_CREDIT) throw new TransportError(`${this.name} rejected a frame that is from none of its senders.`);
    try {
      input.check(frame);
      if (frame.kind !== FRAME_BARRIER) this.lastHeard.set(frame.sender, Date.now());
      this.mailbox.push(frame);
      this.schedule();
    } catch (error) {
      this.fail(error);
    }
  }

  /** A credit frame that is not one, or from no receiver of this actor, is rejected and changes nothing. */
  private receiveCredit(payload: Uint8Array): void {
    if (this.stopped) return;
    const frame = decodeFrame(payload);
    if (typeof frame !== "object" || frame === null || frame.kind !== FRAME_CREDIT) throw new TransportError(`${this.name} rejected a non-credit frame on its credit subject.`);
    const receiverPosition = this.wiring.downstream.findIndex((receiver) => receiver.index === frame.receiver);
    const output = this.outputs[receiverPosition];
    if (!output || !Number.isSafeInteger(frame.credits) || frame.credits <= 0) throw new TransportError(`${this.name} rejected a credit frame from no receiver of its own.`);
    output.grant(frame.credits);
    if (this.blocked) {
      this.flushOutputs();
      if (!this.blocked) this.resume();
    }
  }

  /** Credit arrived and outputs drained: go on with the mailbox (sources override to pump). */
  protected resume(): void {
    this.schedule();
  }

  private async turn(): Promise<void> {
    this.scheduled = false;
    if (this.stopped) return;
    this.running = true;
    try {
      while (!this.blocked && !this.stopped && this.mailboxHead < this.mailbox.length) {
        const frame = this.mailbox[this.mailboxHead++] as MailboxItem;
        const pending = this.dispatch(frame);
        if (pending) await pending;
        if (this.pendingOutputRows() >= this.environment.flow.maxFrameRows) this.flushOutputs();
      }
      if (this.mailboxHead >= this.mailbox.length) {
        this.mailbox = [];
        this.mailboxHead = 0;
      }
      this.endTurn();
    } catch (error) {
      this.fail(error);
    } finally {
      this.running = false;
      this.turnUnderWay = undefined;
    }
    if (!this.blocked && this.mailboxHead < this.mailbox.length) this.schedule();
  }

  private endTurn(beforeBarrier = false): void {
    this.since = this.turnSince;
    this.until = this.turnUntil;
    if (hopTrace && Number.isFinite(this.turnSince)) hopTrace.record(`${this.traceStage}: end of turn`, this.turnSince, this.turnUntil, this.turnRows);
    this.turnRows = 0;
    this.flushOperators();
    this.advanceWatermark(beforeBarrier);
    this.turnSince = Number.POSITIVE_INFINITY;
    this.turnUntil = Number.NEGATIVE_INFINITY;
    this.flushOutputs();
  }

  /** With several inputs, time must move even when one falls silent: look again at every idle period. */
  private startIdleWatch(): void {
    if (this.idleTimer || this.inputs.size < 2 || this.stopped) return;
    this.idleTimer = setInterval(() => this.enqueueTask(() => this.advanceWatermark()), Math.max(50, this.environment.idleTimeoutMs / 2));
    this.idleTimer.unref();
  }

  /** Runs `run` in the actor's turn, after the frames already queued. */
  protected enqueueTask(run: () => void | Promise<void>): void {
    if (this.stopped) return;
    this.mailbox.push({ kind: TASK, sender: -1, run });
    this.schedule();
  }

  private dispatch(frame: MailboxItem): void | Promise<void> {
    activeParams.values = this.params;
    if (frame.kind === TASK) return frame.run();
    if (this.barrierFrom.has(frame.sender)) {
      const queue = this.held.get(frame.sender);
      if (queue) queue.push(frame);
      else this.held.set(frame.sender, [frame]);
      return;
    }
    if (frame.kind === FRAME_DATA) return this.dispatchData(frame);
    if (frame.kind === FRAME_WATERMARK) {
      this.inputWatermarks.set(frame.sender, frame.watermark);
      this.startIdleWatch();
      return;
    }
    if (frame.kind === FRAME_BARRIER) {
      // Every input carries the same values: the coordinator chose them once for the epoch.
      if (frame.params) this.nextParams = frame.params;
      this.barrierFrom.add(frame.sender);
      if (this.barrierFrom.size === this.inputs.size) return this.alignedBarrier(frame.epoch, frame.final);
    }
  }

  private dispatchData(frame: DataFrame | PositionalDataFrame): void | Promise<void> {
    this.stats.framesIn++;
    this.stats.rowsIn += frame.rows.length;
    this.since = frame.since;
    this.until = frame.until;
    if (frame.since < this.turnSince) this.turnSince = frame.since;
    if (frame.until > this.turnUntil) this.turnUntil = frame.until;
    (this.inputs.get(frame.sender) as InputChannel).consume(frame.rows.length);
    if (hopTrace) {
      hopTrace.record(`${this.traceStage}: turn takes the frame`, frame.since, frame.until, frame.rows.length);
      this.turnRows += frame.rows.length;
    }
    return isPositional(frame) ? this.processPositionalRows(frame) : this.processRows(frame.rows, frame.sender);
  }

  private async alignedBarrier(epoch: number, final: boolean): Promise<void> {
    if (final) this.inputsDone = true;
    this.endTurn(true);
    await this.onBarrier(epoch, final);
    this.completeEpoch(epoch, final, {}, this.persistEpoch(epoch));
    this.barrierFrom.clear();
    if (this.held.size > 0) {
      const replay: MailboxItem[] = [];
      for (const queue of this.held.values()) replay.push(...queue);
      this.held.clear();
      this.mailbox = [...replay, ...this.mailbox.slice(this.mailboxHead)];
      this.mailboxHead = 0;
    }
  }

  protected latencyOf(since: number): number {
    return nowMs() - since;
  }
}

/** Adds an operator's figures to the actor's epoch stats. */
function addMetrics(stats: ActorEpochStats, metrics: OperatorMetrics): void {
  stats.droppedDuplicates += metrics.droppedDuplicates ?? 0;
  if (metrics.eventTimeCount === undefined || metrics.eventTimeCount === 0) return;
  stats.eventTimeCount += metrics.eventTimeCount;
  stats.eventTimeSum += metrics.eventTimeSum ?? 0;
  stats.eventTimeMin = Math.min(stats.eventTimeMin ?? Number.POSITIVE_INFINITY, metrics.eventTimeMin ?? Number.POSITIVE_INFINITY);
  stats.eventTimeMax = Math.max(stats.eventTimeMax ?? Number.NEGATIVE_INFINITY, metrics.eventTimeMax ?? Number.NEGATIVE_INFINITY);
}
