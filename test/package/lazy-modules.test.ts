// What importing the package loads, and what loads only on first use (ARCHITECTURE.md decision 54): lmdb without a
// checkpoint location, the Parquet writer without a Parquet sink, the worker host without a worker. A query that needs
// such a module and cannot load it fails at start(), naming the package.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const hooks = fileURLToPath(new URL("../helpers/module-hooks.mjs", import.meta.url));

/** Runs `code` (an ES module) in a child with tsx and the hooks; returns its stdout and the module URLs it loaded. */
async function child(code: string, broken: readonly string[] = []): Promise<{ stdout: string; loaded: string[] }> {
  const folder = await mkdtemp(join(tmpdir(), "rill-lazy-"));
  try {
    const loaded = join(folder, "loaded.txt");
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--import", hooks, "--input-type=module", "-e", code], {
      cwd: root,
      env: { ...process.env, RILL_TEST_LOADED: loaded, RILL_TEST_BROKEN: broken.join(",") },
      timeout: 60_000,
    });
    return { stdout, loaded: (await readFile(loaded, "utf8").catch(() => "")).split("\n").filter((line) => line !== "") };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

it("importing the package loads neither lmdb, nor the Parquet writer, nor the worker host and its service", async () => {
  const { loaded } = await child(`await import("./src/index.ts");`);
  assert.ok(loaded.some((url) => url.endsWith("/src/index.ts")), "the hooks saw the package load");
  for (const lazy of ["/node_modules/lmdb/", "/node_modules/hyparquet-writer/", "/src/workers/host.ts", "/src/workers/deployment.ts", "/src/state/lmdb-storage.ts", "/src/state/lmdb-outbox.ts"]) {
    assert.deepEqual(loaded.filter((url) => url.includes(lazy)), [], `${lazy} loads only on first use`);
  }
});

it("a query with a checkpoint location fails at start() with a CheckpointError naming lmdb when lmdb cannot load", async () => {
  const code = `
    import { mkdtempSync } from "node:fs";
    import { tmpdir } from "node:os";
    import { join } from "node:path";
    import { MemoryStream, Session, z } from "./src/index.ts";
    const session = Session.builder().appName("rill-test").config("rill.transport", "inprocess").log(() => undefined).getOrCreate();
    const input = new MemoryStream(session, z.object({ n: z.number() }));
    const location = join(mkdtempSync(join(tmpdir(), "rill-lazy-checkpoint-")), "checkpoint");
    try {
      await input.toDF().writeStream.format("memory").queryName("lazy").option("checkpointLocation", location).start();
      console.log("started");
    } catch (error) {
      console.log(JSON.stringify({ name: error.name, message: error.message }));
    }
    await session.stop();`;
  const { stdout } = await child(code, ["lmdb"]);
  const failure = JSON.parse(stdout.trim()) as { name: string; message: string };
  assert.equal(failure.name, "CheckpointError");
  assert.match(failure.message, /package 'lmdb'/);
});

it("a Parquet file sink fails at start(), naming hyparquet-writer, when it cannot load", async () => {
  const code = `
    import { mkdtempSync } from "node:fs";
    import { tmpdir } from "node:os";
    import { join } from "node:path";
    import { MemoryStream, Session, z } from "./src/index.ts";
    const session = Session.builder().appName("rill-test").config("rill.transport", "inprocess").log(() => undefined).getOrCreate();
    const input = new MemoryStream(session, z.object({ n: z.number() }));
    const folder = mkdtempSync(join(tmpdir(), "rill-lazy-parquet-"));
    try {
      await input.toDF().writeStream.format("parquet").option("path", join(folder, "out")).option("checkpointLocation", join(folder, "checkpoint")).start();
      console.log("started");
    } catch (error) {
      console.log(JSON.stringify({ name: error.name, message: error.message }));
    }
    await session.stop();`;
  const { stdout } = await child(code, ["hyparquet-writer"]);
  const failure = JSON.parse(stdout.trim()) as { name: string; message: string };
  // The sink opens in the query's start; its failure reaches the caller as a StreamingQueryError carrying the message.
  assert.equal(failure.name, "StreamingQueryError");
  assert.match(failure.message, /cannot load its Parquet writer \(package 'hyparquet-writer'\)/);
});
