// Reading what a chaos run left: the file sinks' committed files, the JetStream streams, and the checkpoints' LMDB facts.
import { readFile, stat } from "node:fs/promises";
import type { JetStreamAccess } from "../../../src/actors/jetstream.ts";
import { committedFiles } from "../../../src/connectors/sinks/files.ts";
import type { Row } from "../../../src/core/types.ts";
import { CheckpointStorage } from "../../../src/state/lmdb-storage.ts";

/** One committed file: its rows, and when it was written (at the epoch's barrier, before its commit). */
export interface CommittedFile {
  readonly path: string;
  readonly rows: readonly Row[];
  readonly writtenAt: number;
}

/** The committed files of a file sink, in commit order (what a reader of its log sees). */
export async function readFileSink(folder: string): Promise<CommittedFile[]> {
  const files: CommittedFile[] = [];
  for (const path of await committedFiles(folder)) {
    const text = await readFile(path, "utf8");
    const rows = text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as Row);
    files.push({ path, rows, writtenAt: (await stat(path)).mtimeMs });
  }
  return files;
}

/** Every message of a stream, in stream order, decoded as JSON. */
export async function readStream(access: JetStreamAccess, stream: string): Promise<Row[]> {
  if ((await access.streamInfo(stream)) === undefined) return [];
  const decoder = new TextDecoder();
  const cursor = await access.openCursor(stream, { startSequence: 1 });
  const rows: Row[] = [];
  try {
    for (let end = await cursor.end(); cursor.handedOut() < end; end = await cursor.end()) {
      await cursor.fetch(Math.min(end - cursor.handedOut(), 5000), 5000, (message) => rows.push(JSON.parse(decoder.decode(message.payload)) as Row));
    }
  } finally {
    await cursor.close();
  }
  return rows;
}

/** What a checkpoint holds about its epochs, read with the engine's own LMDB adapter while no process runs the query. */
export interface CheckpointFacts {
  /** Committed epochs still recorded, oldest first (older ones are pruned). */
  readonly commits: readonly number[];
  /** Epochs with state changes not folded into the state. */
  readonly pendingDeltas: readonly number[];
}

export async function readCheckpoint(folder: string): Promise<CheckpointFacts | undefined> {
  try {
    await stat(`${folder}/data.mdb`);
  } catch {
    return undefined; // killed before the query created its checkpoint: nothing to inspect yet
  }
  const storage = CheckpointStorage.open(folder);
  try {
    return { commits: storage.commits().map((commit) => commit.epoch), pendingDeltas: storage.pendingEpochs() };
  } finally {
    await storage.close();
  }
}
