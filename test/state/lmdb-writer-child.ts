// A process sharing a checkpoint environment that writes epoch changes until it is killed (lmdb-shared-kill.test.ts).
import { CheckpointStorage } from "../../src/state/lmdb-storage.ts";

const [path, name] = process.argv.slice(2) as [string, string];
const storage = CheckpointStorage.open(path);
const value = "c".repeat(2_000);
let epoch = 1_000_000;
for (;;) {
  const changes = Array.from({ length: 40 }, (_, index) => ({ stateId: `child-${name}`, keyGroup: index % 8, key: `k${index}`, value: `${value}${epoch}` }));
  await storage.writeChanges(epoch, changes);
  if (epoch === 1_000_000) process.stdout.write("writing\n");
  epoch++;
}
