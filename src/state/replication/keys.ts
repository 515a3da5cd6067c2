// Every name in the replicated state store (a JetStream key-value bucket per query), built and parsed here.
//
//   run.<runId>.<attempt>                                     -> AttemptMarker: the attempt resumes after this epoch (the driver writes it before placing)
//   delta.<stage>.<partition>.<epoch>.<runId>.<attempt>       -> Manifest of one actor's changes of one epoch, written after its chunks
//   snap.<stage>.<epoch>                                      -> Manifest of a stage's whole committed state as of the epoch
//   chunk.<manifest name>.<index>                             -> the payload bytes, 256 KiB a piece (a value is bounded by max_payload)
//
// A manifest exists only once every chunk it names was stored: chunks without one are a torn upload.

/** The bucket of one query (stable across restarts from one checkpoint location). */
export function bucketOf(queryId: string): string {
  return `rill-state-${token(queryId)}`;
}

/** A KV key token: letters, digits, `-` and `_` (a stage id's other characters become `_`). */
export function token(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, "_") || "_";
}

export function markerKey(runId: string, attempt: number): string {
  return `run.${token(runId)}.${attempt}`;
}

export function deltaKey(stage: string, partition: number, epoch: number, runId: string, attempt: number): string {
  return `delta.${token(stage)}.${partition}.${epoch}.${token(runId)}.${attempt}`;
}

export function snapshotKey(stage: string, epoch: number): string {
  return `snap.${token(stage)}.${epoch}`;
}

export function chunkKey(manifest: string, index: number): string {
  return `chunk.${manifest}.${index}`;
}

/** The stage and partition of an actor name (`s2-aggregate.p1`). */
export function actorParts(actor: string): { stage: string; partition: number } {
  const dot = actor.lastIndexOf(".p");
  return { stage: actor.slice(0, dot), partition: Number(actor.slice(dot + 2)) };
}

export interface MarkerName {
  readonly kind: "marker";
  readonly key: string;
  readonly runId: string;
  readonly attempt: number;
}

export interface DeltaName {
  readonly kind: "delta";
  readonly key: string;
  /** The stage's token (see `token`). */
  readonly stage: string;
  readonly partition: number;
  readonly epoch: number;
  readonly runId: string;
  readonly attempt: number;
}

export interface SnapshotName {
  readonly kind: "snapshot";
  readonly key: string;
  readonly stage: string;
  readonly epoch: number;
}

export interface ChunkName {
  readonly kind: "chunk";
  readonly key: string;
  /** The manifest the chunk belongs to. */
  readonly owner: string;
}

export type StoreName = MarkerName | DeltaName | SnapshotName | ChunkName;

const INTEGER = /^(0|[1-9][0-9]*)$/;

/** Parses a key of the bucket; undefined for a key Rill does not write (left alone). */
export function parseKey(key: string): StoreName | undefined {
  const parts = key.split(".");
  if (parts[0] === "chunk" && parts.length >= 3 && INTEGER.test(parts[parts.length - 1] as string)) return { kind: "chunk", key, owner: parts.slice(1, -1).join(".") };
  if (parts[0] === "run" && parts.length === 3 && INTEGER.test(parts[2] as string)) return { kind: "marker", key, runId: parts[1] as string, attempt: Number(parts[2]) };
  if (parts[0] === "delta" && parts.length === 6 && [2, 3, 5].every((index) => INTEGER.test(parts[index] as string))) {
    return { kind: "delta", key, stage: parts[1] as string, partition: Number(parts[2]), epoch: Number(parts[3]), runId: parts[4] as string, attempt: Number(parts[5]) };
  }
  if (parts[0] === "snap" && parts.length === 3 && INTEGER.test(parts[2] as string)) return { kind: "snapshot", key, stage: parts[1] as string, epoch: Number(parts[2]) };
  return undefined;
}
