// The replicated state protocol as pure decisions: what a restore fetches for a committed epoch, what compaction may
// drop, and what a torn upload means. Facts read from the store go in, a decision comes out; every crash point is a
// unit test (test/state/replication/decisions.test.ts).
//
// The fence: before an attempt's actors run, the driver writes its marker (the epoch it resumes after); the store orders
// markers by revision. Epoch E was committed by the newest attempt that resumed before E: an older attempt that
// reached E was rolled back (or E would not be re-run), and a newer one resumed at or after E. So for a committed
// epoch only that attempt's changes count, and a stalled worker of an older attempt that uploads late changes nothing.
import { parseKey, type DeltaName, type SnapshotName, type StoreName } from "./keys.ts";

export interface AttemptMarker {
  readonly key: string;
  readonly runId: string;
  readonly attempt: number;
  /** The last committed epoch when the attempt started: it runs epochs after this one. */
  readonly afterEpoch: number;
  /** The store's order of the markers (the stream sequence of the write). */
  readonly revision: number;
}

/** A delta or snapshot as listed: `complete` once its manifest exists (written after every chunk). */
export interface StoredObject<Name extends DeltaName | SnapshotName> {
  readonly name: Name;
  readonly complete: boolean;
  readonly chunks: readonly string[];
}

export interface Listing {
  readonly markers: readonly AttemptMarker[];
  readonly deltas: ReadonlyArray<StoredObject<DeltaName>>;
  readonly snapshots: ReadonlyArray<StoredObject<SnapshotName>>;
}

export interface StageRestore {
  /** The stage's token. */
  readonly stage: string;
  /** The newest complete snapshot at or before the committed epoch. */
  readonly snapshot: SnapshotName | undefined;
  /** The changes after the snapshot up to the committed epoch, of the attempt that committed each epoch, oldest first. */
  readonly deltas: readonly DeltaName[];
}

export type RestorePlan =
  | { readonly kind: "restore"; readonly stages: readonly StageRestore[] }
  | { readonly kind: "damaged"; readonly reasons: readonly string[] }
  /** The listing does not show the reader's own marker: list again (see planRestore). */
  | { readonly kind: "behind"; readonly reason: string };

/** The attempt whose changes of `epoch` count: the newest marker that resumed before it. */
export function attemptOf(markers: readonly AttemptMarker[], epoch: number): AttemptMarker | undefined {
  let found: AttemptMarker | undefined;
  for (const marker of markers) if (marker.afterEpoch < epoch && (!found || marker.revision > found.revision)) found = marker;
  return found;
}

/** An attempt whose marker was stored before the reader acts for it: the reader's own attempt. */
export interface AttemptRef {
  readonly runId: string;
  readonly attempt: number;
}

/**
 * What to fetch so the given stages hold their state as of `committedEpoch`. `reader`: the attempt the restore is for,
 * whose marker the driver stored before placing it (after every change of the committed epochs). A listing without
 * that marker is behind the bucket (a consumer on a replica still catching up after a node was lost) or was cut short:
 * what it lacks would silently be missing state, so no plan is made from it (the caller lists again). Keys arrive in
 * the order they were written, so a listing that has the marker has every change of a committed epoch.
 */
export function planRestore(listing: Listing, committedEpoch: number, stages: readonly string[], reader?: AttemptRef): RestorePlan {
  if (reader && !listing.markers.some((marker) => marker.runId === reader.runId && marker.attempt === reader.attempt)) {
    return { kind: "behind", reason: `the listing lacks the marker of run ${reader.runId} attempt ${reader.attempt}, stored before that attempt was placed: it is behind the bucket or was cut short` };
  }
  const reasons: string[] = [];
  const plans = stages.map((stage): StageRestore => {
    const snapshot = newestSnapshot(listing, stage, committedEpoch);
    const base = snapshot?.epoch ?? -1;
    const byEpoch = new Map<number, Array<StoredObject<DeltaName>>>();
    for (const delta of listing.deltas) {
      const { epoch } = delta.name;
      if (delta.name.stage !== stage || epoch <= base || epoch > committedEpoch) continue;
      byEpoch.set(epoch, [...(byEpoch.get(epoch) ?? []), delta]);
    }
    const deltas: DeltaName[] = [];
    for (const epoch of [...byEpoch.keys()].sort((a, b) => a - b)) {
      const attempt = attemptOf(listing.markers, epoch);
      if (!attempt) {
        reasons.push(`stage ${stage} has changes of committed epoch ${epoch} but no attempt marker says which attempt committed it`);
        continue;
      }
      for (const delta of byEpoch.get(epoch) ?? []) {
        if (delta.name.runId !== attempt.runId || delta.name.attempt !== attempt.attempt) continue;
        // The committing attempt acked the epoch only after its manifest was stored: a torn one means lost data.
        if (!delta.complete) reasons.push(`the changes of ${delta.name.stage}.p${delta.name.partition} in committed epoch ${epoch} are torn (chunks without a manifest)`);
        else deltas.push(delta.name);
      }
    }
    deltas.sort((a, b) => a.epoch - b.epoch || a.partition - b.partition);
    return { stage, snapshot, deltas };
  });
  return reasons.length > 0 ? { kind: "damaged", reasons } : { kind: "restore", stages: plans };
}

/**
 * What compaction may remove once the stages' snapshots are stored, complete: per stage, every delta at or before its
 * newest complete snapshot (any attempt: committed ones are in the snapshot, others were rolled back), every older
 * snapshot (torn ones included), and markers no epoch after the oldest of those snapshots can need. Torn uploads
 * after the snapshot stay: one may be an upload still under way. `manifests` go before `rest` (their chunks), so
 * a reader never finds a manifest whose chunks are gone.
 */
export function planCompaction(listing: Listing, committedEpoch: number): { readonly manifests: readonly string[]; readonly rest: readonly string[] } {
  const stages = new Set([...listing.deltas, ...listing.snapshots].map((object) => object.name.stage));
  const manifests: string[] = [];
  const chunks: string[] = [];
  const drop = (object: StoredObject<DeltaName | SnapshotName>): void => {
    if (object.complete) manifests.push(object.name.key);
    chunks.push(...object.chunks);
  };
  let oldestBase = Number.POSITIVE_INFINITY;
  for (const stage of stages) {
    const base = newestSnapshot(listing, stage, committedEpoch)?.epoch ?? -1;
    oldestBase = Math.min(oldestBase, base);
    for (const delta of listing.deltas) if (delta.name.stage === stage && delta.name.epoch <= base) drop(delta);
    for (const snapshot of listing.snapshots) if (snapshot.name.stage === stage && snapshot.name.epoch <= base && !(snapshot.complete && snapshot.name.epoch === base)) drop(snapshot);
  }
  if (!Number.isFinite(oldestBase)) oldestBase = -1;
  const markers = listing.markers.filter((marker) => listing.markers.some((newer) => newer.revision > marker.revision && newer.afterEpoch <= Math.max(marker.afterEpoch, oldestBase)));
  return { manifests, rest: [...chunks, ...markers.map((marker) => marker.key)] };
}

function newestSnapshot(listing: Listing, stage: string, committedEpoch: number): SnapshotName | undefined {
  let found: SnapshotName | undefined;
  for (const snapshot of listing.snapshots) {
    const { name } = snapshot;
    if (snapshot.complete && name.stage === stage && name.epoch <= committedEpoch && (!found || name.epoch > found.epoch)) found = name;
  }
  return found;
}

/** Groups a bucket's keys into markers (their facts read by the caller), deltas and snapshots with their chunks. */
export function groupKeys(names: readonly StoreName[], markers: readonly AttemptMarker[]): Listing {
  const chunksOf = new Map<string, string[]>();
  for (const name of names) if (name.kind === "chunk") chunksOf.set(name.owner, [...(chunksOf.get(name.owner) ?? []), name.key]);
  const manifests = new Set(names.filter((name) => name.kind === "delta" || name.kind === "snapshot").map((name) => name.key));
  const deltas: Array<StoredObject<DeltaName>> = [];
  const snapshots: Array<StoredObject<SnapshotName>> = [];
  const seen = new Set<string>();
  const add = (name: DeltaName | SnapshotName): void => {
    if (seen.has(name.key)) return;
    seen.add(name.key);
    const object = { complete: manifests.has(name.key), chunks: chunksOf.get(name.key) ?? [] };
    if (name.kind === "delta") deltas.push({ name, ...object });
    else snapshots.push({ name, ...object });
  };
  for (const name of names) if (name.kind === "delta" || name.kind === "snapshot") add(name);
  // A torn upload: chunks whose manifest was never written. Its owner's name says what it was.
  for (const owner of chunksOf.keys()) {
    if (manifests.has(owner)) continue;
    const parsed = parseKey(owner);
    if (parsed?.kind === "delta" || parsed?.kind === "snapshot") add(parsed);
  }
  return { markers, deltas, snapshots };
}
