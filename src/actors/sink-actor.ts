// The sink actor: applies the output mode, measures ingest-to-sink latency, and hands rows to the writer.
import { nowMs } from "../core/clock.ts";
import { LatencyRecorder } from "../core/latency.ts";
import type { Row } from "../core/types.ts";
import type { OutputMode, SinkWriter } from "../connectors/sinks/sink.ts";
import { Actor, type ActorEnvironment, type ActorWiring } from "./actor.ts";
import type { ActorEpochStats } from "./control.ts";

/** The column an aggregation adds so that update and complete mode can tell rows of one key apart. */
export const ROW_KEY = "__rill_key";

export interface SinkActorOptions {
  readonly writer: SinkWriter;
  readonly outputMode: OutputMode;
  /** Micro-batch mode: rows reach the writer only at the epoch's end. */
  readonly microBatch: boolean;
  readonly queryName: string;
}

export class SinkActor extends Actor {
  private readonly writer: SinkWriter;
  private readonly table = new Map<unknown, Row>();
  private epochRows: Row[] = [];
  private readonly epochByKey = new Map<unknown, Row>();
  private readonly latency = new LatencyRecorder();
  /** Micro-batch mode: pairs of (ingest time, row count) waiting for the epoch's end. */
  private waiting: number[] = [];

  constructor(wiring: ActorWiring, environment: ActorEnvironment, private readonly options: SinkActorOptions) {
    super(wiring, environment);
    this.writer = options.writer;
  }

  async open(): Promise<void> {
    await this.writer.open({ queryName: this.options.queryName, queryId: this.options.queryName, outputMode: this.options.outputMode, checkpointed: false, lastCommittedEpoch: -1 });
  }

  protected processRows(rows: Row[]): void | Promise<void> {
    const { outputMode, microBatch } = this.options;
    const keyed = outputMode !== "append";
    const out = keyed ? rows.map((row) => this.strip(row)) : rows;
    const keys = keyed ? rows.map((row) => row[ROW_KEY]) : undefined;
    if (microBatch) this.waiting.push(this.since, rows.length);
    else this.latency.record(nowMs() - this.since, rows.length);
    if (outputMode === "complete") {
      for (let index = 0; index < rows.length; index++) this.table.set((rows[index] as Row)[ROW_KEY], out[index] as Row);
    } else if (this.writer.endEpoch || microBatch) {
      if (keyed) for (let index = 0; index < rows.length; index++) this.epochByKey.set((rows[index] as Row)[ROW_KEY], out[index] as Row);
      else for (const row of out) this.epochRows.push(row);
    }
    if (!microBatch && this.writer.write) return this.writer.write(out, keys);
  }

  protected override async onBarrier(epoch: number): Promise<void> {
    const complete = this.options.outputMode === "complete";
    const keys = complete ? [...this.table.keys()] : this.epochByKey.size > 0 ? [...this.epochByKey.keys()] : undefined;
    const rows = complete ? [...this.table.values()] : this.takeEpochRows();
    if (this.options.microBatch) {
      if (this.writer.write && rows.length > 0) await this.writer.write(rows, keys);
      const now = nowMs();
      for (let index = 0; index < this.waiting.length; index += 2) this.latency.record(now - (this.waiting[index] as number), this.waiting[index + 1] as number);
      this.waiting = [];
    }
    if (this.writer.endEpoch) await this.writer.endEpoch(epoch, rows);
    if (this.writer.commitEpoch) await this.writer.commitEpoch(epoch);
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
    await super.stop();
    await this.writer.close();
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

  private strip(row: Row): Row {
    if (!(ROW_KEY in row)) return row;
    const { [ROW_KEY]: _key, ...rest } = row;
    return rest;
  }
}
