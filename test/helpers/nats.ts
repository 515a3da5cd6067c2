// Test helper: a real nats-server on a free loopback port per test file, stopped (and its store removed) after.
import { after, before } from "node:test";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";
import type { NatsOptions } from "../../src/actors/nats-transport.ts";

/** The variable a test child process reads its NATS connection options from (kept off its command line). */
const CHILD_NATS_VARIABLE = "RILL_TEST_NATS";

/** The environment for a child process that connects to `server`: the parent's, plus the connection options. */
export function childEnvironment(server: NatsServerHandle): NodeJS.ProcessEnv {
  return { ...process.env, [CHILD_NATS_VARIABLE]: JSON.stringify(server.options) };
}

/** In a test child process: the NATS connection options its parent passed with childEnvironment(). */
export function natsOptionsFromParent(): NatsOptions {
  const value = process.env[CHILD_NATS_VARIABLE];
  if (!value) throw new Error(`${CHILD_NATS_VARIABLE} is not set: start the child with childEnvironment(server)`);
  return JSON.parse(value) as NatsOptions;
}

/** Starts a nats-server before the file's tests and stops it after them; returns a getter for its handle. */
export function useNatsServer(): () => NatsServerHandle {
  let server: NatsServerHandle | undefined;
  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error("nats-server is not started yet: call the getter inside a test");
    return server;
  };
}
