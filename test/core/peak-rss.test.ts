// The demo's "peak RSS" is its own: a process spawned by a large parent must not report the parent's resident size.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";

const CHILD = `
import { peakRssMb } from "./src/core/peak-rss.ts";
process.stdout.write(JSON.stringify({ own: peakRssMb(), maxRss: process.resourceUsage().maxRSS / 1024 }));
`;

describe("peakRssMb", { skip: process.platform !== "linux" && "VmHWM is Linux's" }, () => {
  it("a child spawned while its parent holds 400 MB reports its own peak, not the parent's", () => {
    const ballast = Buffer.alloc(400 * 1024 * 1024, 1);
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD], { encoding: "utf8" });
    assert.equal(child.status, 0, child.stderr);
    const { own, maxRss } = JSON.parse(child.stdout) as { own: number; maxRss: number };
    // The setup shows the trap: getrusage's ru_maxrss carries the parent's resident size across exec.
    assert.ok(maxRss > 350, `ru_maxrss ${maxRss} MB carries the parent's 400 MB (parent ${Math.round(process.memoryUsage().rss / 1e6)} MB)`);
    assert.ok(own > 10 && own < 250, `own peak ${own} MB`);
    assert.equal(ballast.length, 400 * 1024 * 1024);
  });
});
