// Test helper: a temporary folder for the tests of a suite, made before the first and removed after the last.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";

/** Call in a describe(): the suite's folder (named `prefix` and a random tail), to read from its tests. */
export function useTempFolder(prefix: string): () => string {
  let folder: string | undefined;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    if (folder !== undefined) await rm(folder, { recursive: true, force: true });
  });
  return () => {
    if (folder === undefined) throw new Error(`the temporary folder ${prefix}* is made before the suite's first test`);
    return folder;
  };
}
