// A source actor: polls its reader while credit lasts, runs the chained operators, and places barriers exactly.
import { nowMs } from "../core/clock.ts";
import { ConfigError } from "../core/errors.ts";
import type { OffsetOrder } from "../core/offsets.ts";
import { activeParams, type EpochParams } from "../core/param-values.ts";
import type { RecordError } from "../core/errors.ts";
import type { PositionalRow } from "../core/types.ts";
import type { PositionalSourceReader, ReadLimit, SourceReader, SourceReaderOf } from "../connectors/sources/source.ts";
import type { CheckpointStorage } from "../state/lmdb-storage.ts";
import { chain, type Operator } from "../operators/operator.ts";
import { chainPositional, toNamedRow } from "../operators/positional-operator.ts";
import type { PositionalChain } from "../plan/positional-rows.ts";
import { Actor, type ActorEnvironment, type ActorWiring } from "./actor.ts";
import { decodeControl } from "./control.ts";
import { hopTrace } from "./hop-trace.ts";
import { runPositionalRows, runRows } from "./record-errors.ts";
import type { Subscription } from "./transport.ts";

interface BarrierRequest {
  readonly epoch: number;
  readonly final: boolean;
  /** The barrier goes out once this many rows in total have been polled. */
  readonly afterRows: number;
  /** The read limit held back data that existed when the barrier was asked for: another epoch will read it. */
  readonly dataLeft: boolean;
  /** The parameter values of the epoch after this one. */
  readonly params: EpochParams | undefined;
}

/** Rows taken in one poll, ready to run through the chain. */
interface PolledRows {
  readonly count: number;
  readonly since: number;
  readonly until: number;
  run(): void;
}

export interface SourceActorOptions {
  /**
   * The partition's reader: named rows, or (rows by position, src/plan/positional-rows.ts, source stages) arrays in
   * the source schema's order with the chain that runs over them; its frames then carry the chain's output columns.
   */
  readonly reader: SourceReader | { readonly positional: PositionalSourceReader; readonly chain: PositionalChain };
  readonly operators: readonly Operator[];
  /** Micro-batch mode: rows leave only when a barrier (a trigger) asks for them. */
  readonly microBatch: boolean;
  readonly deadLetterSubject: string;
  readonly queryName: string;
  readonly numPartitions: number;
}

export class SourceActor extends Actor {
  /** The reader in use: the named one, or the positional one when the stage runs by position. */
  private readonly reader: SourceReaderOf<unknown>;
  private readonly operators: readonly Operator[];
  /** Polls up to `max` rows and binds them to the chain (named or by position). */
  private readonly pollRows: (max: number) => PolledRows | undefined;
  private readonly requests: BarrierRequest[] = [];
  private requestChain: Promise<void> = Promise.resolve();
  private polledRows = 0;
  /** A final barrier has left: the run ends there, so nothing more is read (a graceful stop's last epoch holds every row read). */
  private finished = false;
  private pumpScheduled = false;
  private controlSubscription: Subscription | undefined;
  /**
   * Settles when the reader is open. A barrier asked for before (the control subscription comes first, and a rollback's
   * new run is asked for epochs while it opens its sources) waits for it: placed at once, it would follow the rows of
   * a reader that had not looked at its input yet, and processAllAvailable() would return with the input unread.
   */
  private readonly opened: Promise<void>;
  private markOpened: () => void = () => undefined;

  constructor(wiring: ActorWiring, environment: ActorEnvironment, private readonly options: SourceActorOptions) {
    super(wiring, environment);
    this.operators = options.operators;
    const source = options.reader;
    if ("positional" in source) {
      const positional = source;
      const reader = positional.positional;
      const process = chainPositional(positional.chain.operators, this.buildPositionalEmit(positional.chain.outputColumns, positional.chain.exchangeIndexes), this.chainPosition, 0, options.operators);
      const columns = positional.chain.inputColumns;
      // A bad record by position goes to the dead letter as a named row of the source's columns, as the named path sends it.
      const reject = (row: PositionalRow, operator: Operator | undefined, error: RecordError): void => this.rejectRecord(toNamedRow(columns, row), operator, error);
      this.reader = reader;
      this.pollRows = (max) => {
        const batch = reader.poll(max);
        return batch && { count: batch.rows.length, since: batch.since, until: batch.until, run: () => runPositionalRows(batch.rows, process, this.chainPosition, this.operators, reject) };
      };
    } else {
      const reader = source;
      const process = chain(options.operators, this.emit, this.chainPosition);
      this.reader = reader;
      this.pollRows = (max) => {
        const batch = reader.poll(max);
        return batch && { count: batch.rows.length, since: batch.since, until: batch.until, run: () => runRows(batch.rows, process, this.chainPosition, this.operators, this.rejectRecord) };
      };
    }
    this.runsPositional = "positional" in source;
    this.opened = new Promise((resolve) => (this.markOpened = resolve));
  }

  /** Whether this source's rows run by position. */
  readonly runsPositional: boolean;

  override start(): void {
    super.start();
    const { transport, subjects } = this.environment;
    this.controlSubscription = transport.subscribe(subjects.control, (payload) => {
      const message = decodeControl(payload);
      if (message.type === "barrier") this.requestBarrier(message.epoch, message.final, message.readLimit, message.params);
      else if (message.type === "commit" && !this.stopped) this.reader.epochCommitted?.(message.epoch);
    });
  }

  /** How this source's offsets compare, for the coordinator's check that they only move forward. */
  get offsetOrder(): OffsetOrder | undefined {
    return this.reader.offsetOrder;
  }

  /** On a restart from a checkpoint: resume right after the offset of the last committed epoch. */
  seek(offset: unknown): void {
    this.reader.seek?.(offset);
  }

  /** On a restart: the chained operators' state (withWatermark's latest event time), before any row is read. */
  restore(storage: CheckpointStorage): void {
    for (const operator of this.operators) if (operator.stateId && operator.restore) operator.restore(storage.readState(operator.stateId, () => true));
    this.primeWatermark();
  }

  /** The chained operators' state changes of the epoch (withWatermark's latest event time), written with it. */
  protected override persistEpoch(epoch: number): Promise<void> | undefined {
    const storage = this.environment.storage;
    if (!storage) return undefined;
    const changes = this.operators.flatMap((operator) => operator.snapshot?.() ?? []);
    return changes.length > 0 ? storage.writeChanges(epoch, changes, this.name, this.environment.subjects.attempt) : undefined;
  }

  async open(): Promise<void> {
    const { transport } = this.environment;
    await this.reader.open({
      partition: this.wiring.partition,
      numPartitions: this.options.numPartitions,
      notify: () => this.schedulePump(true),
      // Room for the frame's header: a record this size still travels as a one-row frame.
      maxRecordBytes: transport.maxPayload - 1024,
      deadLetter: (raw, reason) => this.sendToDeadLetter(this.options.deadLetterSubject, { query: this.options.queryName, source: this.name, reason }, raw),
    });
    this.markOpened();
  }

  override async stop(): Promise<void> {
    this.controlSubscription?.unsubscribe();
    await super.stop();
    await this.reader.close();
  }

  protected processRows(): void {
    throw new ConfigError(`${this.name} is a source actor and has no inputs.`);
  }

  protected override chainedOperators(): readonly Operator[] {
    return this.operators;
  }

  protected override flushOperators(): void {
    for (const operator of this.operators) operator.flush?.();
  }

  protected override resume(): void {
    this.schedulePump();
  }

  private requestBarrier(epoch: number, final: boolean, readLimit: ReadLimit, params: EpochParams | undefined): void {
    this.requestChain = this.requestChain.then(async () => {
      await this.opened;
      if (this.stopped) return;
      let dataLeft: boolean;
      try {
        dataLeft = (await this.reader.prepare(readLimit))?.dataLeft ?? false;
      } catch (error) {
        this.fail(error);
        return;
      }
      this.requests.push({ epoch, final, afterRows: this.polledRows + this.reader.readyCount(), dataLeft, params });
      this.schedulePump();
    });
  }

  /**
   * `soon`: the reader just said rows are ready (from its own timer or I/O callback), so the pump runs right after it,
   * on a microtask; a setImmediate queued from the check phase, where the open-loop readers wake, would wait a whole turn
   * of the event loop. A pump that leaves rows behind comes back on setImmediate, so I/O still runs in between.
   */
  private schedulePump(soon = false): void {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    if (soon) queueMicrotask(this.pump);
    else setImmediate(this.pump);
  }

  /** One turn: rows while credit lasts and the trigger allows, barriers exactly where they were asked for. */
  private readonly pump = (): void => {
    this.pumpScheduled = false;
    if (this.stopped) return;
    activeParams.values = this.params;
    const maxFrameRows = this.environment.flow.maxFrameRows;
    try {
      let budget = maxFrameRows * 8;
      while (!this.blocked && budget > 0) {
        const request = this.requests[0];
        if (request && this.polledRows >= request.afterRows) {
          this.requests.shift();
          this.since = this.until = nowMs();
          this.flushOperators();
          // The watermark of the epoch's rows goes before its barrier: the epoch then ends with every window it closed
          // (Spark runs a no-data batch for this; once and availableNow would otherwise never close them).
          this.advanceWatermark(true);
          this.reader.releaseDeadLetters?.();
          this.reader.epochEnded?.(request.epoch);
          this.nextParams = request.params;
          this.completeEpoch(request.epoch, request.final, { sourceOffset: this.reader.offset?.(), dataLeft: request.dataLeft }, this.persistEpoch(request.epoch));
          if (!this.environment.storage) this.reader.epochCommitted?.(request.epoch);
          if (request.final) this.finished = true;
          continue;
        }
        let limit = Math.min(maxFrameRows, budget);
        if (request) limit = Math.min(limit, request.afterRows - this.polledRows);
        else if (this.options.microBatch || this.finished) break;
        const batch = this.pollRows(limit);
        if (!batch) break;
        this.polledRows += batch.count;
        budget -= batch.count;
        this.stats.rowsIn += batch.count;
        this.since = batch.since;
        this.until = batch.until;
        if (hopTrace) hopTrace.record(`${this.traceStage}: polled`, batch.since, batch.until, batch.count);
        batch.run();
        if (this.pendingOutputRows() >= maxFrameRows) this.flushOutputs();
      }
      this.flushOperators();
      this.advanceWatermark();
      this.flushOutputs();
    } catch (error) {
      this.fail(error);
      return;
    }
    if (!this.blocked && ((!this.finished && this.reader.readyCount() > 0) || this.requestReady()) && (!this.options.microBatch || this.requests.length > 0)) this.schedulePump();
  };

  private requestReady(): boolean {
    const request = this.requests[0];
    return request !== undefined && this.polledRows >= request.afterRows;
  }
}
