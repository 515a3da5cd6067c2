// A NATS node SIGKILLed while a query process is frozen inside a checkpoint commit (RILL_CHAOS_PAUSE_AT): the node the
// process is connected to dies right after the commit record is written, or while the transactional JetStream sink
// waits for the acks of the epoch it publishes. When the process thaws, it reconnects to another node, rolls back once,
// and both outputs equal plain code.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { useNatsCluster, type NatsCluster } from "../helpers/nats-cluster.ts";
import { CLUSTER_OPTIONS_VARIABLE, ClusterClient, expectedFiltered, expectedTotals, INPUT_STREAM, lastTotals, OUTPUT_STREAM, readFiltered } from "./workload.ts";

const CHILD = fileURLToPath(new URL("./commit-child.ts", import.meta.url));
/** The process stays frozen this long after the marker: the node is killed well within it. */
const PAUSE_MS = 3000;

describe("a NATS node lost during a checkpoint commit", { timeout: 600_000 }, () => {
  const cluster = useNatsCluster();

  for (const point of ["after-commit", "jetstream-sink-commit", "file-sink-commit"]) {
    it(`at ${point}: the query process moves to another node, rolls back once, and both outputs equal plain code`, async () => {
      const outcome = await killDuringCommit(cluster(), point);
      assert.notEqual(outcome.movedTo, outcome.victim, "the process went on on another node");
      assert.ok(outcome.totals <= 1 && outcome.filtered <= 1, `at most one rollback each: ${JSON.stringify(outcome)}`);
      assert.ok(outcome.totals + outcome.filtered >= 1, "the reconnect rolled the queries back");
    });
  }
});

async function killDuringCommit(cluster: NatsCluster, point: string): Promise<{ victim: string; movedTo: string; totals: number; filtered: number }> {
  await cluster.waitReady();
  const folder = await mkdtemp(join(tmpdir(), "rill-cluster-commit-"));
  const client = await ClusterClient.open(cluster);
  // The 8th pass: a few epochs in, with input flowing (the feeder runs from before the process starts).
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, folder], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, [CLUSTER_OPTIONS_VARIABLE]: JSON.stringify(cluster.options), RILL_CHAOS_PAUSE_AT: `${point}:8`, RILL_CHAOS_PAUSE_MS: String(PAUSE_MS) },
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const lines = createInterface({ input: child.stdout });
  let connected = "";
  let resolveMarker: (at: number) => void = () => undefined;
  const marker = new Promise<number>((resolve) => (resolveMarker = resolve));
  let thawedAt = Number.POSITIVE_INFINITY;
  let resolveMoved: (line: { node: string; at: number }) => void = () => undefined;
  const moved = new Promise<{ node: string; at: number }>((resolve) => (resolveMoved = resolve));
  let resolveDone: (line: string) => void = () => undefined;
  const done = new Promise<string>((resolve) => (resolveDone = resolve));
  lines.on("line", (line) => {
    if (line.startsWith("connected ")) connected = line.slice("connected ".length);
    else if (line.startsWith("RILL_FAULT_POINT ")) resolveMarker(Date.now());
    else if (line.startsWith("progress ")) {
      // The first epoch with input the thawed process commits: on the node it moved to.
      const [, , , rows = "0", node = "?"] = line.split(" ");
      if (Date.now() > thawedAt && Number(rows) > 0) resolveMoved({ node, at: Date.now() });
    }
    else if (line.startsWith("done ")) resolveDone(line.slice("done ".length));
  });
  try {
    await client.publishUntil(2000);
    const feeding = client.publishUntil(8000);
    const frozenAt = await Promise.race([marker, exited.then((code) => Promise.reject(new Error(`the query process exited (${code}) before ${point}: ${stderr}`)))]);
    const victim = connected;
    assert.ok(victim !== "" && victim !== "?", `the process named its node: '${victim}'`);
    await cluster.node(victim).kill();
    const killedAt = Date.now();
    thawedAt = frozenAt + PAUSE_MS;
    // The node stays down until the process has thawed and gone on elsewhere: restarted earlier, it could be dialled again.
    const { node: movedTo, at } = await moved;
    process.stdout.write(`# killed ${victim} ${killedAt - frozenAt} ms after the process froze at ${point}; first epoch with input ${at - thawedAt} ms after it thawed, on ${movedTo}\n`);
    await feeding;
    await cluster.node(victim).restart();
    await cluster.waitReady();
    await client.waitCurrent([INPUT_STREAM, OUTPUT_STREAM]);
    await client.publishUntil(10_000);
    child.stdin.write("finish\n");
    const result = JSON.parse(await Promise.race([done, exited.then((code) => Promise.reject(new Error(`the query process exited (${code}) before it was done: ${stderr}`)))])) as { totals: number; filtered: number };
    assert.equal(await exited, 0, stderr);
    const total = client.publishedRows;
    assert.deepEqual(lastTotals(await client.readOutput()), expectedTotals(total), "the last count and sum per user are plain code's");
    assert.deepEqual((await readFiltered(folder)).sort((a, b) => a - b), expectedFiltered(total), "the filter's files hold every kept row once");
    process.stdout.write(`# ${point}: ${JSON.stringify({ victim, movedTo, ...result })}\n`);
    return { victim, movedTo, totals: result.totals, filtered: result.filtered };
  } catch (error) {
    process.stdout.write(`# query process log:\n${stderr.split("\n").map((line) => `#   ${line}`).join("\n")}\n`);
    throw error;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await client.close();
    await rm(folder, { recursive: true, force: true });
  }
}
