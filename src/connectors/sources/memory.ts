// MemoryStream: rows added by the program (as Spark's tests use it); replayable, one partition.
import { nowMs } from "../../core/clock.ts";
import { sequenceOrder } from "../../core/offsets.ts";
import type { PositionalRow, Row, Schema } from "../../core/types.ts";
import { ReadyQueue } from "./ready-queue.ts";
import type { PositionalSourceReader, SourceContext, SourceProvider, SourceReader, SourceReaderOf } from "./source.ts";

export type RowValidator = (value: unknown) => { row: Row } | { error: string };

/** The data a MemoryStream holds; readers take from it by offset, so a restart may read it again. */
export class MemoryStreamData {
  readonly rows: unknown[] = [];
  private readonly listeners = new Set<() => void>();

  add(rows: readonly unknown[]): number {
    for (const row of rows) this.rows.push(row);
    for (const listener of this.listeners) listener();
    return this.rows.length;
  }

  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * A memory sink's table read as a source (SQL over a running query's table, the seed's 21.1): the rows the table holds
 * when the reading query is analysed, then nothing more, so `availableNow` and `once` end after them.
 */
export function memoryTableSnapshot(schema: Schema, rows: readonly Row[], name: string): SourceProvider {
  const data = new MemoryStreamData();
  data.add(rows);
  return new MemorySourceProvider(schema, data, (value) => ({ row: value as Row }), `table ${name}`);
}

export class MemorySourceProvider implements SourceProvider {
  readonly format = "memory";
  readonly numPartitions = 1;
  readonly guarantee = "exactly-once" as const;
  readonly description: string;

  constructor(readonly schema: Schema, private readonly data: MemoryStreamData, private readonly validate: RowValidator, name: string) {
    this.description = `MemoryStream[${name}]`;
  }

  createReader(): SourceReader {
    return new MemoryReader(this.data, this.validate);
  }

  /** Rows by position: the user's check runs over each row as named, and its row is read by the schema's names once. */
  createPositionalReader(): PositionalSourceReader {
    const names = this.schema.fields.map((field) => field.name);
    const validate = this.validate;
    return new MemoryReader<PositionalRow>(this.data, (value) => {
      const checked = validate(value);
      return "row" in checked ? { row: names.map((name) => checked.row[name] ?? null) } : checked;
    });
  }
}

class MemoryReader<R = Row> implements SourceReaderOf<R> {
  readonly offsetOrder = sequenceOrder;
  /** Rows taken from the stream into the ready queue (valid or dead-lettered). */
  private taken = 0;
  /** Stream index of each ready row, in order; `polledTo` is the index after the last polled row. */
  private readyIndices: number[] = [];
  private readyHead = 0;
  private polledTo = 0;
  private readonly ready = new ReadyQueue<R>();
  /** Rows that fail the schema, held behind the valid rows before them (as the JetStream source does), and the counts that place them. */
  private letters: Array<{ readonly afterRows: number; readonly index: number; readonly value: unknown; readonly reason: string }> = [];
  private rowsTaken = 0;
  private rowsPolled = 0;
  private context: SourceContext | undefined;
  private unlisten: (() => void) | undefined;

  constructor(private readonly data: MemoryStreamData, private readonly validate: (value: unknown) => { row: R } | { error: string }) {}

  async open(context: SourceContext): Promise<void> {
    this.context = context;
    this.unlisten = this.data.listen(() => {
      this.take();
      context.notify();
    });
    this.take();
    if (this.ready.size > 0) context.notify();
  }

  async prepare(): Promise<void> {
    this.take();
  }

  readyCount(): number {
    return this.ready.size;
  }

  poll(max: number) {
    const batch = this.ready.poll(max);
    if (batch) {
      this.readyHead += batch.rows.length;
      this.rowsPolled += batch.rows.length;
      this.polledTo = (this.readyIndices[this.readyHead - 1] as number) + 1;
      if (this.readyHead > 4096 && this.readyHead * 2 > this.readyIndices.length) {
        this.readyIndices = this.readyIndices.slice(this.readyHead);
        this.readyHead = 0;
      }
    }
    this.releaseDeadLetters();
    return batch;
  }

  /** Hands on the letters of rows before the next unpolled one, moving the offset past them (also before each barrier). */
  releaseDeadLetters(): void {
    let released = 0;
    for (const letter of this.letters) {
      if (letter.afterRows > this.rowsPolled) break;
      released++;
      this.polledTo = Math.max(this.polledTo, letter.index + 1);
      this.context?.deadLetter(letter.value, letter.reason);
    }
    if (released > 0) this.letters = this.letters.slice(released);
  }

  /** The stream index after the last polled row or released letter: a replay starts there, repeating neither. */
  offset(): number {
    return this.polledTo;
  }

  seek(offset: unknown): void {
    this.taken = typeof offset === "number" ? offset : 0;
    this.polledTo = this.taken;
  }

  async close(): Promise<void> {
    this.unlisten?.();
  }

  private take(): void {
    const end = this.data.rows.length;
    if (this.taken >= end) return;
    const rows: R[] = [];
    for (; this.taken < end; this.taken++) {
      const value = this.data.rows[this.taken];
      const checked = this.validate(value);
      if ("row" in checked) {
        rows.push(checked.row);
        this.readyIndices.push(this.taken);
        this.rowsTaken++;
      }
      else this.letters.push({ afterRows: this.rowsTaken, index: this.taken, value, reason: `row ${this.taken} fails the schema: ${checked.error}` });
    }
    this.ready.push(rows, nowMs());
  }
}
