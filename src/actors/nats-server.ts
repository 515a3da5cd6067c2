// Starts a private nats-server on a free loopback port (the embedded default, and the tests' server).
import { spawn, type ChildProcess } from "node:child_process";
import { spawnWatched } from "./nats-watchdog.ts";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TransportError } from "../core/errors.ts";
import type { NatsOptions } from "./nats-transport.ts";

export interface NatsServerHandle {
  /** The server's address, without credentials (safe to print). */
  readonly url: string;
  /** The user every client of this server must connect as: the server requires the generated password too. */
  readonly user: string;
  /** How to connect: `url` with the generated user and password (pass it to NatsTransport.connect or Session.builder().nats()); a new object on each read. Never print it. */
  readonly options: NatsOptions & { servers: string; user: string; pass: string };
  readonly port: number;
  /** `mqtt://127.0.0.1:<port>` when started with an MQTT listener (`mqtt: true`); MQTT clients log in as `user` with the password. */
  readonly mqttUrl?: string;
  readonly storeDir: string;
  /** Stops the server; with `keepStore` the JetStream folder survives for a restart. */
  stop(options?: { keepStore?: boolean }): Promise<void>;
  /** Starts the server again on the same port and store, after stop({ keepStore: true }). */
  restart(): Promise<void>;
}

/** The user the private server accepts; its password is generated per server (crypto.randomBytes). */
const USER = "rill";

const CANDIDATES = ["nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"];

/** Finds a nats-server binary, or undefined when none is installed. `NATS_SERVER_BIN`, when set, is the only candidate. */
export async function findNatsServer(): Promise<string | undefined> {
  const override = process.env.NATS_SERVER_BIN;
  for (const candidate of override ? [override] : CANDIDATES) {
    if (await runs(candidate)) return candidate;
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * `mqtt` adds nats-server's MQTT listener on another free port; its `ackWait` is how long the server waits for an MQTT
 * client's PUBACK before it sends a QoS 1 message again (nats-server's default is 30 seconds).
 */
export async function startNatsServer(options: { binary?: string; jetstream?: boolean; mqtt?: boolean | { ackWait: string } } = {}): Promise<NatsServerHandle> {
  const binary = options.binary ?? (await findNatsServer());
  if (!binary) throw new TransportError("nats-server is not installed. Install it with 'apt-get install nats-server' (Debian/Ubuntu) or from https://github.com/nats-io/nats-server/releases.");
  const port = await freePort();
  const storeDir = await mkdtemp(join(tmpdir(), "rill-nats-"));
  const pass = randomBytes(24).toString("base64url");
  // In a file readable by this user only, not on the command line (which any local user can read from ps).
  const configFile = join(storeDir, "rill-auth.conf");
  // nats-server's MQTT listener stores sessions and QoS 1 messages in JetStream and needs a server name.
  const mqttPort = options.mqtt ? await freePort() : undefined;
  const ackWait = typeof options.mqtt === "object" ? `  ack_wait: "${options.mqtt.ackWait}"\n` : "";
  const mqtt = mqttPort === undefined ? "" : `server_name: rill-${port}\nmqtt {\n  listen: 127.0.0.1:${mqttPort}\n${ackWait}}\n`;
  await writeFile(configFile, `authorization {\n  users = [ { user: ${USER}, password: "${pass}" } ]\n}\n${mqtt}`, { mode: 0o600 });
  const args = ["-a", "127.0.0.1", "-p", String(port), "-c", configFile, ...(options.jetstream === false ? [] : ["-js", "-sd", storeDir])];
  let child = await launch(binary, args, port, storeDir, mqttPort);
  const url = `nats://127.0.0.1:${port}`;
  const handle: Omit<NatsServerHandle, "options"> = {
    url,
    user: USER,
    port,
    ...(mqttPort === undefined ? {} : { mqttUrl: `mqtt://127.0.0.1:${mqttPort}` }),
    storeDir,
    async stop(stopOptions = {}) {
      await terminate(child);
      if (!stopOptions.keepStore) await rm(storeDir, { recursive: true, force: true });
    },
    async restart() {
      child = await launch(binary, args, port, storeDir, mqttPort);
    },
  };
  // Not enumerable, so printing or serializing the handle never shows the password; a fresh object each time, as the
  // NATS client writes into the options it is given.
  return Object.defineProperty(handle, "options", { enumerable: false, get: () => ({ servers: url, user: USER, pass }) }) as NatsServerHandle;
}

async function launch(binary: string, args: string[], port: number, storeDir: string, mqttPort?: number): Promise<ChildProcess> {
  const child = spawnWatched(binary, args, storeDir);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new TransportError(`nats-server exited at start (code ${child.exitCode}): ${stderr.trim()}`);
    if ((await accepts(port)) && (mqttPort === undefined || (await accepts(mqttPort)))) return child;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill("SIGKILL");
  throw new TransportError(`nats-server did not accept connections on port ${port} within 10 s: ${stderr.trim()}`);
}

/** SIGTERM, then SIGKILL if the process has not exited after `graceMs`; resolves once it has exited. */
export async function terminate(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Whether something accepts TCP connections on the loopback port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function runs(binary: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(binary, ["--version"], { stdio: "ignore" });
    child.once("error", () => resolve(false));
    child.once("exit", (code) => resolve(code === 0));
  });
}
