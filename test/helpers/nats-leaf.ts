// Test helper: an edge deployment of two real nats-servers on free loopback ports: a "cloud" hub and a "gateway" leaf node.
//
// Each server has its own JetStream domain (cloud, and the gateway's `domain`), so the gateway's streams stay on the
// gateway and the cloud reaches them as `$JS.<domain>.API` over the leaf connection. The cloud can be stopped (SIGTERM)
// and started again on the same ports and store: the uplink cut.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accepts, findNatsServer, freePort, terminate } from "../../src/actors/nats-server.ts";

export interface ConfiguredServer {
  readonly url: string;
  /** Starts the server again with the same configuration and store (after stop()). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface EdgeDeployment {
  readonly cloud: ConfiguredServer;
  readonly gateway: ConfiguredServer;
  /** The gateway's JetStream domain. */
  readonly domain: string;
  /** Stops both servers and removes their stores. */
  remove(): Promise<void>;
}

/** Starts the cloud hub, then the gateway as its leaf node (connecting to the hub and reconnecting every second). */
export async function startEdgeDeployment(domain = "site7"): Promise<EdgeDeployment> {
  const binary = await findNatsServer();
  if (!binary) throw new Error("nats-server is not installed (apt-get install nats-server)");
  const folder = await mkdtemp(join(tmpdir(), "rill-edge-"));
  const [cloudPort, leafPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
  const cloudConfig = join(folder, "cloud.conf");
  const gatewayConfig = join(folder, "gateway.conf");
  await writeFile(cloudConfig, [
    "server_name: cloud-1", `listen: 127.0.0.1:${cloudPort}`,
    `jetstream { store_dir: "${join(folder, "cloud")}", domain: cloud }`,
    `leafnodes { listen: 127.0.0.1:${leafPort} }`, "",
  ].join("\n"));
  await writeFile(gatewayConfig, [
    "server_name: gateway-1", `listen: 127.0.0.1:${gatewayPort}`,
    `jetstream { store_dir: "${join(folder, "gateway")}", domain: ${domain} }`,
    `leafnodes { reconnect: 1, remotes: [ { url: "nats-leaf://127.0.0.1:${leafPort}" } ] }`, "",
  ].join("\n"));
  const cloud = server(binary, cloudConfig, cloudPort);
  const gateway = server(binary, gatewayConfig, gatewayPort);
  await cloud.start();
  await gateway.start();
  return {
    cloud, gateway, domain,
    async remove() {
      await gateway.stop();
      await cloud.stop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

function server(binary: string, config: string, port: number): ConfiguredServer {
  let child: ChildProcess | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    async start() {
      const started = spawn(binary, ["-c", config], { stdio: ["ignore", "ignore", "pipe"] });
      child = started;
      let stderr = "";
      started.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
      const deadline = Date.now() + 15_000;
      while (!(await accepts(port))) {
        if (started.exitCode !== null) throw new Error(`nats-server (${config}) exited at start (code ${started.exitCode}): ${stderr}`);
        if (Date.now() > deadline) throw new Error(`nats-server (${config}) did not listen on ${port} within 15 s: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running) await terminate(running, 10_000);
    },
  };
}
