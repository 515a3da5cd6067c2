// Per-worker figures for a query's progress reports and the dashboard: what each worker hosts, how fresh its heartbeat
// is, and the CPU and memory it reported. Built per epoch from the heartbeats the driver already holds.
import type { WorkerState } from "./pool.ts";

export interface WorkerProgress {
  readonly name: string;
  readonly host: string;
  readonly pid: number;
  /** This query's actors on the worker. */
  readonly actors: readonly string[];
  /** Driver's clock: how long ago the last heartbeat arrived. */
  readonly heartbeatAgeMs: number;
  /** CPU time of the worker process since it started (user + system). */
  readonly cpuSeconds: number;
  /** Its CPU use between the two latest heartbeats the reports saw (100 = one core); null before a second one. */
  readonly cpuPercent: number | null;
  readonly rssBytes: number;
  /** Worker's clock when it sent the heartbeat these figures come from. */
  readonly heartbeatAt: number;
}

/** One entry per live worker that hosts actors of the query (placements: actor -> worker or "driver"). */
export function workerProgress(alive: readonly WorkerState[], placements: ReadonlyMap<string, string>, now: number, previous: readonly WorkerProgress[] = []): WorkerProgress[] {
  const actorsOf = new Map<string, string[]>();
  for (const [actor, worker] of placements) if (worker !== "driver") actorsOf.set(worker, [...(actorsOf.get(worker) ?? []), actor]);
  return alive.filter((state) => actorsOf.has(state.name)).map(({ name, heartbeat, lastSeen }) => {
    const cpuSeconds = (heartbeat.cpuUserMicros + heartbeat.cpuSystemMicros) / 1e6;
    const before = previous.find((figures) => figures.name === name && figures.pid === heartbeat.pid && figures.heartbeatAt <= heartbeat.at);
    // Epochs can be shorter than the heartbeat interval: a report on the same heartbeat keeps the share it had.
    const cpuPercent = !before ? null : before.heartbeatAt === heartbeat.at ? before.cpuPercent : (100 * (cpuSeconds - before.cpuSeconds) * 1000) / (heartbeat.at - before.heartbeatAt);
    return { name, host: heartbeat.host, pid: heartbeat.pid, actors: [...(actorsOf.get(name) ?? [])].sort(), heartbeatAgeMs: Math.max(0, now - lastSeen), cpuSeconds, cpuPercent, rssBytes: heartbeat.rssBytes, heartbeatAt: heartbeat.at };
  });
}
