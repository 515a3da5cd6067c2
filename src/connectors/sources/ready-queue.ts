// Rows ready to poll, in arrival order, kept in chunks with the time each chunk became ready.
import type { Row } from "../../core/types.ts";
import type { ReadyBatchOf } from "./source.ts";

interface Chunk<R> {
  rows: R[];
  offset: number;
  readonly since: number;
}

/** R: named rows, or arrays in the schema's order for a reader by position. */
export class ReadyQueue<R = Row> {
  private chunks: Array<Chunk<R>> = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(rows: R[], since: number): void {
    if (rows.length === 0) return;
    this.chunks.push({ rows, offset: 0, since });
    this.count += rows.length;
  }

  poll(max: number): ReadyBatchOf<R> | undefined {
    if (this.count === 0 || max <= 0) return undefined;
    const head = this.chunks[0] as Chunk<R>;
    const since = head.since;
    let until = since;
    const rows: R[] = [];
    while (rows.length < max && this.chunks.length > 0) {
      const chunk = this.chunks[0] as Chunk<R>;
      until = chunk.since;
      const take = Math.min(max - rows.length, chunk.rows.length - chunk.offset);
      if (chunk.offset === 0 && take === chunk.rows.length && rows.length === 0) rows.push(...chunk.rows);
      else for (let index = 0; index < take; index++) rows.push(chunk.rows[chunk.offset + index] as R);
      chunk.offset += take;
      if (chunk.offset >= chunk.rows.length) this.chunks.shift();
    }
    this.count -= rows.length;
    return { rows, since, until };
  }
}
