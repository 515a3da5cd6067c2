// Builds every NATS subject Rill uses, so anyone can watch a stage with a plain subscriber.

export interface QuerySubjects {
  /** The data subject of one actor: all its upstream channels publish here. */
  input(actor: string): string;
  /** Where receivers send credit back to one actor. */
  credit(actor: string): string;
  /** Coordinator to source actors: barriers, stop. */
  readonly control: string;
  /** Actors to coordinator: acks, failures, ends. */
  readonly coordinator: string;
  /** Everything of this run, for a wildcard subscriber. */
  readonly all: string;
  /** The attempt these subjects belong to (the n-th rollback of a run is attempt n). */
  readonly attempt: { readonly runId: string; readonly number: number };
}

export function sanitizeToken(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, "_") || "_";
}

/**
 * `rill.<query>.<run>.<stage>.<partition>`: the run token keeps two runs of one query apart. After the n-th rollback
 * within a run the token is `<run>_<n>`, so frames of a failed attempt that arrive late (a NATS node frozen or cut
 * off, then back, delivers what it held) reach no actor of the next one.
 */
export function querySubjects(prefix: string, queryName: string, runId: string, attempt = 0): QuerySubjects {
  const base = `${prefix}.${sanitizeToken(queryName)}.${runId.slice(0, 8)}${attempt === 0 ? "" : `_${attempt}`}`;
  return {
    input: (actor) => `${base}.${actor}`,
    credit: (actor) => `${base}.${actor}.credit`,
    control: `${base}._control`,
    coordinator: `${base}._coordinator`,
    all: `${base}.>`,
    attempt: { runId, number: attempt },
  };
}

export function deadLetterSubject(prefix: string, queryName: string): string {
  return `${prefix}.${sanitizeToken(queryName)}.deadletter`;
}

/**
 * Where the bad records of a session's static reads (session.read) go: `<prefix>._static-<app>.deadletter`, one token
 * between prefix and `deadletter` as a query's, so the dead-letter stream's `<prefix>.*.deadletter` captures it too.
 */
export function staticDeadLetterSubject(prefix: string, appName: string): string {
  return `${prefix}._static-${sanitizeToken(appName)}.deadletter`;
}
