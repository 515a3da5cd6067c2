// Hostile: a stalled attempt's sink that opens after the attempt replacing it prepared an epoch. Driver A begins its
// attempt on the checkpoint (sequence 1) and stalls before opening its sinks; driver B takes the checkpoint over
// (sequence 2), opens its file sink and prepares epoch 5. A wakes and opens its sink, still resuming after epoch 4: the
// sink's recovery discards every preparation of an epoch after 4, B's too. B's commit of 5 then finds its files gone
// and fails, and since the checkpoint has 5 committed, the next start finds nothing to finish: epoch 5's rows are lost.
// The fence's sequence (decision 78) says B's preparation is newer than the opening writer and not its to discard.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { committedFiles, FileSinkProvider } from "../../../src/connectors/sinks/files.ts";
import type { SinkWriter } from "../../../src/connectors/sinks/sink.ts";
import type { Row } from "../../../src/core/types.ts";
import { sinkRequest, tempFolder } from "../../connectors/helpers.ts";

describe("hostile: a stalled attempt's sink opening after its replacement prepared", () => {
  it("leaves the newer attempt's preparation, which then commits", async () => {
    const folder = await tempFolder();
    const output = join(folder.path, "out");
    try {
      const replacing = await openWriter(output, "bbbbbbbb-0000-4000-8000-000000000000", 2);
      await replacing.endEpoch?.(5, [{ id: "committed" }]);
      await openWriter(output, "aaaaaaaa-0000-4000-8000-000000000000", 1);
      await replacing.commitEpoch?.(5);
      assert.deepEqual(await readRows(await committedFiles(output)), [{ id: "committed" }]);
    } finally {
      await folder.remove();
    }
  });
});

/** A writer of the attempt with `sequence` on the checkpoint, resuming after epoch 4. */
async function openWriter(output: string, runId: string, sequence: number): Promise<SinkWriter> {
  const writer = new FileSinkProvider(sinkRequest("json", { path: output })).createWriter();
  await writer.open({ queryName: "stale-open", queryId: "query-1", outputMode: "append", orderReproducible: true, checkpointed: true, lastCommittedEpoch: 4, attempt: { runId, number: 0, sequence } });
  return writer;
}

async function readRows(files: readonly string[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const file of files) for (const line of (await readFile(file, "utf8")).split("\n")) if (line !== "") rows.push(JSON.parse(line) as Row);
  return rows;
}
