// The chaos run's nats-server: one the harness can SIGKILL and start again on the same port and JetStream store.
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { findNatsServer, freePort } from "../../../src/actors/nats-server.ts";

/** Servers still running, killed when the harness process ends in any way it can see (a test timeout's SIGTERM included). */
const running = new Set<ChildProcess>();
const killAll = () => {
  for (const child of running) child.kill("SIGKILL");
};
process.once("exit", killAll);
process.once("SIGTERM", () => {
  killAll();
  process.exit(143);
});

export class ChaosNatsServer {
  private child: ChildProcess | undefined;

  private constructor(private readonly binary: string, readonly port: number, private readonly storeDir: string) {}

  static async start(storeDir: string): Promise<ChaosNatsServer> {
    const binary = await findNatsServer();
    if (!binary) throw new Error("nats-server is not installed: the chaos harness needs it (apt-get install nats-server)");
    const server = new ChaosNatsServer(binary, await freePort(), storeDir);
    await server.launch();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** SIGKILL: no shutdown, no flush; what the store holds on disk is what survives. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  async restart(): Promise<void> {
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.kill();
  }

  private async launch(): Promise<void> {
    const child = spawn(this.binary, ["-a", "127.0.0.1", "-p", String(this.port), "-js", "-sd", this.storeDir], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    this.child = child;
    running.add(child);
    child.once("exit", () => running.delete(child));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`nats-server exited at start (code ${child.exitCode}): ${stderr}`);
      if (await accepts(this.port)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill("SIGKILL");
    throw new Error(`nats-server did not accept connections on port ${this.port} within 15 s: ${stderr}`);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
