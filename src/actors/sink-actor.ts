// The sink actor: applies the output mode, measures ingest-to-sink latency, and hands rows to the writer (two-phase with checkpoints).
import { nowMs } from "../core/clock.ts";
import { faultPoint } from "../core/fault-points.ts";
import { keyGroupOf } from "../core/keys.ts";
import { LatencyRecorder } from "../core/latency.ts";
import { RETRACTED_KEY_PREFIX, type Row } from "../core/types.ts";
import { orderResult, type OutputMode, type ResultOrder, type SinkWriter } from "../connectors/sinks/sink.ts";
import type { CheckpointStorage } from "../state/lmdb-storage.ts";
import type { StateChange } from "../state/types.ts";
import { Actor, type ActorEnvironment, type ActorWiring } from "./actor.ts";
import { decodeControl, type ActorEpochStats } from "./control.ts";
import type { Subscription } from "./transport.ts";

/** The column an aggregation adds so that update and complete mode can tell rows of one key apart. */
export const ROW_KEY = "__rill_key";

/** The sink's state: the complete-mode result table and, per sender, how many rows it has delivered. */
const SINK_STATE = "sink";

export interface SinkActorOptions {
  readonly writer: SinkWriter;
  readonly outputMode: OutputMode;
  /** Micro-batch mode: rows reach the writer only at the epoch's end. */
  readonly microBatch: boolean;
  readonly queryName: string;
  readonly queryId: string;
  /** Rows reach the sink from each sender in an order a replay reproduces (no shuffle or merge on the way). */
  readonly orderReproducible: boolean;
  /** orderBy / limit: complete mode orders and cuts the table; append mode passes only the first `limit` rows. */
  readonly resultOrder?: ResultOrder | undefined;
}

/** The sink state's key for the rows an append-mode limit has let through. */
const LIMIT_KEY = "limit";

export class SinkActor extends Actor {
  private readonly writer: SinkWriter;
  private readonly table = new Map<string, Row>();
  private readonly unsavedKeys = new Set<string>();
  private epochRows: Row[] = [];
  private readonly epochByKey = new Map<string, Row>();
  /** Rows delivered per sender since the query began: deterministic row ids for idempotent sinks. */
  private readonly delivered = new Map<number, number>();
  private readonly latency = new LatencyRecorder();
  /** Micro-batch mode: (oldest ingest time, newest ingest time, row count) of frames waiting for the epoch's end. */
  private waiting: number[] = [];
  private controlSubscription: Subscription | undefined;
  private lastCommittedEpoch = -1;
  /** Append mode with limit(n): rows let through since the query began (Spark's StreamingGlobalLimit state). */
  private limitedRows = 0;
  private limitChanged = false;

  constructor(wiring: ActorWiring, environment: ActorEnvironment, private readonly options: SinkActorOptions) {
    super(wiring, environment);
    this.writer = options.writer;
  }

  override start(): void {
    super.start();
    if (!this.environment.storage) return;
    const { transport, subjects } = this.environment;
    this.controlSubscription = transport.subscribe(subjects.control, (payload) => {
      const message = decodeControl(payload);
      if (message.type === "commit") this.enqueueTask(() => this.commit(message.epoch));
    });
  }

  /** On a restart from a checkpoint: the result table and delivery counts as of the last committed epoch. */
  restore(storage: CheckpointStorage, lastCommittedEpoch: number): void {
    this.lastCommittedEpoch = lastCommittedEpoch;
    for (const [key, value] of storage.readState(SINK_STATE, () => true)) {
      if (key.startsWith("sender:")) this.delivered.set(Number(key.slice(7)), value as number);
      else if (key === LIMIT_KEY) this.limitedRows = value as number;
      else this.table.set(key.slice(4), value as Row);
    }
  }

  /** Opens the writer; `attemptSequence` is the attempt's number on the checkpoint (src/state/fence.ts), when it has one. */
  async open(attemptSequence?: number): Promise<void> {
    const checkpointed = this.environment.storage !== undefined;
    const { queryName, queryId, outputMode, orderReproducible } = this.options;
    const checkpointLocation = this.environment.storage?.path;
    const resultOrder = outputMode === "complete" ? this.options.resultOrder : undefined;
    await this.writer.open({ queryName, queryId, outputMode, orderReproducible, checkpointed, lastCommittedEpoch: this.lastCommittedEpoch, attempt: attemptSequence === undefined ? this.environment.subjects.attempt : { ...this.environment.subjects.attempt, sequence: attemptSequence }, ...(checkpointLocation ? { checkpointLocation } : {}), ...(resultOrder ? { resultOrder } : {}) });
    if (outputMode === "complete" && this.table.size > 0 && this.writer.write && !this.options.microBatch) await this.writer.write([...this.table.values()], [...this.table.keys()]);
  }

  protected processRows(input: Row[], sender: number): void | Promise<void> {
    const { outputMode, microBatch } = this.options;
    const rows = outputMode === "append" ? this.withinLimit(input) : input;
    const keyed = outputMode !== "append";
    const out = keyed ? rows.map(strip) : rows;
    const keys = keyed ? rows.map((row) => String(row[ROW_KEY])) : undefined;
    const ids = this.writer.needsRowIds && !keyed ? this.rowIds(rows.length, sender) : undefined;
    if (microBatch) this.waiting.push(this.since, this.until, rows.length);
    else this.recordLatency(nowMs(), this.since, this.until, rows.length);
    if (outputMode === "complete") {
      let retracted: string[] | undefined;
      for (let index = 0; index < rows.length; index++) {
        const key = (keys as string[])[index] as string;
        if (key.startsWith(RETRACTED_KEY_PREFIX)) {
          const gone = key.slice(RETRACTED_KEY_PREFIX.length);
          this.table.delete(gone);
          this.unsavedKeys.add(gone);
          (retracted ??= []).push(gone);
        } else {
          this.table.set(key, out[index] as Row);
          this.unsavedKeys.add(key);
        }
      }
      if (retracted) return this.writeCompleteChanges(out, keys as string[], retracted, ids);
    } else if (this.writer.endEpoch || microBatch) {
      if (keys) for (let index = 0; index < rows.length; index++) this.epochByKey.set(keys[index] as string, out[index] as Row);
      else for (const row of out) this.epochRows.push(row);
    }
    if (!microBatch && this.writer.write) return this.writer.write(out, keys, ids);
  }

  protected override async onBarrier(epoch: number): Promise<void> {
    const complete = this.options.outputMode === "complete";
    const keys = complete ? [...this.table.keys()] : this.epochByKey.size > 0 ? [...this.epochByKey.keys()] : undefined;
    const rows = complete ? orderResult(this.options.resultOrder, [...this.table.values()]) : this.takeEpochRows();
    if (this.options.microBatch) {
      if (this.writer.write && rows.length > 0) await this.writer.write(rows, keys);
      const now = nowMs();
      for (let index = 0; index < this.waiting.length; index += 3) this.recordLatency(now, this.waiting[index] as number, this.waiting[index + 1] as number, this.waiting[index + 2] as number);
      this.waiting = [];
    }
    if (this.writer.endEpoch) await this.writer.endEpoch(epoch, rows);
    if (!this.environment.storage && this.writer.commitEpoch) await this.writer.commitEpoch(epoch);
  }

  protected override persistEpoch(epoch: number): Promise<void> | undefined {
    const storage = this.environment.storage;
    if (!storage) return undefined;
    const changes = this.stateChanges();
    return changes.length > 0 ? storage.writeChanges(epoch, changes, this.name, this.environment.subjects.attempt) : undefined;
  }

  protected override collectStats(): ActorEpochStats {
    const stats = super.collectStats();
    stats.stateRows = this.table.size;
    stats.latency = this.latency.percentiles();
    stats.latencyHistogram = this.latency.encode();
    this.latency.reset();
    return stats;
  }

  override async stop(): Promise<void> {
    this.controlSubscription?.unsubscribe();
    await super.stop();
    await this.writer.close();
  }

  /** The coordinator made the epoch durable: the writer makes it visible, then the coordinator hears so. */
  private async commit(epoch: number): Promise<void> {
    faultPoint("sink-commit");
    if (this.writer.commitEpoch) await this.writer.commitEpoch(epoch);
    this.report({ type: "committed", actor: this.name, epoch });
  }

  /**
   * A frame's rows were ingested between `since` and `until`: their latencies are spread evenly over that span
   * (in at most 8 steps, so the cost stays per frame, not per row).
   */
  private recordLatency(now: number, since: number, until: number, count: number): void {
    if (count <= 0) return;
    const span = until > since ? until - since : 0;
    if (span === 0 || count === 1) {
      this.latency.record(now - since, count);
      return;
    }
    const steps = Math.min(8, count);
    let recorded = 0;
    for (let step = 0; step < steps; step++) {
      const share = Math.round((count * (step + 1)) / steps) - recorded;
      recorded += share;
      this.latency.record(now - (since + (span * (step + 0.5)) / steps), share);
    }
  }

  /**
   * Append mode only: a replay delivers each sender's rows in the same order, however it cuts them into frames, so the
   * n-th row of a sender is the same row. An update row has no such id: its value depends on how the epoch was cut
   * into turns (see the JetStream sink's modes in ARCHITECTURE.md).
   */
  private rowIds(count: number, sender: number): string[] {
    const ids = new Array<string>(count);
    const first = this.delivered.get(sender) ?? 0;
    for (let index = 0; index < count; index++) ids[index] = `${sender}.${first + index}`;
    this.delivered.set(sender, first + count);
    return ids;
  }

  private stateChanges(): StateChange[] {
    const changes: StateChange[] = [];
    for (const key of this.unsavedKeys) changes.push({ stateId: SINK_STATE, keyGroup: keyGroupOf(key), key: `row:${key}`, value: this.table.get(key) ?? null });
    this.unsavedKeys.clear();
    for (const [sender, count] of this.delivered) changes.push({ stateId: SINK_STATE, keyGroup: 0, key: `sender:${sender}`, value: count });
    if (this.limitChanged) changes.push({ stateId: SINK_STATE, keyGroup: 0, key: LIMIT_KEY, value: this.limitedRows });
    this.limitChanged = false;
    return changes;
  }

  /** Complete mode with retractions: the writer gets the changed rows, and the removed keys through remove(). */
  private async writeCompleteChanges(rows: Row[], keys: string[], retracted: string[], ids: string[] | undefined): Promise<void> {
    if (this.options.microBatch) return;
    const kept = keys.map((key, index) => (key.startsWith(RETRACTED_KEY_PREFIX) ? -1 : index)).filter((index) => index >= 0);
    if (this.writer.remove) await this.writer.remove(retracted);
    if (!this.writer.write || kept.length === 0) return;
    await this.writer.write(kept.map((index) => rows[index] as Row), kept.map((index) => keys[index] as string), ids && kept.map((index) => ids[index] as string));
  }

  /** Append mode with limit(n): the rows still within n; the rest are dropped, as Spark's streaming limit does. */
  private withinLimit(rows: Row[]): Row[] {
    const limit = this.options.resultOrder?.limit;
    if (limit === undefined) return rows;
    const room = Math.max(0, limit - this.limitedRows);
    const kept = rows.length <= room ? rows : rows.slice(0, room);
    if (kept.length > 0) {
      this.limitedRows += kept.length;
      this.limitChanged = true;
    }
    return kept;
  }

  private takeEpochRows(): Row[] {
    if (this.epochByKey.size > 0) {
      const rows = [...this.epochByKey.values()];
      this.epochByKey.clear();
      return rows;
    }
    const rows = this.epochRows;
    this.epochRows = [];
    return rows;
  }
}

function strip(row: Row): Row {
  if (!(ROW_KEY in row)) return row;
  const { [ROW_KEY]: _key, ...rest } = row;
  return rest;
}
