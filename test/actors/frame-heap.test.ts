// Frames an output channel sends leave nothing alive through scavenges (decision 56): a frame literal built by
// spreading a fixed part (`{ ...fixed, rows }`) made V8 create a map for every frame, which kept ~300 bytes a frame
// alive until a mark-compact and, in scenario (b), 250 KB more through each scavenge.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, it } from "node:test";

const child = fileURLToPath(new URL("./fixtures/frame-heap.ts", import.meta.url));

async function bytesPerFrame(mode: "named" | "positional"): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--expose-gc", "--import", "tsx", child, mode]);
  return (JSON.parse(stdout) as { bytesPerFrame: number }).bytesPerFrame;
}

describe("an output channel's frames", () => {
  // A map and its descriptors are ~300 bytes; a frame that shares its map with the others leaves under 30 on average.
  for (const mode of ["named", "positional"] as const) {
    it(`of ${mode} rows leave under 100 bytes a frame alive through scavenges (no map a frame)`, async () => {
      const bytes = await bytesPerFrame(mode);
      assert.ok(bytes < 100, `${bytes.toFixed(0)} bytes a frame survived two scavenges`);
    });
  }
});
