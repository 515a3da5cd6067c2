// Test helper: a real Mosquitto broker on a free loopback port, from a temporary configuration file; stopped after the tests.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { freePort } from "../../src/actors/nats-server.ts";

export interface MosquittoHandle {
  readonly url: string;
  readonly port: number;
  /** The broker process's id (for the gateway bench's CPU figures); undefined while halted. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
  /** Stops the broker (SIGTERM, which saves its sessions when started with `persistence`) and starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops the broker (SIGTERM) and leaves it stopped until resume(): an uplink cut. */
  halt(): Promise<void>;
  /** Starts a halted broker again on the same port, with the same configuration (and saved sessions). */
  resume(): Promise<void>;
}

/** The mosquitto binary, or undefined (the tests that need it are skipped with this message). */
export function findMosquitto(): string | undefined {
  for (const candidate of ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"]) if (existsSync(candidate)) return candidate;
  const found = spawnSync("sh", ["-c", "command -v mosquitto"], { encoding: "utf8" });
  return found.status === 0 && found.stdout.trim() !== "" ? found.stdout.trim() : undefined;
}

export const MOSQUITTO_MISSING = "mosquitto is not installed (apt-get install mosquitto; .ci/run installs it)";

/**
 * Starts mosquitto on 127.0.0.1 with no limit on the messages it queues for a client (the default, 1,000, drops the
 * rest of a persistent session's backlog) and Nagle off.
 */
export interface MosquittoOptions {
  /** Saves sessions on a stop (SIGTERM) and loads them at the next start. */
  readonly persistence?: boolean;
  /** A TLS listener (the URL is then mqtts://) with this server certificate and key, PEM files. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** A mosquitto_passwd file: anonymous clients are refused. */
  readonly passwordFile?: string;
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoHandle> {
  const binary = findMosquitto();
  if (!binary) throw new Error(MOSQUITTO_MISSING);
  const port = await freePort();
  const folder = await mkdtemp(join(tmpdir(), "rill-mosquitto-"));
  const config = join(folder, "mosquitto.conf");
  const persistence = options.persistence ? ["persistence true", `persistence_location ${folder}/`] : ["persistence false"];
  const tls = options.tls ? [`certfile ${options.tls.cert}`, `keyfile ${options.tls.key}`] : [];
  const access = options.passwordFile ? ["allow_anonymous false", `password_file ${options.passwordFile}`] : ["allow_anonymous true"];
  // Started as root, mosquitto drops to the user 'mosquitto', who cannot write the session file in this private folder.
  await writeFile(config, [`user ${userInfo().username}`, `listener ${port} 127.0.0.1`, ...tls, ...access, "max_queued_messages 0", "max_inflight_messages 0", "set_tcp_nodelay true", ...persistence, ""].join("\n"));
  let child = await launch(binary, config, port);
  return {
    url: `${options.tls ? "mqtts" : "mqtt"}://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async stop() {
      await terminate(child);
      await rm(folder, { recursive: true, force: true });
    },
    async restart() {
      await terminate(child);
      child = await launch(binary, config, port);
    },
    async halt() {
      await terminate(child);
    },
    async resume() {
      child = await launch(binary, config, port);
    },
  };
}

async function launch(binary: string, config: string, port: number): Promise<ChildProcess> {
  const child = spawn(binary, ["-c", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited at start (code ${child.exitCode}): ${stderr}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`mosquitto did not listen on ${port} within 10 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return child;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  await exited;
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
