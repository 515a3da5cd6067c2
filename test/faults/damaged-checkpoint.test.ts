// A damaged checkpoint never takes the process down: each kind of damage ends in a CheckpointError naming the file.
// The query runs in a child process (under --unhandled-rejections=strict), so a crash shows up as a signal instead of
// taking the test runner with it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, open, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { open as openLmdb } from "lmdb";
import { after, before, describe, it } from "node:test";
import { verifyHeader } from "../../src/state/checkpoint-verify.ts";
import { childEnvironment, useNatsServer } from "../helpers/nats.ts";

const server = useNatsServer();
const CHILD = join(import.meta.dirname, "checkpoint-child.ts");

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function runQuery(input: string, checkpoint: string): Promise<Outcome> {
  const child = spawn(process.execPath, ["--unhandled-rejections=strict", "--import", "tsx", CHILD, input, checkpoint], { stdio: ["ignore", "pipe", "pipe"], env: childEnvironment(server()) });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once("exit", (exitCode, exitSignal) => resolve([exitCode, exitSignal])));
  return { code, signal, stdout, stderr };
}

/** XORs `length` bytes at `position` of the file. */
async function flipBytes(file: string, position: number, length: number): Promise<void> {
  const handle = await open(file, "r+");
  try {
    const bytes = Buffer.alloc(length);
    await handle.read(bytes, 0, length, position);
    for (let index = 0; index < length; index++) bytes[index] = (bytes[index] as number) ^ 0xff;
    await handle.write(bytes, 0, length, position);
  } finally {
    await handle.close();
  }
}

async function overwrite(file: string, position: number, bytes: Buffer): Promise<void> {
  const handle = await open(file, "r+");
  try {
    await handle.write(bytes, 0, bytes.length, position);
  } finally {
    await handle.close();
  }
}

describe("a damaged checkpoint", () => {
  let folder: string;
  let input: string;
  let original: string;
  let copies = 0;

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-damaged-"));
    input = join(folder, "input");
    original = join(folder, "original");
    await mkdir(input);
    for (let file = 0; file < 4; file++) {
      const lines = Array.from({ length: 1500 }, (_, index) => JSON.stringify({ id: file * 1500 + index, user: `u${index % 250}`, x: index % 17 }));
      await writeFile(join(input, `part-${file}.json`), `${lines.join("\n")}\n`);
    }
    const first = await runQuery(input, original);
    assert.equal(first.stdout.trim(), "ok 250", `the first run writes the checkpoint: ${first.stderr}`);
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  /** A copy of the real checkpoint, damaged by `damage(data.mdb)`. */
  async function damaged(damage: (file: string) => Promise<void>): Promise<string> {
    const copy = join(folder, `copy-${copies++}`);
    await cp(original, copy, { recursive: true });
    await damage(join(copy, "data.mdb"));
    return copy;
  }

  function assertCheckpointError(outcome: Outcome, checkpoint: string): void {
    assert.equal(outcome.signal, null, `the process died of ${outcome.signal}: ${outcome.stderr}`);
    assert.equal(outcome.code, 3, `a clear failure, not exit code ${outcome.code}: ${outcome.stdout} ${outcome.stderr}`);
    assert.match(outcome.stdout, /^failed CheckpointError: The checkpoint file '.*' is damaged/);
    assert.ok(outcome.stdout.includes(join(checkpoint, "data.mdb")), `the message names the file: ${outcome.stdout}`);
    assert.match(outcome.stdout, /Restore the checkpoint location from a backup, or start the query with a new checkpoint location/);
  }

  it("the undamaged checkpoint resumes", async () => {
    const checkpoint = await damaged(async () => undefined);
    assert.equal(verifyHeader(checkpoint).kind, "sound");
    assert.equal((await runQuery(input, checkpoint)).stdout.trim(), "ok 250");
  });

  it("with its meta pages overwritten by random bytes fails with a CheckpointError", async () => {
    const checkpoint = await damaged((file) => overwrite(file, 0, Buffer.from(Array.from({ length: 8192 }, (_, index) => (index * 7919 + 13) % 251))));
    assertCheckpointError(await runQuery(input, checkpoint), checkpoint);
  });

  it("with its meta pages zeroed fails with a CheckpointError", async () => {
    const checkpoint = await damaged((file) => overwrite(file, 0, Buffer.alloc(8192)));
    assertCheckpointError(await runQuery(input, checkpoint), checkpoint);
  });

  it("with only its second meta page overwritten fails with a CheckpointError", async () => {
    const checkpoint = await damaged((file) => overwrite(file, 4096, Buffer.alloc(4096, 0x5a)));
    assertCheckpointError(await runQuery(input, checkpoint), checkpoint);
  });

  it("truncated to half its size fails with a CheckpointError", async () => {
    const checkpoint = await damaged(async (file) => truncate(file, Math.floor((await stat(file)).size / 2)));
    assertCheckpointError(await runQuery(input, checkpoint), checkpoint);
  });

  it("with one bit flipped inside a state value fails with a CheckpointError naming the file: each value carries a CRC-32", async () => {
    let flipped = "";
    const checkpoint = await damaged(async (file) => {
      const contents = await readFile(file);
      // The stored bytes of one state value, as lmdb keeps them. They occur more than once in data.mdb (the fold moved
      // the epoch's change as it was, and its freed page still holds it): the bit is flipped in every copy.
      const raw = openLmdb<unknown, Array<string | number>>({ path: dirname(file), compression: false, noSubdir: false });
      const positions: number[] = [];
      let length = 0;
      try {
        for (const key of raw.getKeys({ start: ["state"], end: ["state", "\uffff"] })) {
          const bytes = raw.getBinary(key as Array<string | number>);
          if (!bytes || bytes.length < 8) continue;
          for (let at = contents.indexOf(bytes); at >= 0; at = contents.indexOf(bytes, at + 1)) positions.push(at);
          if (positions.length === 0) continue;
          length = bytes.length;
          flipped = JSON.stringify(key);
          break;
        }
      } finally {
        await raw.close();
      }
      assert.ok(positions.length > 0, "a state value's bytes are found in data.mdb");
      // The lowest bit of a byte in the middle of the value: a number or a character changes, the rest still decodes.
      for (const position of positions) {
        const middle = position + Math.floor(length / 2);
        await overwrite(file, middle, Buffer.from([(contents[middle] as number) ^ 0x01]));
      }
    });
    const outcome = await runQuery(input, checkpoint);
    assertCheckpointError(outcome, checkpoint);
    assert.match(outcome.stdout, /holds a value whose CRC-32 is 0x[0-9a-f]{8} where 0x[0-9a-f]{8} was written/, `flipped in ${flipped}`);
  });

  it("with bytes flipped at several offsets never kills the process: it resumes or fails with a CheckpointError", async () => {
    const size = (await stat(join(original, "data.mdb"))).size;
    for (const fraction of [0.13, 0.3, 0.5, 0.72, 0.77, 0.95]) {
      const checkpoint = await damaged((file) => flipBytes(file, Math.floor(size * fraction), 64));
      const outcome = await runQuery(input, checkpoint);
      assert.equal(outcome.signal, null, `flipped at ${fraction}: the process died of ${outcome.signal}: ${outcome.stderr}`);
      if (outcome.code !== 0) assertCheckpointError(outcome, checkpoint);
      else assert.match(outcome.stdout, /^ok \d+/);
    }
  });
});
