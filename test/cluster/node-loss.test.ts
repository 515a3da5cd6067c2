// A real three-node nats-server cluster loses a node (SIGKILL) under two running checkpointed queries: the client moves to
// another node, each query rolls back at most once per lost node and goes on, and both outputs equal plain code.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Session, type NatsOptions } from "../../src/index.ts";
import { useNatsCluster, type NatsCluster } from "../helpers/nats-cluster.ts";
import { ClusterClient, expectedFiltered, expectedTotals, INPUT_STREAM, lastTotals, OUTPUT_STREAM, ProgressWatch, readFiltered, startQueries } from "./workload.ts";

/** Rows before the queries start, then per lost node while it is lost, then after the last restart. */
const ROWS_BEFORE = 2000;
const ROWS_PER_KILL = 3000;
const ROWS_AFTER = 2000;

/** What a scenario knows when it picks the next node to kill. */
interface ClusterFacts {
  /** The node the session's connection is on. */
  readonly connected: string;
  /** The node leading the input stream's Raft group. */
  readonly inputLeader: string;
  readonly nodes: readonly string[];
  /** The nodes killed before (and restarted since). */
  readonly killed: readonly string[];
}

interface Outcome {
  readonly recoveries: { readonly totals: number; readonly filtered: number };
  /** Per kill: ms from the SIGKILL to the first epoch with input committed by each query. */
  readonly firstOutputMs: ReadonlyArray<{ readonly victim: string; readonly totals: number; readonly filtered: number }>;
  readonly movedFrom: readonly string[];
}

describe("a query over a three-node NATS cluster that loses a node", { timeout: 600_000 }, () => {
  const cluster = useNatsCluster();

  it("moves to another node when its own node is SIGKILLed, rolls back once, and both outputs equal plain code", async () => {
    const outcome = await loseNodes(cluster(), [(facts) => facts.connected]);
    assert.deepEqual(outcome.movedFrom.length, 1, "the session's connection moved off the killed node");
    assert.equal(outcome.recoveries.totals, 1, "the reconnect rolled the aggregation back once");
    assert.equal(outcome.recoveries.filtered, 1, "the reconnect rolled the filter back once");
  });

  it("goes on when a node it is not connected to is SIGKILLed (URLs given as one comma-separated string)", async () => {
    const outcome = await loseNodes(cluster(), [(facts) => other(facts, [facts.connected])], { commaSeparated: true });
    assert.equal(outcome.movedFrom.length, 0, "the connection stayed where it was");
    assert.ok(outcome.recoveries.totals <= 1 && outcome.recoveries.filtered <= 1, JSON.stringify(outcome.recoveries));
  });

  it("goes on when the node leading the input stream is SIGKILLed", async () => {
    const outcome = await loseNodes(cluster(), [(facts) => facts.inputLeader]);
    assert.ok(outcome.recoveries.totals <= 1 && outcome.recoveries.filtered <= 1, JSON.stringify(outcome.recoveries));
  });

  it("moves to another node when its node freezes (SIGSTOP) with its sockets open, as a node cut off by the network does", async () => {
    const outcome = await loseNodes(cluster(), [(facts) => facts.connected], { freeze: true });
    assert.deepEqual(outcome.movedFrom.length, 1, "missed pings (rill.nats.pingInterval) moved the connection off the frozen node");
    assert.ok(outcome.recoveries.totals <= 1 && outcome.recoveries.filtered <= 1, JSON.stringify(outcome.recoveries));
  });

  it("survives two nodes SIGKILLed in turn, the first restarted and caught up before the second goes", async () => {
    const outcome = await loseNodes(cluster(), [(facts) => facts.connected, (facts) => other(facts, [facts.connected, ...facts.killed])]);
    assert.equal(new Set(outcome.firstOutputMs.map((kill) => kill.victim)).size, 2, "two different nodes were killed");
    assert.ok(outcome.recoveries.totals <= 2 && outcome.recoveries.filtered <= 2, JSON.stringify(outcome.recoveries));
  });
});

function other(facts: ClusterFacts, not: readonly string[]): string {
  const found = facts.nodes.find((node) => !not.includes(node));
  if (!found) throw new Error(`No node besides ${not.join(", ")}`);
  return found;
}

/**
 * Starts both queries on the cluster, then for each chooser: keeps publishing, kills (or freezes) the chosen node once
 * the queries read the new rows, waits for each query's first epoch with input after the kill, restarts the node and waits until
 * the streams' replicas are current again (a frozen node is let go on instead). Then checks both outputs against plain code over every published row.
 */
async function loseNodes(cluster: NatsCluster, choosers: ReadonlyArray<(facts: ClusterFacts) => string>, options: { commaSeparated?: boolean; freeze?: boolean } = {}): Promise<Outcome> {
  await cluster.waitReady();
  const folder = await mkdtemp(join(tmpdir(), "rill-cluster-"));
  const client = await ClusterClient.open(cluster);
  const log: string[] = [];
  const nats: NatsOptions = options.commaSeparated ? { ...cluster.options, servers: cluster.urls.join(",") } : cluster.options;
  const session = Session.builder().appName("cluster").nats(nats).config("rill.shuffle.partitions", 2).log((line) => log.push(`${new Date().toISOString()} ${line}`)).getOrCreate();
  const watch = new ProgressWatch(session);
  const firstOutputMs: Array<{ victim: string; totals: number; filtered: number }> = [];
  const movedFrom: string[] = [];
  try {
    await client.publishUntil(ROWS_BEFORE);
    const { totals, filtered } = await startQueries(session, folder);
    await Promise.all([totals.processAllAvailable(), filtered.processAllAvailable()]);
    const transport = await session.connect();
    for (const choose of choosers) {
      const feeding = client.publishUntil(client.publishedRows + ROWS_PER_KILL);
      const feedStarted = Date.now();
      await Promise.all([watch.inputAfter("cluster_totals", feedStarted), watch.inputAfter("cluster_filtered", feedStarted)]);
      const connected = transport.connectedServer?.()?.name ?? "";
      const victim = choose({ connected, inputLeader: await client.streamLeader(INPUT_STREAM), nodes: cluster.nodes.map((node) => node.name), killed: firstOutputMs.map((kill) => kill.victim) });
      const killedAt = Date.now();
      if (options.freeze) cluster.node(victim).pause();
      else await cluster.node(victim).kill();
      log.push(`${new Date().toISOString()} lost ${victim} (${options.freeze ? "SIGSTOP" : "SIGKILL"})`);
      const [totalsAt, filteredAt] = await Promise.all([watch.inputAfter("cluster_totals", killedAt), watch.inputAfter("cluster_filtered", killedAt)]);
      firstOutputMs.push({ victim, totals: totalsAt - killedAt, filtered: filteredAt - killedAt });
      await feeding;
      const now = transport.connectedServer?.()?.name;
      assert.notEqual(now, victim, `the connection is on ${now}, the node that was killed`);
      if (connected === victim) movedFrom.push(victim);
      assert.match(totals.explain(), new RegExp(`connected to ${now} at `), "explain() names the node the query is on now");
      if (options.freeze) cluster.node(victim).resume();
      else await cluster.node(victim).restart();
      await cluster.waitReady();
      await client.waitCurrent([INPUT_STREAM, OUTPUT_STREAM]);
    }
    await client.publishUntil(client.publishedRows + ROWS_AFTER);
    await Promise.all([totals.processAllAvailable(), filtered.processAllAvailable()]);
    const total = client.publishedRows;
    assert.deepEqual(lastTotals(await client.readOutput()), expectedTotals(total), "the last count and sum per user are plain code's");
    assert.deepEqual((await readFiltered(folder)).sort((a, b) => a - b), expectedFiltered(total), "the filter's files hold every kept row once");
    assert.equal(totals.isActive && filtered.isActive, true, String(totals.exception() ?? filtered.exception()));
    const outcome = { recoveries: { totals: totals.numRecoveries, filtered: filtered.numRecoveries }, firstOutputMs, movedFrom };
    process.stdout.write(`# cluster node loss: ${JSON.stringify(outcome)}\n`);
    return outcome;
  } catch (error) {
    process.stdout.write(`# session log:\n${log.map((line) => `#   ${line}`).join("\n")}\n`);
    throw error;
  } finally {
    await session.stop();
    await client.close();
    await rm(folder, { recursive: true, force: true });
  }
}
