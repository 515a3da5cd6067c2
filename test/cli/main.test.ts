// The main job, run as a user runs it: it prints live results and latency, and ends by itself.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);

async function main(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return await run(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
}

describe("npm start (the main job)", () => {
  it("runs over a private nats-server, prints counts, alerts and latency, and ends after --duration", async () => {
    const { stdout } = await main(["--duration", "2 seconds", "--rate", "2000"]);
    assert.match(stdout, /on nats \(nats:\/\/127\.0\.0\.1:\d+\)/);
    assert.match(stdout, /\[epoch 0\] counts per gt: .*=\d+/);
    assert.match(stdout, /ALERT #1: user [a-i]/);
    const summary = /activity_counts: (\d+) records in, \d+ records\/s; latency ingest-to-sink p50 ([\d.]+) ms, p99 ([\d.]+) ms/.exec(stdout);
    assert.ok(summary, stdout);
    assert.ok(Number(summary[1]) > 1000, `records in: ${summary[1]}`);
  });

  it("says once that nats-server is missing and runs on the in-process transport", async () => {
    const { stdout, stderr } = await main(["--duration", "1 second", "--rate", "1000"], { NATS_SERVER_BIN: "/nonexistent/nats-server" });
    assert.equal(stderr.match(/nats-server is not installed/g)?.length, 1, stderr);
    assert.match(stderr, /apt-get install nats-server/);
    assert.match(stdout, /on inprocess \(in-process\)/);
    assert.match(stdout, /activity_counts: \d+ records in/);
  });
});
