// Starts a private nats-server on a free loopback port (the embedded default, and the tests' server).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TransportError } from "../core/errors.ts";

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Stops the server; with `keepStore` the JetStream folder survives for a restart. */
  stop(options?: { keepStore?: boolean }): Promise<void>;
  /** Starts the server again on the same port and store, after stop({ keepStore: true }). */
  restart(): Promise<void>;
}

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

/** `credentials` makes the server require that user and password (`--user`, `--pass`). */
export async function startNatsServer(options: { binary?: string; jetstream?: boolean; credentials?: { user: string; pass: string } } = {}): Promise<NatsServerHandle> {
  const binary = options.binary ?? (await findNatsServer());
  if (!binary) throw new TransportError("nats-server is not installed. Install it with 'apt-get install nats-server' (Debian/Ubuntu) or from https://github.com/nats-io/nats-server/releases.");
  const port = await freePort();
  const storeDir = await mkdtemp(join(tmpdir(), "rill-nats-"));
  const args = ["-a", "127.0.0.1", "-p", String(port), ...(options.jetstream === false ? [] : ["-js", "-sd", storeDir]),
    ...(options.credentials ? ["--user", options.credentials.user, "--pass", options.credentials.pass] : [])];
  let child = await launch(binary, args, port);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop(stopOptions = {}) {
      await terminate(child);
      if (!stopOptions.keepStore) await rm(storeDir, { recursive: true, force: true });
    },
    async restart() {
      child = await launch(binary, args, port);
    },
  };
}

async function launch(binary: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new TransportError(`nats-server exited at start (code ${child.exitCode}): ${stderr.trim()}`);
    if (await accepts(port)) return child;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill("SIGKILL");
  throw new TransportError(`nats-server did not accept connections on port ${port} within 10 s: ${stderr.trim()}`);
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

function accepts(port: number): Promise<boolean> {
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
