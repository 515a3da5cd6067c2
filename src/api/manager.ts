// session.streams: the active queries of a session, and waiting for any of them to end.
import { ConfigError } from "../core/errors.ts";
import { ListenerBus, type StreamingQueryListener } from "./listener.ts";
import type { StreamingQuery } from "./query.ts";

export class StreamingQueryManager {
  private readonly queries = new Map<string, StreamingQuery>();
  private readonly waiters: Array<(query: StreamingQuery) => void> = [];
  private lastTerminated: StreamingQuery | undefined;
  /** @internal Where queries post their lifecycle events. */
  readonly bus: ListenerBus;

  constructor(log: (message: string) => void = (message) => console.error(message)) {
    this.bus = new ListenerBus(log);
  }

  /** Listens to every query of the session: started, progress (each epoch), idle, terminated. */
  addListener(listener: StreamingQueryListener): void {
    this.bus.add(listener);
  }

  removeListener(listener: StreamingQueryListener): void {
    this.bus.remove(listener);
  }

  get active(): StreamingQuery[] {
    return [...this.queries.values()].filter((query) => query.isActive);
  }

  get(id: string): StreamingQuery | undefined {
    const query = this.queries.get(id);
    return query?.isActive ? query : undefined;
  }

  /** Resolves when any query of the session ends (rejects with its exception if it failed). */
  async awaitAnyTermination(timeoutMs?: number): Promise<boolean> {
    let query = this.lastTerminated;
    if (!query) {
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([
        new Promise<StreamingQuery>((resolve) => this.waiters.push(resolve)),
        ...(timeoutMs === undefined ? [] : [new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)))]),
      ]);
      clearTimeout(timer);
      if (!ended) return false;
      query = ended;
    }
    const failure = query.exception();
    if (failure) throw failure;
    return true;
  }

  /** Forgets the queries that ended, so awaitAnyTermination() waits for a new one. */
  resetTerminated(): void {
    this.lastTerminated = undefined;
  }

  /** @internal */
  register(query: StreamingQuery): void {
    if (this.queries.has(query.id)) throw new ConfigError(`A query with id ${query.id} is already registered.`);
    this.queries.set(query.id, query);
    query.onTerminated((ended) => {
      this.queries.delete(ended.id);
      this.lastTerminated = ended;
      for (const waiter of this.waiters.splice(0)) waiter(ended);
    });
  }

  /** @internal */
  async stopAll(options: { graceful?: boolean } = {}): Promise<void> {
    await Promise.all([...this.queries.values()].map((query) => query.stop(options)));
  }
}
