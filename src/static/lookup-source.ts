// What the lookup sources (PostgreSQL, Redis) share: reading the whole table with bounded retries and back-off, a
// description and errors that never carry the credentials, and a bounded source over the rows read.
import type { SourceContext, SourceProvider, SourceReader } from "../connectors/sources/source.ts";
import { ReadyQueue } from "../connectors/sources/ready-queue.ts";
import type { ConnectorOptions } from "../connectors/options.ts";
import { nowMs } from "../core/clock.ts";
import { ExternalSourceError } from "../core/errors.ts";
import type { Row, Schema } from "../core/types.ts";

/** Options every lookup source takes. */
export const LOOKUP_OPTIONS = ["url", "user", "password", "refreshInterval", "connectRetries", "retryBackoff", "connectTimeout"];

/** How often a read is tried before the query (or the refresh) gives up, and how long it waits between tries. */
export interface RetryPolicy {
  /** Tries after the first one. */
  readonly retries: number;
  /** The first wait; each next one doubles, up to `maxBackoffMs`. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly connectTimeoutMs: number;
}

export function retryPolicyOf(options: ConnectorOptions): RetryPolicy {
  return {
    retries: options.number("connectRetries", 5, { min: 0, max: 100, integer: true }),
    backoffMs: options.duration("retryBackoff", 500, 1),
    maxBackoffMs: 10_000,
    connectTimeoutMs: options.duration("connectTimeout", 10_000, 1),
  };
}

/** The wait before try `attempt` (1 = the first retry): the back-off doubled per retry, capped. */
export function backoffBefore(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (attempt - 1));
}

/** Replaces every secret (a password, a URL with its password) in a text by "***". */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join("***");
  return out;
}

/** A database reached by a lookup source: what to call it in messages (no password), and what to hide. */
export interface LookupTarget {
  /** E.g. "PostgreSQL postgresql://rill@127.0.0.1:5432/devices": names the database, never the password. */
  readonly name: string;
  readonly secrets: readonly string[];
  readonly policy: RetryPolicy;
}

/**
 * Runs `read` until it succeeds or the retries are used up, waiting the back-off between tries; then fails with an
 * ExternalSourceError naming the database, the tries and the last cause (credentials replaced by "***").
 */
export async function withRetries<T>(target: LookupTarget, what: string, read: () => Promise<T>): Promise<T> {
  const started = nowMs();
  let attempt = 0;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      attempt++;
      if (attempt > target.policy.retries) {
        const cause = redact(error instanceof Error ? error.message || error.name : String(error), target.secrets);
        const tries = attempt === 1 ? "1 try" : `${attempt} tries`;
        throw new ExternalSourceError(`Cannot ${what} from ${target.name}: ${tries} over ${Math.round(nowMs() - started)} ms failed (connectRetries ${target.policy.retries}, retryBackoff ${target.policy.backoffMs} ms). Last error: ${cause}`, { cause: new Error(cause) });
      }
      await new Promise((resolve) => setTimeout(resolve, backoffBefore(target.policy, attempt)));
    }
  }
}

/** Reads the whole table: every row, or bad rows sent to the dead letter with a reason; undefined keeps nothing. */
export type ReadTable = (deadLetter: (raw: unknown, reason: string) => void) => Promise<Row[]>;

/** A bounded source whose reader reads the whole table (with retries) when prepared: each run of the static plan reads it anew. */
export class LookupSourceProvider implements SourceProvider {
  readonly numPartitions = 1;
  readonly guarantee = "exactly-once" as const;

  constructor(readonly format: string, readonly schema: Schema, readonly description: string, private readonly target: LookupTarget, private readonly readTable: ReadTable) {}

  createReader(): SourceReader {
    const ready = new ReadyQueue();
    let context: SourceContext | undefined;
    return {
      open: async (opened) => {
        context = opened;
      },
      prepare: async () => {
        if (ready.size > 0) return;
        const since = nowMs();
        // Bad rows of a failed try are not kept: only the try that read the whole table reports its dead letters.
        const rows = await withRetries(this.target, "read the lookup table", async () => {
          const bad: Array<{ raw: unknown; reason: string }> = [];
          const read = await this.readTable((raw, reason) => bad.push({ raw, reason }));
          for (const { raw, reason } of bad) context?.deadLetter(raw, reason);
          return read;
        });
        if (rows.length > 0) ready.push(rows, since);
      },
      readyCount: () => ready.size,
      poll: (max) => ready.poll(max),
      close: async () => undefined,
    };
  }
}
