// `rill demo` (npm start), run as a user runs it: its counts agree with each other and with progress, and however it is
// stopped (its duration, Ctrl-C, SIGTERM, a closed pipe) it commits a last epoch, prints its summary and leaves neither
// a nats-server nor a folder behind.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { eventually, privateServer, rill, startRill, waitFor } from "./run-cli.ts";

const RUNNING = /running .* on nats \(nats:\/\/127\.0\.0\.1:(\d+)\)/;

/** The counts the demo printed agree: the last complete-mode table sums to the rows read, and every row over the threshold is counted. */
function assertConsistent(stdout: string): void {
  const tables = [...stdout.matchAll(/^\[epoch (\d+)\] counts per gt: (.*)$/gm)];
  const last = tables[tables.length - 1];
  assert.ok(last, stdout);
  const total = [...(last[2] ?? "").matchAll(/=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
  const counts = /^activity_counts: (\d+) records in, epochs 0\.\.(\d+) committed/m.exec(stdout);
  assert.ok(counts, stdout);
  assert.equal(total, Number(counts[1]), "the last table printed holds every row the query read");
  assert.equal(Number(last[1]), Number(counts[2]), "the last table printed is the last committed epoch's");
  const strong = /^strong_movements: (\d+) records in, .* over (\d+) output rows; (\d+) rows over magnitude 12/m.exec(stdout);
  assert.ok(strong, stdout);
  assert.equal(strong[2], strong[3], "every row over the threshold reached the sink inside a committed epoch");
  const printed = [...stdout.matchAll(/^strong movement #(\d+):/gm)].map((match) => Number(match[1]));
  const expected = Array.from({ length: Number(strong[3]) }, (_, index) => index + 1).filter((n) => n <= 5 || n % 200 === 0);
  assert.deepEqual(printed, expected);
  assert.equal((stdout.match(/^== Physical plan/gm) ?? []).length, 2, "both queries' plans are printed");
}

async function assertCleanedUp(port: number, storeDir: string | undefined): Promise<void> {
  assert.ok(await eventually(() => privateServer(port).pids.length === 0), `a nats-server on port ${port} outlived the demo`);
  assert.ok(storeDir, "the server's store folder was found while it ran");
  assert.equal(existsSync(storeDir), false, `${storeDir} outlived the demo`);
}

// Each case runs the demo in its own process: the suite as a whole may take longer than one test.
describe("rill demo", { timeout: 600_000 }, () => {
  it("runs for --duration, then prints counts that agree with its progress, and leaves nothing behind", async () => {
    const started = startRill(["demo", "--duration", "3 seconds", "--rate", "2000", "--no-ui"]);
    const port = Number((await waitFor(started, RUNNING))[1]);
    const { storeDir } = privateServer(port);
    const { code, stdout } = await started.finished;
    assert.equal(code, 0, stdout);
    assertConsistent(stdout);
    await assertCleanedUp(port, storeDir);
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`stops at an epoch boundary on ${signal} to its process group (as Ctrl-C sends it), prints the summary, and stops its nats-server`, async () => {
      const started = startRill(["demo", "--duration", "10 minutes", "--rate", "2000", "--no-ui"], { detached: true });
      const port = Number((await waitFor(started, RUNNING))[1]);
      const { storeDir } = privateServer(port);
      await waitFor(started, /^\[epoch 1\]/m);
      process.kill(-(started.child.pid as number), signal);
      const { code, stdout, stderr } = await started.finished;
      assert.equal(code, 0, stderr);
      assert.match(stderr, new RegExp(`rill: ${signal}: stopping every query after its last epoch commits`));
      assertConsistent(stdout);
      await assertCleanedUp(port, storeDir);
    });
  }

  it("exits at once on a second signal, and its nats-server still goes", async () => {
    const started = startRill(["demo", "--duration", "10 minutes", "--rate", "2000", "--no-ui"]);
    const port = Number((await waitFor(started, RUNNING))[1]);
    const { storeDir } = privateServer(port);
    started.child.kill("SIGTERM");
    await waitFor(started, /stopping every query/, "stderr");
    started.child.kill("SIGTERM");
    const { code } = await started.finished;
    assert.equal(code, 143);
    await assertCleanedUp(port, storeDir);
  });

  it("stops cleanly when its reader goes away (rill demo | head)", async () => {
    const started = startRill(["demo", "--duration", "10 minutes", "--rate", "2000", "--no-ui"]);
    const port = Number((await waitFor(started, RUNNING))[1]);
    const { storeDir } = privateServer(port);
    started.child.stdout?.destroy();
    const { code, stderr } = await started.finished;
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Error/);
    await assertCleanedUp(port, storeDir);
  });

  it("says once that nats-server is missing and runs on the in-process transport", async () => {
    const { code, stdout, stderr } = await rill(["demo", "--duration", "1 second", "--rate", "1000", "--no-ui"], { NATS_SERVER_BIN: "/nonexistent/nats-server" });
    assert.equal(code, 0, stderr);
    assert.equal(stderr.match(/nats-server is not installed/g)?.length, 1, stderr);
    assert.match(stderr, /apt-get install nats-server/);
    assert.match(stdout, /on inprocess \(in-process\)/);
    assertConsistent(stdout);
  });
});
