// Time moves without new data: a source partition that never sends stops holding the watermark back.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { col, window, z, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();

describe("idle inputs", () => {
  let session: Session;
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-idle-"));
    session = natsSession(server().options, { "rill.watermark.idleTimeout": "300 milliseconds", "rill.shuffle.partitions": 1 });
  });
  after(async () => {
    await session.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("closes windows in append mode although one of two source partitions never sends a record", async () => {
    const schema = z.object({ time: z.date(), word: z.string() });
    const query = await session.readStream.schema(schema).option("numPartitions", 2).json(folder)
      .withWatermark("time", "1 minute").groupBy(window(col("time"), "1 minute"), col("word")).count()
      .writeStream.queryName("idle_windows").format("memory").outputMode("append").start();
    // One file goes to one of the two partitions (files are spread by name); the other partition stays silent.
    const lines = ["12:00:10", "12:00:40", "12:01:30", "12:05:00"].map((time) => JSON.stringify({ time: `2026-01-01T${time}Z`, word: "w" }));
    await writeFile(join(folder, "events.json"), `${lines.join("\n")}\n`);
    await query.processAllAvailable();
    const deadline = Date.now() + 20_000;
    while (session.table("idle_windows").length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const windows = session.table("idle_windows").map((row) => `${new Date((row.window as { start: number }).start).toISOString().slice(11, 16)} ${String(row.count)}`).sort();
    assert.deepEqual(windows, ["12:00 2", "12:01 1"], "the watermark 12:04 closed the windows of 12:00 and 12:01 once the silent partition counted as idle");
  });
});
