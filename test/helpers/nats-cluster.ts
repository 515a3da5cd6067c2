// Test helper: a real three-node nats-server cluster on loopback ports (routes between the nodes, JetStream on each with
// its own store), with generated credentials; a node can be SIGKILLed, stopped and restarted on its store.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { findNatsServer, freePort } from "../../src/actors/nats-server.ts";
import type { NatsOptions } from "../../src/actors/nats-transport.ts";

/** The user every client of the cluster connects as; its password, and the routes' own, are generated per cluster. */
const USER = "rill";
const CLUSTER_NAME = "rill-test";

/** Nodes still running, SIGKILLed when the test process ends in a way it can see (a test timeout's SIGTERM included). */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export interface ClusterNode {
  /** The node's server_name (`n1`, `n2`, ...): what a client's server info names. */
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly storeDir: string;
  readonly isRunning: boolean;
  /** SIGKILL: no shutdown, no flush, no leadership handed over; what its store holds is what survives. */
  kill(): Promise<void>;
  /** SIGTERM (lame duck is not used): the node shuts down on its own, SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** Starts the node again on the same ports and store. */
  restart(): Promise<void>;
  /**
   * SIGSTOP: the node freezes with its sockets open, as a machine cut off by the network looks to its peers and clients
   * (nothing is refused or closed; nothing is answered). `resume()` (SIGCONT) lets it go on.
   */
  pause(): void;
  resume(): void;
}

export interface NatsCluster {
  readonly nodes: readonly ClusterNode[];
  /** Client URLs of every node, credentials left out (safe to print). */
  readonly urls: readonly string[];
  /** How to connect: every node's URL with the generated user and password; a new object on each read. Never print it. */
  readonly options: NatsOptions & { servers: string[]; user: string; pass: string };
  node(name: string): ClusterNode;
  /**
   * Resolves once every running node has a route to every other running node and agrees on a JetStream meta leader
   * (a running node); rejects after `timeoutMs`.
   */
  waitReady(timeoutMs?: number): Promise<{ metaLeader: string }>;
  /** Kills every node and removes the stores. */
  stop(): Promise<void>;
}

interface NodePorts {
  readonly name: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly monitorPort: number;
}

/**
 * Starts a cluster of `size` nodes on free ports. A port found free can be taken by another process before nats-server
 * binds it (CI saw "bind: address already in use" on a monitoring port): such a start is stopped and tried again on
 * new ports, up to three times; any other failure is thrown at once.
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsClusterOnce(size);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof PortTakenError)) throw error;
    }
  }
}

class PortTakenError extends Error {}

async function startNatsClusterOnce(size: number): Promise<NatsCluster> {
  const binary = await findNatsServer();
  if (!binary) throw new Error("nats-server is not installed: the cluster tests need it (apt-get install nats-server)");
  const folder = await mkdtemp(join(tmpdir(), "rill-nats-cluster-"));
  const pass = randomBytes(24).toString("base64url");
  const routePass = randomBytes(24).toString("base64url");
  const ports: NodePorts[] = [];
  for (let index = 1; index <= size; index++) ports.push({ name: `n${index}`, port: await freePort(), clusterPort: await freePort(), monitorPort: await freePort() });
  const nodes = await Promise.all(ports.map(async (node) => {
    const storeDir = join(folder, node.name);
    const configFile = join(folder, `${node.name}.conf`);
    const routes = ports.filter((other) => other !== node).map((other) => `nats-route://route:${routePass}@127.0.0.1:${other.clusterPort}`);
    // In a file only this user can read, not on the command line (which `ps` shows to every local user).
    await writeFile(configFile, [
      `server_name: ${node.name}`,
      `listen: 127.0.0.1:${node.port}`,
      `http: 127.0.0.1:${node.monitorPort}`,
      `authorization { users = [ { user: ${USER}, password: "${pass}" } ] }`,
      `jetstream { store_dir: "${storeDir}" }`,
      "cluster {",
      `  name: ${CLUSTER_NAME}`,
      `  listen: 127.0.0.1:${node.clusterPort}`,
      `  authorization { user: route, password: "${routePass}" }`,
      `  routes: [ ${routes.join(", ")} ]`,
      "}",
      "",
    ].join("\n"), { mode: 0o600 });
    return new Node(binary, configFile, node, storeDir);
  }));
  const started = await Promise.allSettled(nodes.map((node) => node.restart()));
  const failed = started.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
  if (failed) {
    await Promise.all(nodes.map((node) => node.kill()));
    await rm(folder, { recursive: true, force: true });
    const reason: unknown = failed.reason;
    if (reason instanceof Error && /address already in use/.test(reason.message)) throw new PortTakenError(reason.message, { cause: reason });
    throw reason;
  }
  const urls = nodes.map((node) => node.url);
  const cluster: Omit<NatsCluster, "options"> = {
    nodes,
    urls,
    node(name) {
      const found = nodes.find((node) => node.name === name);
      if (!found) throw new Error(`No node '${name}' in the cluster (${nodes.map((node) => node.name).join(", ")})`);
      return found;
    },
    waitReady: (timeoutMs = 60_000) => waitReady(nodes, timeoutMs),
    async stop() {
      await Promise.all(nodes.map((node) => node.kill()));
      await rm(folder, { recursive: true, force: true });
    },
  };
  await cluster.waitReady();
  return Object.defineProperty(cluster, "options", { enumerable: false, get: () => ({ servers: [...urls], user: USER, pass }) }) as NatsCluster;
}

/** Starts a cluster before the file's tests and stops it after them; returns a getter for it. */
export function useNatsCluster(): () => NatsCluster {
  let cluster: NatsCluster | undefined;
  before(async () => {
    cluster = await startNatsCluster();
  });
  after(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error("The NATS cluster is not started yet: call the getter inside a test");
    return cluster;
  };
}

class Node implements ClusterNode {
  private child: ChildProcess | undefined;

  constructor(private readonly binary: string, private readonly configFile: string, readonly ports: NodePorts, readonly storeDir: string) {}

  get name(): string {
    return this.ports.name;
  }

  get port(): number {
    return this.ports.port;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.ports.port}`;
  }

  get isRunning(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill(): Promise<void> {
    await this.end("SIGKILL");
  }

  async stop(): Promise<void> {
    await this.end("SIGTERM");
  }

  pause(): void {
    if (!this.isRunning) throw new Error(`Node ${this.name} is not running`);
    this.child?.kill("SIGSTOP");
  }

  resume(): void {
    this.child?.kill("SIGCONT");
  }

  async restart(): Promise<void> {
    if (this.isRunning) throw new Error(`Node ${this.name} is still running`);
    const child = spawn(this.binary, ["-c", this.configFile], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    this.child = child;
    running.add(child);
    child.once("exit", () => running.delete(child));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`nats-server ${this.name} exited at start (code ${child.exitCode}): ${stderr.trim()}`);
      if ((await this.monitor<{ server_name?: string }>("varz")) !== undefined) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    child.kill("SIGKILL");
    throw new Error(`nats-server ${this.name} did not answer on its monitoring port within 20 s: ${stderr.trim()}`);
  }

  /** A monitoring endpoint's JSON (`varz`, `routez`, `jsz`), or undefined while the node does not answer. */
  async monitor<T>(endpoint: string): Promise<T | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.ports.monitorPort}/${endpoint}`, { signal: AbortSignal.timeout(2000) });
      return response.ok ? ((await response.json()) as T) : undefined;
    } catch {
      return undefined; // not up yet, or killed: the caller asks again
    }
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.isRunning) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    child.kill("SIGCONT"); // a paused node takes SIGTERM only once it runs again
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

interface Routez {
  readonly routes?: readonly { readonly remote_id?: string }[];
}

interface Jsz {
  readonly meta_cluster?: { readonly leader?: string; readonly cluster_size?: number };
}

async function waitReady(nodes: readonly Node[], timeoutMs: number): Promise<{ metaLeader: string }> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    const up = nodes.filter((node) => node.isRunning);
    const names = new Set(up.map((node) => node.name));
    const answers = await Promise.all(up.map(async (node) => ({ routez: await node.monitor<Routez>("routez"), jsz: await node.monitor<Jsz>("jsz") })));
    const leaders = answers.map((answer) => answer.jsz?.meta_cluster?.leader ?? "");
    const routed = answers.every((answer) => new Set((answer.routez?.routes ?? []).map((route) => route.remote_id)).size >= up.length - 1);
    const leader = leaders[0] ?? "";
    if (routed && leader !== "" && names.has(leader) && leaders.every((candidate) => candidate === leader)) return { metaLeader: leader };
    last = `routes ${routed ? "complete" : "incomplete"}, meta leaders ${leaders.map((name, index) => `${up[index]?.name}:${name || "-"}`).join(" ")}`;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`The NATS cluster was not ready within ${timeoutMs} ms: ${last}`);
}
