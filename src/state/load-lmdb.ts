// Loads the LMDB adapters (and with them the lmdb package) on first use: a query without a checkpoint location, in a
// process with no store-and-forward sink and no worker, never imports lmdb (ARCHITECTURE.md decision 54).
//
// A missing or broken lmdb install fails the caller here, when a query starts, with a CheckpointError that names the
// package; never later, mid-run.
import { CheckpointError } from "../core/errors.ts";

export type CheckpointStorageModule = typeof import("./lmdb-storage.ts");
export type OutboxModule = typeof import("./lmdb-outbox.ts");

let storageModule: Promise<CheckpointStorageModule> | undefined;
let outboxModule: Promise<OutboxModule> | undefined;

/** The checkpoint store's module (`CheckpointStorage`), loaded once per process. */
export function loadCheckpointStorage(): Promise<CheckpointStorageModule> {
  storageModule ??= import("./lmdb-storage.ts").catch((error: unknown) => {
    storageModule = undefined;
    throw loadFailure("a checkpoint location", error);
  });
  return storageModule;
}

/** The store-and-forward queue's module (`Outbox`), loaded once per process. */
export function loadOutbox(): Promise<OutboxModule> {
  outboxModule ??= import("./lmdb-outbox.ts").catch((error: unknown) => {
    outboxModule = undefined;
    throw loadFailure("the mqtt sink's option 'storeAndForward'", error);
  });
  return outboxModule;
}

function loadFailure(user: string, error: unknown): CheckpointError {
  const reason = error instanceof Error ? error.message : String(error);
  return new CheckpointError(`Cannot load the LMDB store that ${user} needs (package 'lmdb'): ${reason}. Reinstall the package with its native build for this platform (npm install lmdb), or run the query without ${user}.`, { cause: error });
}
