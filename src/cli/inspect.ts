// `npm run inspect -- <checkpointLocation>`: prints what a checkpoint holds (query, committed epochs, offsets, state sizes).
import { parseArgs } from "node:util";
import { CheckpointStorage } from "../state/lmdb-storage.ts";

const { positionals, values } = parseArgs({ allowPositionals: true, options: { epochs: { type: "string", default: "10" } } });
const location = positionals[0];
if (!location) {
  console.error("usage: npm run inspect -- <checkpointLocation> [--epochs N]");
  process.exit(2);
}

const storage = CheckpointStorage.open(location);
const meta = storage.readMeta();
if (!meta) {
  console.log(`${location}: no query has written here yet.`);
} else {
  console.log(`query ${meta.name ?? "(unnamed)"} id ${meta.id}, created ${meta.createdAt}, output mode ${meta.outputMode}`);
  console.log(`sources: ${meta.sources.join(", ")}`);
  for (const operator of meta.stateful) console.log(`state ${operator.stateId} (${operator.kind}: ${operator.signature}): ${storage.stateRows(operator.stateId)} rows`);
  const commits = storage.commits();
  console.log(`committed epochs: ${commits.length}${commits.length > 0 ? ` (${commits[0]?.epoch} .. ${commits[commits.length - 1]?.epoch})` : ""}`);
  for (const commit of commits.slice(-Number(values.epochs))) console.log(`  epoch ${commit.epoch} at ${commit.committedAt}: offsets ${JSON.stringify(commit.offsets)}`);
  const pending = storage.pendingEpochs();
  if (pending.length > 0) console.log(`uncommitted state changes of epochs ${pending.join(", ")} (discarded at the next start)`);
}
await storage.close();
