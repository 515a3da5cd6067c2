// The MQTT kill tests' harness: runs the child query on one checkpoint, SIGKILLs it while QoS 1 messages arrive, counts what was committed.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import type { NatsServerHandle } from "../../src/actors/nats-server.ts";
import { committedFiles } from "../../src/connectors/sinks/files.ts";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { childEnvironment } from "../helpers/nats.ts";

const CHILD = join(import.meta.dirname, "mqtt-child.ts");
export const MESSAGES = 1200;
export const KILLS = 3;

export interface Outcome {
  /** How many times each id was committed. */
  readonly counts: Map<number, number>;
  readonly kills: number;
}

/** The ids the file sink committed, with how often each. */
async function committedIds(output: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const file of await committedFiles(output)) {
    for (const line of (await readFile(file, "utf8")).split("\n")) {
      if (!line.trim()) continue;
      const id = (JSON.parse(line) as { id: number }).id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

/** Publishes ids [from, to) with QoS 1, 25 every 20 ms, so a kill lands while messages arrive. */
async function publishRange(publisher: mqtt.MqttClient, from: number, to: number, topic: (id: number) => string): Promise<void> {
  for (let start = from; start < to; start += 25) {
    const batch = [];
    for (let id = start; id < Math.min(to, start + 25); id++) batch.push(publisher.publishAsync(topic(id), JSON.stringify({ id, device: `d${id % 5}` }), { qos: 1 }));
    await Promise.all(batch);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface Feed {
  readonly url: string;
  readonly login: { username?: string; password?: string };
  readonly topic: (id: number) => string;
}

/**
 * Runs the child KILLS + 1 times on one checkpoint. Each run gets its share of the messages, published while it starts
 * and runs; the first KILLS runs are SIGKILLed 0-150 ms after their first epoch with input, the last one runs until
 * every message is committed.
 */
export async function runWithKills(mode: string, server: NatsServerHandle, mqttOptions: Record<string, string>, feed: Feed, seed: number): Promise<Outcome> {
  const folder = await mkdtemp(join(tmpdir(), `rill-mqtt-kill-${mode}-`));
  const output = join(folder, "output");
  const checkpoint = join(folder, "checkpoint");
  const random = mulberry32(seed);
  const environment = { ...childEnvironment(server), RILL_TEST_MQTT: JSON.stringify(mqttOptions) };
  const publisher = await mqtt.connectAsync(feed.url, { clientId: `kill-publisher-${mode}`, ...feed.login });
  const share = Math.ceil(MESSAGES / (KILLS + 1));
  let kills = 0;
  const children = new Set<ChildProcess>();
  try {
    for (let run = 0; run <= KILLS; run++) {
      const child = spawn(process.execPath, ["--import", "tsx", CHILD, mode, output, checkpoint], { stdio: ["ignore", "pipe", "pipe"], env: environment });
      children.add(child);
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<[number | null, string | null]>((resolve) => child.once("exit", (code, signal) => resolve([code, signal])));
      const publishing = publishRange(publisher, run * share, Math.min(MESSAGES, (run + 1) * share), feed.topic);
      if (run < KILLS) {
        await killAfterFirstInput(child, Math.floor(random() * 150));
        const [code, signal] = await exited;
        assert.equal(signal, "SIGKILL", `run ${run} ended by itself (code ${code}): ${stderr}`);
        kills++;
        await publishing;
        continue;
      }
      await publishing;
      const deadline = Date.now() + 240_000;
      while ((await committedIds(output)).size < MESSAGES && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 200));
      child.kill("SIGKILL");
      await exited;
      assert.equal(child.signalCode, "SIGKILL", `the last run failed: ${stderr}`);
    }
    return { counts: await committedIds(output), kills };
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await publisher.endAsync();
    await rm(folder, { recursive: true, force: true });
  }
}

function killAfterFirstInput(child: ChildProcess, delayMs: number): Promise<void> {
  return new Promise((resolve) => {
    let armed = false;
    child.stdout?.on("data", (chunk: Buffer) => {
      if (armed || !/epoch \d+/.test(chunk.toString())) return;
      armed = true;
      setTimeout(() => {
        child.kill("SIGKILL");
        resolve();
      }, delayMs);
    });
    child.once("exit", () => resolve());
  });
}

/** The ids 0..MESSAGES-1 that were never committed. */
export function missing(counts: Map<number, number>): number[] {
  return Array.from({ length: MESSAGES }, (_, id) => id).filter((id) => !counts.has(id));
}
