// `rill inspect <checkpointLocation>`: prints what a checkpoint holds (query, committed epochs, offsets, state sizes).
import { existsSync } from "node:fs";
import { LETTERS_STATE_ID } from "../deadletters/protocol.ts";
import { loadCheckpointStorage } from "../state/load-lmdb.ts";
import { UsageError } from "./usage-error.ts";

export async function inspectCheckpoint(location: string, epochs: number, print: (line: string) => void): Promise<void> {
  if (!existsSync(location)) throw new UsageError(`No checkpoint at '${location}': the folder does not exist.`);
  const { CheckpointStorage } = await loadCheckpointStorage();
  const storage = CheckpointStorage.open(location);
  try {
    const meta = storage.readMeta();
    if (!meta) {
      print(`${location}: no query has written here yet.`);
      return;
    }
    print(`query ${meta.name ?? "(unnamed)"} id ${meta.id}, created ${meta.createdAt}, output mode ${meta.outputMode}`);
    print(`sources: ${meta.sources.join(", ")}`);
    for (const operator of meta.stateful) print(`state ${operator.stateId} (${operator.kind}: ${operator.signature}): ${storage.stateRows(operator.stateId)} rows`);
    const letters = storage.stateRows(LETTERS_STATE_ID);
    if (letters > 0) print(`dead letters of committed epochs not yet published: ${letters} (the next start publishes them)`);
    const commits = storage.commits();
    print(`committed epochs: ${commits.length}${commits.length > 0 ? ` (${commits[0]?.epoch} .. ${commits[commits.length - 1]?.epoch})` : ""}`);
    for (const commit of commits.slice(-epochs)) print(`  epoch ${commit.epoch} at ${commit.committedAt}: offsets ${JSON.stringify(commit.offsets)}`);
    const pending = storage.pendingEpochs();
    if (pending.length > 0) print(`uncommitted state changes of epochs ${pending.join(", ")} (discarded at the next start)`);
  } finally {
    await storage.close();
  }
}
