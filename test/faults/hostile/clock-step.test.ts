// Hostile: which attempt's preparation of a committed epoch a restart publishes, when the wall clock stepped back
// between two drivers' starts on one checkpoint (NTP correcting a clock that ran ahead). Driver A opens, resumes after
// epoch 4, stalls (SIGSTOP, a long pause) before committing 5; the clock steps back 60 s; driver B takes the checkpoint
// over, resumes after epoch 4 too, prepares 5 and commits it; A wakes and writes its own preparation of 5 (the sink's
// file is not fenced); B dies before publishing. The next start must publish B's rows, the ones the checkpoint's
// commit of 5 matches (decision 70). Attempts of two runs resuming at the same point were ordered by `openedAt`, the
// wall clock; now by the sequence number each attempt's begin took in the checkpoint's fence (decision 78).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { committedFiles, FileSinkProvider } from "../../../src/connectors/sinks/files.ts";
import { committingPreparation, type PreparedBy } from "../../../src/connectors/sinks/prepared-epochs.ts";
import type { SinkContext, SinkWriter } from "../../../src/connectors/sinks/sink.ts";
import { CheckpointError } from "../../../src/core/errors.ts";
import type { Row } from "../../../src/core/types.ts";
import { CheckpointStorage } from "../../../src/state/lmdb-storage.ts";
import { runChild } from "../../helpers/child.ts";
import { sinkRequest, tempFolder } from "../../connectors/helpers.ts";

const STALLED_RUN = "aaaaaaaa-0000-4000-8000-000000000000";
const COMMITTING_RUN = "bbbbbbbb-0000-4000-8000-000000000000";
const START = Date.UTC(2026, 11, 2, 3, 0, 0);

describe("hostile: the committing preparation across a clock step", () => {
  it("picks the preparation of the attempt that took the checkpoint last, though its clock read earlier", () => {
    // The checkpoint's fence numbered A's begin 1 and B's, after it, 2.
    const stalled: PreparedBy = { runId: STALLED_RUN, number: 0, resumedAfter: 4, openedAt: START, sequence: 1 };
    // B started 10 s after A in real time, after the clock was stepped back 60 s.
    const committing: PreparedBy = { runId: COMMITTING_RUN, number: 0, resumedAfter: 4, openedAt: START + 10_000 - 60_000, sequence: 2 };
    const chosen = committingPreparation([{ name: "000000000005-aaaaaaaa0000_0", attempt: stalled }, { name: "000000000005-bbbbbbbb0000_0", attempt: committing }]);
    assert.equal(chosen?.attempt, committing, `published the preparation of run ${chosen?.attempt?.runId.slice(0, 8)}`);
  });

  it("publishes the replacing driver's rows at the next start: its attempt began in another process on the same checkpoint, with a clock stepped back", async () => {
    const folder = await tempFolder();
    const checkpoint = join(folder.path, "checkpoint");
    const output = join(folder.path, "out");
    let storage: CheckpointStorage | undefined;
    try {
      // Driver A: epochs 0-4 committed, then its next attempt begins and its sink opens; A stalls.
      storage = CheckpointStorage.open(checkpoint);
      const driverA = { runId: STALLED_RUN, number: 0 };
      await storage.beginAttempt(driverA, -1, undefined);
      for (let epoch = 0; epoch <= 4; epoch++) await storage.commit({ epoch, offsets: { src: epoch }, committedAt: `t${epoch}` }, 100, driverA);
      const stalledAttempt = { runId: STALLED_RUN, number: 1 };
      const stalledSequence = await storage.beginAttempt(stalledAttempt, 4, driverA);
      const stalledSink = await openFileSink(output, { lastCommittedEpoch: 4, attempt: { ...stalledAttempt, sequence: stalledSequence } }, START);
      // Driver B, another process, takes the checkpoint over after the clock stepped back 60 s.
      const child = await runChild(`
        import { CheckpointStorage } from "./src/state/lmdb-storage.ts";
        const storage = CheckpointStorage.open(${JSON.stringify(checkpoint)});
        const sequence = await storage.beginAttempt({ runId: ${JSON.stringify(COMMITTING_RUN)}, number: 0 }, 4, undefined);
        await storage.close();
        console.log(JSON.stringify({ sequence }));
      `);
      assert.equal(child.code, 0, child.stderr);
      const { sequence: committingSequence } = JSON.parse(child.stdout.trim()) as { sequence: number };
      assert.ok(committingSequence > stalledSequence, `the later begin's sequence ${committingSequence} is above ${stalledSequence}`);
      const committingAttempt = { runId: COMMITTING_RUN, number: 0 };
      const committingSink = await openFileSink(output, { lastCommittedEpoch: 4, attempt: { ...committingAttempt, sequence: committingSequence } }, START + 10_000 - 60_000);
      await committingSink.endEpoch?.(5, [{ id: "committed" }]);
      await storage.commit({ epoch: 5, offsets: { src: 5 }, committedAt: "t5" }, 100, committingAttempt);
      // A wakes: its commit is fenced out, but its sink's preparation of 5 is written beside B's. B dies unpublished.
      await stalledSink.endEpoch?.(5, [{ id: "stale" }]);
      await assert.rejects(storage.commit({ epoch: 5, offsets: { src: 5 }, committedAt: "t5" }, 100, stalledAttempt), CheckpointError);
      assert.equal(storage.lastCommit()?.epoch, 5);
      // The next start (a third run) finishes epoch 5 from the committing attempt's preparation.
      const nextAttempt = { runId: "cccccccc-0000-4000-8000-000000000000", number: 0 };
      const nextSequence = await storage.beginAttempt(nextAttempt, 5, undefined);
      await openFileSink(output, { lastCommittedEpoch: 5, attempt: { ...nextAttempt, sequence: nextSequence } }, START + 20_000 - 60_000);
      assert.deepEqual(await readRows(await committedFiles(output)), [{ id: "committed" }]);
    } finally {
      await storage?.close();
      await folder.remove();
    }
  });
});

/** A file sink writer opened on `output` with its clock reading `now`. */
async function openFileSink(output: string, context: Pick<SinkContext, "lastCommittedEpoch" | "attempt">, now: number): Promise<SinkWriter> {
  const writer = new FileSinkProvider(sinkRequest("json", { path: output }), { now: () => now }).createWriter();
  await writer.open({ queryName: "clock-step", queryId: "query-1", outputMode: "append", orderReproducible: true, checkpointed: true, ...context });
  return writer;
}

async function readRows(files: readonly string[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const file of files) for (const line of (await readFile(file, "utf8")).split("\n")) if (line !== "") rows.push(JSON.parse(line) as Row);
  return rows;
}
