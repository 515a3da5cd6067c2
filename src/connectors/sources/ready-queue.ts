// Rows ready to poll, in arrival order, kept in chunks with the time each chunk became ready.
import type { Row } from "../../core/types.ts";
import type { ReadyBatch } from "./source.ts";

interface Chunk {
  rows: Row[];
  offset: number;
  readonly since: number;
}

export class ReadyQueue {
  private chunks: Chunk[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(rows: Row[], since: number): void {
    if (rows.length === 0) return;
    this.chunks.push({ rows, offset: 0, since });
    this.count += rows.length;
  }

  poll(max: number): ReadyBatch | undefined {
    if (this.count === 0 || max <= 0) return undefined;
    const head = this.chunks[0] as Chunk;
    const since = head.since;
    let until = since;
    const rows: Row[] = [];
    while (rows.length < max && this.chunks.length > 0) {
      const chunk = this.chunks[0] as Chunk;
      until = chunk.since;
      const take = Math.min(max - rows.length, chunk.rows.length - chunk.offset);
      if (chunk.offset === 0 && take === chunk.rows.length && rows.length === 0) rows.push(...chunk.rows);
      else for (let index = 0; index < take; index++) rows.push(chunk.rows[chunk.offset + index] as Row);
      chunk.offset += take;
      if (chunk.offset >= chunk.rows.length) this.chunks.shift();
    }
    this.count -= rows.length;
    return { rows, since, until };
  }
}
