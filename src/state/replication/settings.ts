// The replication settings as a worker reads them from the driver's configuration (validated by the driver's session).
export interface ReplicationSettings {
  /** JetStream replicas of the bucket (1, 3 or 5; at most the cluster's nodes). */
  readonly replicas: number;
  /** Every this many committed epochs the driver writes a snapshot per stage and drops the deltas it covers. */
  readonly snapshotEvery: number;
}

export const REPLICATION_KEYS = { mode: "rill.state.replication", replicas: "rill.state.replicas", snapshotEvery: "rill.state.snapshotEvery" } as const;

/** Undefined unless `rill.state.replication` is `jetstream`. */
export function replicationOf(config: Readonly<Record<string, string>>): ReplicationSettings | undefined {
  if (config[REPLICATION_KEYS.mode] !== "jetstream") return undefined;
  return { replicas: Number(config[REPLICATION_KEYS.replicas] ?? 1), snapshotEvery: Number(config[REPLICATION_KEYS.snapshotEvery] ?? 20) };
}
