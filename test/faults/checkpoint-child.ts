// A query run as its own process by the damaged-checkpoint tests: counts per user over a folder of JSON files, then exits.
// Prints "ok <groups>" on success, "failed <error name>: <message>" and exit code 3 on an error; a crash shows as a signal.
// Usage: node --import tsx checkpoint-child.ts <input> <checkpoint> (NATS options in RILL_TEST_NATS)
import { Session, z } from "../../src/index.ts";
import { natsOptionsFromParent } from "../helpers/nats.ts";

const [input, checkpoint] = process.argv.slice(2) as [string, string];
const session = Session.builder().appName("checkpoint-test").nats(natsOptionsFromParent()).config("rill.shuffle.partitions", 2).config("rill.recovery.maxRetries", 0).log(() => undefined).getOrCreate();
const schema = z.object({ id: z.number().int(), user: z.string(), x: z.number() });
try {
  const query = await session.readStream.schema(schema).json(input).groupBy("user").agg("count(*) as n", "sum(x) as total")
    .writeStream.queryName("counts").format("memory").outputMode("complete").option("checkpointLocation", checkpoint).start();
  await query.processAllAvailable();
  process.stdout.write(`ok ${session.table("counts").length}\n`);
  await session.stop();
} catch (error) {
  // The CheckpointError if there is one in the chain (it names the damaged file, and may itself carry the decoder's
  // error as its cause), otherwise the cause of a query's failure.
  const chain: Error[] = [];
  for (let link: unknown = error; link instanceof Error && chain.length < 10; link = link.cause) chain.push(link);
  const cause = chain.find((link) => link.name === "CheckpointError") ?? (error instanceof Error && error.cause instanceof Error ? error.cause : error);
  process.stdout.write(`failed ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}\n`);
  await session.stop();
  process.exit(3);
}
