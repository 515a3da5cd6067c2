// Test helpers for connectors: a SourceContext that records notices and dead letters, requests with defaults, and draining.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InProcessTransport } from "../../src/actors/inprocess-transport.ts";
import type { Transport } from "../../src/actors/transport.ts";
import type { SinkRequest } from "../../src/connectors/sinks/request.ts";
import type { SourceRequest } from "../../src/connectors/sources/request.ts";
import type { SourceContext, SourceReader } from "../../src/connectors/sources/source.ts";
import type { Row } from "../../src/core/types.ts";

export interface DeadLetter {
  readonly raw: unknown;
  readonly reason: string;
}

/** Records what a reader tells its actor; `waitFor` resolves when a condition holds after a notice or dead letter. */
export class RecordingContext implements SourceContext {
  notifications = 0;
  readonly deadLetters: DeadLetter[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(readonly partition = 0, readonly numPartitions = 1) {}

  notify(): void {
    this.notifications++;
    this.wake();
  }

  deadLetter(raw: unknown, reason: string): void {
    this.deadLetters.push({ raw, reason });
    this.wake();
  }

  /** Resolves once `condition()` is true, checked at every notice and dead letter; rejects after `timeoutMs`. */
  waitFor(condition: () => boolean, timeoutMs = 10_000, what = "the condition"): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export function sourceRequest(format: string, options: Record<string, string> = {}, rest: Partial<SourceRequest> = {}): SourceRequest {
  return {
    format,
    options: new Map(Object.entries(options)),
    schema: undefined,
    validate: undefined,
    path: undefined,
    transport: new InProcessTransport(),
    queryName: "test",
    ...rest,
  };
}

export function sinkRequest(format: string, options: Record<string, string> = {}, transport: Transport = new InProcessTransport()): SinkRequest {
  return { format, options: new Map(Object.entries(options)), transport, queryName: "test", path: undefined };
}

/** Polls everything ready now, with the `since` of each batch. */
export function drain(reader: SourceReader, max = 1000): { rows: Row[]; since: number[] } {
  const rows: Row[] = [];
  const since: number[] = [];
  for (let batch = reader.poll(max); batch; batch = reader.poll(max)) {
    rows.push(...batch.rows);
    since.push(batch.since);
  }
  return { rows, since };
}

export async function tempFolder(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "rill-connectors-"));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
