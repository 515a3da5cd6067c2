// A query run as its own process by the hostile foreachBatch test: reads a folder of JSON files and writes each epoch
// with the idiom Spark's guide gives for foreachBatch ("use the batchId to deduplicate the output and get an
// exactly-once guarantee", README's "make fn idempotent on epochId"): an epoch whose file exists was written already
// and is skipped; otherwise its rows go to `<epochId>.json`, written to a temporary file and renamed into place. Every
// call, skipped or not, is appended to `<output>/calls.jsonl` as `{ epochId, ids }` (test/faults/foreach-batch-kill.test.ts).
// Usage: node --import tsx foreach-batch-child.ts <input> <output> <checkpoint> (NATS options in RILL_TEST_NATS)
import { access, appendFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Session, z } from "../../../src/index.ts";
import { natsOptionsFromParent } from "../../helpers/nats.ts";

const [input, output, checkpoint] = process.argv.slice(2) as [string, string, string];
const session = Session.builder().appName("hostile-foreach-batch").nats(natsOptionsFromParent()).log(() => undefined).getOrCreate();
const schema = z.object({ id: z.number().int(), user: z.string() });
const query = await session.readStream.schema(schema).json(input).writeStream.foreachBatch(async (rows, epochId) => {
  await appendFile(join(output, "calls.jsonl"), `${JSON.stringify({ epochId, ids: rows.map((row) => row.id) })}\n`);
  const file = join(output, `${epochId}.json`);
  if (await access(file).then(() => true, () => false)) return;
  await writeFile(`${file}.tmp`, JSON.stringify(rows.map((row) => row.id)));
  await rename(`${file}.tmp`, file);
  process.stdout.write(`wrote epoch ${epochId}\n`);
}).queryName("hostile_foreach_batch").option("checkpointLocation", checkpoint).trigger({ continuous: "100 milliseconds" }).start();
await query.processAllAvailable();
process.stdout.write(`done ${query.lastProgress?.batchId ?? -1}\n`);
await session.stop();
