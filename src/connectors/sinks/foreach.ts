// The foreach sink: the user's function per row, in order, as rows arrive; a returned promise is awaited before the next row.
//
// @example
//   df.writeStream.foreach(async (row) => { await db.insert(row); }).start()
import { RillError, UserCodeError } from "../../core/errors.ts";
import type { Row } from "../../core/types.ts";
import type { SinkProvider, SinkWriter } from "./sink.ts";
import { jsonWithLongs } from "../../core/long.ts";

export type ForeachFunction = (row: Row) => void | Promise<void>;

export class ForeachSinkProvider implements SinkProvider {
  readonly format = "foreach";
  readonly guarantee = "at-least-once" as const;
  readonly description = "ForeachSink";

  constructor(private readonly fn: ForeachFunction) {}

  createWriter(): SinkWriter {
    const fn = this.fn;
    return {
      async open() {},
      // Synchronous functions run in one loop; the first promise switches to awaiting row by row,
      // and the returned promise holds the query back until the last row is done (a slow consumer slows the producer).
      write(rows) {
        let index = 0;
        try {
          for (; index < rows.length; index++) {
            const result = fn(rows[index] as Row);
            if (isThenable(result)) return finish(fn, rows, index, result);
          }
        } catch (error) {
          throw failure(error, rows[index]);
        }
      },
      async close() {},
    };
  }
}

async function finish(fn: ForeachFunction, rows: readonly Row[], from: number, pending: PromiseLike<void>): Promise<void> {
  let index = from;
  try {
    await pending;
    for (index = from + 1; index < rows.length; index++) await fn(rows[index] as Row);
  } catch (error) {
    throw failure(error, rows[index]);
  }
}

function isThenable(value: unknown): value is PromiseLike<void> {
  return typeof value === "object" && value !== null && typeof (value as PromiseLike<void>).then === "function";
}

function failure(error: unknown, row: Row | undefined): RillError {
  if (error instanceof RillError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new UserCodeError(`The foreach function threw on row ${preview(row)}: ${message}`, { cause: error });
}

function preview(row: Row | undefined): string {
  try {
    const text = jsonWithLongs(row);
    return text.length > 200 ? `${text.slice(0, 200)}...` : text;
  } catch (error) {
    return `(a row that cannot be shown: ${String(error)})`;
  }
}
