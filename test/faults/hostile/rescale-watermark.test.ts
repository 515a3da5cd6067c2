// Hostile: a windowed aggregation in append mode restarted with fewer shuffle partitions, then restarted again. Each
// partition's actor stores its watermark under its own name; after 5 -> 2 partitions the watermarks of p2..p4 stay in
// the checkpoint at the value of the last run that had them. Spark keeps one global watermark per batch in its offset
// log, so a row older than the watermark of the last committed batch is late after any restart and dropped; a window
// already written in append mode is never written again.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { functions, z } from "../../../src/index.ts";
import { committedLines } from "../../helpers/kill-runs.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { useNatsSession } from "../../helpers/session.ts";
import { useTempFolder } from "../../helpers/temp-folder.ts";

const server = useNatsServer();
const sessions = useNatsSession(() => server().options);
const schema = z.object({ second: z.number().int(), key: z.string() });

/** Rows at these seconds of event time, one JSON line each, in a new file of `folder`. */
async function addFile(folder: string, name: string, seconds: readonly number[]): Promise<void> {
  await writeFile(join(folder, name), `${seconds.map((second) => JSON.stringify({ second, key: `k${second % 3}` })).join("\n")}\n`);
}

describe("hostile: the watermark across a change of parallelism", () => {
  const folder = useTempFolder("rill-hostile-rescale-wm-");

  /** One run to its end with `partitions` shuffle partitions: 10-second windows per key, a 5-second watermark, append. */
  async function runOnce(name: string, partitions: number): Promise<void> {
    await sessions.stop();
    const session = sessions.open({ "rill.shuffle.partitions": partitions });
    const query = await session.readStream.schema(schema).json(join(folder(), name, "input")).selectExpr("cast(second as timestamp) as at", "key")
      .withWatermark("at", "5 seconds").groupBy(functions.window(functions.col("at"), "10 seconds"), functions.col("key")).count()
      .selectExpr("cast(window.start as long) as start", "key", "count")
      .writeStream.outputMode("append").format("json").option("path", join(folder(), name, "output")).option("checkpointLocation", join(folder(), name, "checkpoint"))
      .queryName(`hostile_rescale_wm_${name}`).start();
    await query.processAllAvailable();
    await query.stop();
    await sessions.stop();
  }

  /** Runs 1-3 with the given partition counts; a late row (second 500, its window written in run 2) arrives in run 3. */
  async function scenario(name: string, partitions: readonly [number, number, number]): Promise<Map<string, number>> {
    const input = join(folder(), name, "input");
    await mkdir(input, { recursive: true });
    await addFile(input, "a.json", Array.from({ length: 100 }, (_, index) => index));
    await runOnce(name, partitions[0]);
    await addFile(input, "b.json", Array.from({ length: 900 }, (_, index) => 100 + index));
    await runOnce(name, partitions[1]);
    await addFile(input, "c.json", [500, 501, 502]);
    await runOnce(name, partitions[2]);
    const written = new Map<string, number>();
    for (const line of await committedLines(join(folder(), name, "output"))) {
      const row = JSON.parse(line) as { start: number; key: string };
      const window = `${row.start}/${row.key}`;
      written.set(window, (written.get(window) ?? 0) + 1);
    }
    return written;
  }

  it("drops rows behind the last committed watermark after 5 -> 2 partitions: no window written twice", async () => {
    const steady = await scenario("steady", [2, 2, 2]);
    assert.equal(steady.get("500/k2"), 1, "without rescaling the window [500, 510) of k2 is written once");
    assert.ok([...steady.values()].every((count) => count === 1));
    const rescaled = await scenario("rescaled", [5, 2, 2]);
    const twice = [...rescaled].filter(([, count]) => count > 1).map(([window]) => window);
    assert.deepEqual(twice, [], `windows written twice after 5 -> 2 partitions and a restart: ${twice.join(", ")}`);
    assert.deepEqual([...rescaled.keys()].sort(), [...steady.keys()].sort());
  });
});
