// A private nats-server never outlives the process that started it, even one killed with SIGKILL (no chance to clean up).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { eventually, privateServer } from "../cli/run-cli.ts";

const CHILD = `
  import { startNatsServer } from "./src/actors/nats-server.ts";
  const server = await startNatsServer();
  process.stdout.write(JSON.stringify({ port: server.port, storeDir: server.storeDir }) + "\\n");
  setInterval(() => undefined, 60_000);
`;

describe("the private nats-server's watchdog", () => {
  it("stops the server and removes its store when its parent is SIGKILLed", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD], { stdio: ["ignore", "pipe", "inherit"] });
    const line = await new Promise<string>((resolve, reject) => {
      let text = "";
      child.stdout.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes("\n")) resolve(text);
      });
      child.once("exit", (code) => reject(new Error(`the child exited (${code}) before starting the server`)));
    });
    const { port, storeDir } = JSON.parse(line) as { port: number; storeDir: string };
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      const running = privateServer(port);
      const commands = running.pids.map((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]);
      assert.ok(commands.some((command) => command?.endsWith("nats-server")), `the server runs: ${commands.join(", ")}`);
      assert.ok(commands.includes("/bin/sh"), `its watchdog runs: ${commands.join(", ")}`);
      assert.equal(running.storeDir, storeDir);
      assert.ok(existsSync(storeDir));
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    assert.ok(await eventually(() => privateServer(port).pids.length === 0), `the server on port ${port} outlived its parent`);
    assert.ok(await eventually(() => !existsSync(storeDir)), `${storeDir} outlived its parent`);
  });
});
