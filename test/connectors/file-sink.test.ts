// The file sink's commit protocol: files out of sight until commit, an idempotent commit, recovery at open, log compaction and retention.
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { describe, it } from "node:test";
import { createSinkProvider } from "../../src/connectors/sinks/registry.ts";
import { committedFiles, committingPreparation, FileSinkProvider, recoveryAction, TEMPORARY_FOLDER, type FileSinkEnvironment } from "../../src/connectors/sinks/files.ts";
import { LOG_FOLDER } from "../../src/connectors/sinks/files-log.ts";
import type { OutputMode, SinkContext, SinkWriter } from "../../src/connectors/sinks/sink.ts";
import { ConfigError, RillError } from "../../src/core/errors.ts";
import type { Row } from "../../src/core/types.ts";
import { sinkRequest, tempFolder } from "./helpers.ts";

type Context = Partial<SinkContext>;

async function openWriter(path: string, options: Record<string, string> = {}, context: Context = {}, environment: FileSinkEnvironment = {}): Promise<SinkWriter> {
  const writer = new FileSinkProvider(sinkRequest("json", { path, ...options }), environment).createWriter();
  await writer.open({ queryName: "test", queryId: "query-1", outputMode: "append", orderReproducible: true, checkpointed: true, lastCommittedEpoch: -1, ...context });
  return writer;
}

/** endEpoch then commitEpoch, as the sink actor does without checkpoints. */
async function writeEpoch(writer: SinkWriter, epoch: number, rows: readonly Row[]): Promise<void> {
  await writer.endEpoch?.(epoch, rows);
  await writer.commitEpoch?.(epoch);
}

/** Files a folder listing shows, without the sink's own `_` folders. */
async function visibleFiles(path: string): Promise<string[]> {
  return (await readdir(path)).filter((name) => !name.startsWith("_") && !name.startsWith(".")).sort();
}

async function readRows(files: readonly string[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const file of files) for (const line of (await readFile(file, "utf8")).split("\n")) if (line !== "") rows.push(JSON.parse(line) as Row);
  return rows;
}

/** The one folder in which epoch `epoch` was prepared (`_temporary/<writer>/<epoch>-<attempt>`). */
async function preparedFolder(path: string, epoch: number): Promise<string> {
  const writerFolder = join(path, TEMPORARY_FOLDER, (await readdir(join(path, TEMPORARY_FOLDER)))[0] as string);
  const folders = (await readdir(writerFolder)).filter((name) => name.startsWith(`${epoch}-`));
  assert.equal(folders.length, 1, `folders of epoch ${epoch}: ${folders.join(", ")}`);
  return join(writerFolder, folders[0] as string);
}

async function withFolder(run: (path: string) => Promise<void>): Promise<void> {
  const folder = await tempFolder();
  try {
    await run(join(folder.path, "out"));
  } finally {
    await folder.remove();
  }
}

describe("file sink commit", () => {
  it("keeps an epoch's rows out of sight until commitEpoch, then lists them in the log", () => withFolder(async (path) => {
    const writer = await openWriter(path);
    await writer.endEpoch?.(0, [{ id: 1 }, { id: 2 }]);
    assert.deepEqual(await visibleFiles(path), []);
    assert.deepEqual(await committedFiles(path), []);
    await writer.commitEpoch?.(0);
    const files = await committedFiles(path);
    assert.equal(files.length, 1);
    assert.deepEqual((await visibleFiles(path)).map((name) => join(path, name)), files);
    assert.match(basename(files[0] as string), /^part-00000000-[0-9a-f]{12}-0000\.json$/);
    assert.deepEqual(await readRows(files), [{ id: 1 }, { id: 2 }]);
    assert.deepEqual(await readdir(join(path, LOG_FOLDER)), ["0"]);
    await writer.close();
    assert.deepEqual(await readdir(path), [LOG_FOLDER, basename(files[0] as string)].sort());
  }));

  it("adds nothing for a repeated commitEpoch, in the same run or replayed after a restart", () => withFolder(async (path) => {
    const first = await openWriter(path);
    await writeEpoch(first, 0, [{ id: 1 }]);
    await first.commitEpoch?.(0);
    const restarted = await openWriter(path, {}, { lastCommittedEpoch: 0 });
    await restarted.endEpoch?.(0, [{ id: 1 }]);
    await restarted.commitEpoch?.(0);
    await writeEpoch(restarted, 1, [{ id: 2 }]);
    assert.deepEqual(await readRows(await committedFiles(path)), [{ id: 1 }, { id: 2 }]);
    assert.equal((await visibleFiles(path)).length, 2);
    assert.deepEqual((await readdir(join(path, LOG_FOLDER))).sort(), ["0", "1"]);
  }));

  it("logs an empty epoch without writing or preparing a file", () => withFolder(async (path) => {
    const writer = await openWriter(path);
    await writer.endEpoch?.(0, []);
    await assert.rejects(readdir(join(path, TEMPORARY_FOLDER)), { code: "ENOENT" });
    await writer.commitEpoch?.(0);
    assert.deepEqual(await visibleFiles(path), []);
    const entry = JSON.parse(await readFile(join(path, LOG_FOLDER, "0"), "utf8")) as { epoch: number; files: unknown[] };
    assert.equal(entry.epoch, 0);
    assert.deepEqual(entry.files, []);
  }));

  it("gives each run without a checkpoint its own file names, so a second run on the path adds to the first", () => withFolder(async (path) => {
    for (const run of [1, 2]) {
      const writer = await openWriter(path, {}, { checkpointed: false });
      await writeEpoch(writer, 0, [{ run, epoch: 0 }]);
      await writeEpoch(writer, 1, [{ run, epoch: 1 }]);
      await writer.close();
    }
    assert.deepEqual(await readRows(await committedFiles(path)), [{ run: 1, epoch: 0 }, { run: 1, epoch: 1 }, { run: 2, epoch: 0 }, { run: 2, epoch: 1 }]);
    assert.deepEqual((await readdir(join(path, LOG_FOLDER))).sort(), ["0", "1", "2", "3"]);
  }));

  it("rejects update and complete mode at open, naming the path", () => withFolder(async (path) => {
    for (const outputMode of ["update", "complete"] as OutputMode[]) {
      await assert.rejects(openWriter(path, {}, { outputMode }), (error: Error) =>
        error instanceof ConfigError && error.message.startsWith(`The file sink supports only append output mode, as Spark's does; the query uses ${outputMode} mode (${path}).`));
    }
  }));
});

describe("file sink recovery", () => {
  it("discards prepared epochs after the last committed one and finishes committed epochs the log lacks", () => withFolder(async (path) => {
    const crashed = await openWriter(path);
    for (const epoch of [0, 1]) await writeEpoch(crashed, epoch, [{ epoch }]);
    // Epoch 2 was committed by the checkpoint but the process died before commitEpoch; epoch 3 was only prepared.
    await crashed.endEpoch?.(2, [{ epoch: 2 }]);
    await crashed.endEpoch?.(3, [{ epoch: 3 }]);
    assert.deepEqual(await readRows(await committedFiles(path)), [{ epoch: 0 }, { epoch: 1 }]);

    const restarted = await openWriter(path, {}, { lastCommittedEpoch: 2 });
    assert.deepEqual(await readRows(await committedFiles(path)), [{ epoch: 0 }, { epoch: 1 }, { epoch: 2 }]);
    const [writerFolder] = await readdir(join(path, TEMPORARY_FOLDER));
    assert.deepEqual(await readdir(join(path, TEMPORARY_FOLDER, writerFolder as string)), []);
    await writeEpoch(restarted, 3, [{ epoch: 3, replayed: true }]);
    assert.deepEqual(await readRows(await committedFiles(path)), [{ epoch: 0 }, { epoch: 1 }, { epoch: 2 }, { epoch: 3, replayed: true }]);
    assert.equal((await visibleFiles(path)).length, 4);
  }));

  it("finishes an epoch whose files were moved into view before the crash but not logged", () => withFolder(async (path) => {
    const crashed = await openWriter(path);
    await crashed.endEpoch?.(0, [{ id: 1 }]);
    const temporary = await preparedFolder(path, 0);
    const part = (await readdir(temporary)).find((name) => name.startsWith("part-")) as string;
    await rename(join(temporary, part), join(path, part));
    await openWriter(path, {}, { lastCommittedEpoch: 0 });
    assert.deepEqual(await committedFiles(path), [join(path, part)]);
    assert.deepEqual(await readRows(await committedFiles(path)), [{ id: 1 }]);
  }));

  it("discards everything prepared when the checkpoint has no epoch committed", () => withFolder(async (path) => {
    const crashed = await openWriter(path);
    await crashed.endEpoch?.(0, [{ id: 1 }]);
    await openWriter(path, {}, { lastCommittedEpoch: -1 });
    assert.deepEqual(await committedFiles(path), []);
    const [writerFolder] = await readdir(join(path, TEMPORARY_FOLDER));
    assert.deepEqual(await readdir(join(path, TEMPORARY_FOLDER, writerFolder as string)), []);
  }));

  it("fails clearly when a committed epoch's prepared files are incomplete", () => withFolder(async (path) => {
    const crashed = await openWriter(path);
    await crashed.endEpoch?.(0, [{ id: 1 }]);
    const temporary = await preparedFolder(path, 0);
    await rm(join(temporary, "_prepared.json"));
    await assert.rejects(openWriter(path, {}, { lastCommittedEpoch: 0 }), (error: Error) =>
      error instanceof RillError && error.code === "SINK_RECOVERY" && error.message.includes("cannot finish epoch 0"));
  }));

  it("accepts a commit replayed after a restart for an epoch that was empty or already recovered", () => withFolder(async (path) => {
    const crashed = await openWriter(path);
    await crashed.endEpoch?.(0, []);
    await crashed.endEpoch?.(1, [{ id: 1 }]);
    const restarted = await openWriter(path, {}, { lastCommittedEpoch: 1 });
    await restarted.commitEpoch?.(0);
    await restarted.commitEpoch?.(1);
    assert.deepEqual(await readRows(await committedFiles(path)), [{ id: 1 }]);
    await assert.rejects(Promise.resolve(restarted.commitEpoch?.(2)), (error: Error) =>
      error instanceof RillError && error.code === "SINK_COMMIT" && error.message.includes("commit epoch 2, which it never prepared"));
  }));

  it("decides each prepared epoch from the last committed and the last logged epoch", () => {
    assert.equal(recoveryAction(5, 4, 3), "discard");
    assert.equal(recoveryAction(4, 4, 3), "finish");
    assert.equal(recoveryAction(3, 4, 3), "clean");
    assert.equal(recoveryAction(0, -1, -1), "discard");
  });
});

describe("file sink attempts (a stalled attempt that resumes)", () => {
  const run = "5f0c2a9e-1111-4c2d-9b7a-0d6e3c2b1a00";
  it("commits the committing attempt's rows although a stalled attempt prepared the same epoch again after it", () => withFolder(async (path) => {
    // Attempt 0 prepared epoch 1, stalled and was given up; attempt 1 resumed at the same commit and prepared epoch 1
    // with rows cut differently; attempt 0 then resumed and prepared epoch 1 once more, before attempt 1's commit.
    const stalled = await openWriter(path, {}, { lastCommittedEpoch: 0, attempt: { runId: run, number: 0 } });
    await stalled.endEpoch?.(1, [{ id: 1 }, { id: 2 }]);
    const next = await openWriter(path, {}, { lastCommittedEpoch: 0, attempt: { runId: run, number: 1 } });
    await next.endEpoch?.(1, [{ id: 1 }]);
    await stalled.endEpoch?.(1, [{ id: 1 }, { id: 2 }, { id: 3 }]);
    await next.commitEpoch?.(1);
    assert.deepEqual(await readRows(await committedFiles(path)), [{ id: 1 }]);
    // Attempt 1 goes on: epoch 2 holds what epoch 1 did not, so every row is committed once.
    await next.endEpoch?.(2, [{ id: 2 }, { id: 3 }]);
    await next.commitEpoch?.(2);
    assert.deepEqual(await readRows(await committedFiles(path)), [{ id: 1 }, { id: 2 }, { id: 3 }]);
    // The stalled attempt's folder never became output; the next open removes it.
    await openWriter(path, {}, { lastCommittedEpoch: 2, attempt: { runId: run, number: 2 } });
    const writerFolder = join(path, TEMPORARY_FOLDER, (await readdir(join(path, TEMPORARY_FOLDER)))[0] as string);
    assert.deepEqual(await readdir(writerFolder), []);
    assert.deepEqual(await readRows(await committedFiles(path)), [{ id: 1 }, { id: 2 }, { id: 3 }]);
  }));

  it("finishes a committed epoch at recovery from the committing attempt's files, not a stalled attempt's", () => withFolder(async (path) => {
    const stalled = await openWriter(path, {}, { lastCommittedEpoch: 0, attempt: { runId: run, number: 0 } });
    const committing = await openWriter(path, {}, { lastCommittedEpoch: 0, attempt: { runId: run, number: 1 } });
    await committing.endEpoch?.(1, [{ id: "committed" }]);
    await stalled.endEpoch?.(1, [{ id: "stale" }]);
    // The checkpoint committed epoch 1 (attempt 1's), and the process died before the sink's commit; a new driver run.
    await openWriter(path, {}, { lastCommittedEpoch: 1, attempt: { runId: "9a8b7c6d-0000-4000-8000-000000000000", number: 0 } });
    assert.deepEqual(await readRows(await committedFiles(path)), [{ id: "committed" }]);
    const writerFolder = join(path, TEMPORARY_FOLDER, (await readdir(join(path, TEMPORARY_FOLDER)))[0] as string);
    assert.deepEqual(await readdir(writerFolder), []);
  }));

  it("takes the newest preparation: latest resume point, then rollback number in a run, then opening time", () => {
    const of = (runId: string, number: number, resumedAfter: number, openedAt: number) => ({ attempt: { runId, number, resumedAfter, openedAt } });
    const legacy = { attempt: undefined };
    assert.equal(committingPreparation([]), undefined);
    assert.equal(committingPreparation([legacy]), legacy);
    const a0 = of("a", 0, 3, 100);
    const a1 = of("a", 1, 3, 50);
    const b0 = of("b", 0, 3, 200);
    const a2 = of("a", 2, 4, 10);
    assert.equal(committingPreparation([a1, a0, legacy]), a1);
    assert.equal(committingPreparation([a0, b0]), b0);
    assert.equal(committingPreparation([b0, a2, a0]), a2);
  });

  it("takes the preparation of the attempt with the higher checkpoint sequence when both have one, whatever their clocks", () => {
    const of = (runId: string, number: number, resumedAfter: number, openedAt: number, sequence?: number) => ({ attempt: { runId, number, resumedAfter, openedAt, ...(sequence === undefined ? {} : { sequence }) } });
    const stalled = of("a", 0, 3, 200, 1);
    const replacing = of("b", 0, 3, 100, 2);
    assert.equal(committingPreparation([stalled, replacing]), replacing);
    assert.equal(committingPreparation([replacing, stalled]), replacing);
    // A preparation of a Rill before sequences is compared by resume point, rollback number and clock, as before.
    const older = of("c", 0, 3, 300);
    assert.equal(committingPreparation([replacing, older]), older);
    assert.equal(committingPreparation([older, of("c", 0, 4, 10, 5)])?.attempt.resumedAfter, 4);
  });
});

describe("file sink log compaction and retention", () => {
  it("merges the log every compactInterval epochs and still lists every file", () => withFolder(async (path) => {
    const writer = await openWriter(path, { compactInterval: "10" });
    for (let epoch = 0; epoch < 25; epoch++) await writeEpoch(writer, epoch, [{ epoch }]);
    const logFiles = (await readdir(join(path, LOG_FOLDER))).sort((a, b) => parseInt(a) - parseInt(b));
    assert.deepEqual(logFiles, ["19.compact", "20", "21", "22", "23", "24"]);
    const rows = await readRows(await committedFiles(path));
    assert.deepEqual(rows, Array.from({ length: 25 }, (_, epoch) => ({ epoch })));
  }));

  it("keeps a restarted query's commits idempotent across a compaction", () => withFolder(async (path) => {
    const first = await openWriter(path, { compactInterval: "3" });
    for (let epoch = 0; epoch < 3; epoch++) await writeEpoch(first, epoch, [{ epoch }]);
    assert.deepEqual(await readdir(join(path, LOG_FOLDER)), ["2.compact"]);
    const restarted = await openWriter(path, { compactInterval: "3" }, { lastCommittedEpoch: 2 });
    await writeEpoch(restarted, 2, [{ epoch: 2, again: true }]);
    assert.equal((await committedFiles(path)).length, 3);
  }));

  it("deletes files committed longer ago than the retention at a compaction", () => withFolder(async (path) => {
    let now = Date.UTC(2024, 0, 1);
    const writer = await openWriter(path, { compactInterval: "5", retention: "1 hour" }, {}, { now: () => now });
    for (let epoch = 0; epoch < 5; epoch++) await writeEpoch(writer, epoch, [{ epoch }]);
    assert.equal((await visibleFiles(path)).length, 5);
    now += 2 * 3_600_000;
    for (let epoch = 5; epoch < 10; epoch++) await writeEpoch(writer, epoch, [{ epoch }]);
    assert.deepEqual(await readRows(await committedFiles(path)), [5, 6, 7, 8, 9].map((epoch) => ({ epoch })));
    assert.equal((await visibleFiles(path)).length, 5);
    assert.deepEqual(await readdir(join(path, LOG_FOLDER)), ["9.compact"]);
  }));

  it("lists nothing for a folder no sink has written", () => withFolder(async (path) => {
    await mkdir(path);
    assert.deepEqual(await committedFiles(path), []);
  }));
});

describe("file sink options", () => {
  it("is built by the registry for json, csv and parquet, with a description naming format and folder", () => withFolder(async (path) => {
    for (const format of ["json", "CSV", "parquet"]) {
      const provider = createSinkProvider({ ...sinkRequest(format, { checkpointLocation: "/tmp/cp" }), path });
      assert.equal(provider.format, format.toLowerCase());
      assert.equal(provider.guarantee, "transactional");
      assert.equal(provider.description, `FileSink[${format.toLowerCase()}, ${path}]`);
    }
  }));

  it("needs a path and names how to give one", () => {
    assert.throws(() => createSinkProvider(sinkRequest("json")), (error: Error) =>
      error instanceof ConfigError && error.message === "The file sink needs a path: .option('path', dir) or .start(dir)");
  });

  it("rejects unknown and invalid options, naming them", () => {
    assert.throws(() => createSinkProvider(sinkRequest("json", { path: "/tmp/x", compactIntrval: "5" })), /Unknown option 'compactIntrval' \(value '5'\) for the json sink\. Did you mean 'compactInterval'\?/);
    assert.throws(() => createSinkProvider(sinkRequest("json", { path: "/tmp/x", compactInterval: "0" })), /Option 'compactInterval' of the json sink is '0'; it must be a whole number at least 1/);
    assert.throws(() => createSinkProvider(sinkRequest("json", { path: "/tmp/x", retention: "a week" })), /retention/);
    assert.throws(() => createSinkProvider(sinkRequest("json", { path: "/tmp/x", header: "true" })), /Unknown option 'header'/);
  });

  it("refuses a path that is a file", () => withFolder(async (path) => {
    await mkdir(path);
    const file = join(path, "data.txt");
    await writeFile(file, "x");
    await assert.rejects(openWriter(file), (error: Error) => error instanceof ConfigError && error.message.includes(`'${file}' is a file`));
  }));
});
