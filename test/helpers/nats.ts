// Test helper: a real nats-server on a free loopback port per test file, stopped (and its store removed) after.
import { after, before } from "node:test";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";

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
