// Test helper: a session on a given NATS server (or in-process), stopped after the test.
import { Session, type NatsOptions } from "../../src/index.ts";

/** `nats`: how to connect, with credentials (a test server's `options`). */
export function natsSession(nats: NatsOptions, config: Record<string, string | number> = {}): Session {
  const builder = Session.builder().appName("rill-test").nats(nats).log(() => undefined);
  for (const [key, value] of Object.entries(config)) builder.config(key, value);
  const session = builder.getOrCreate();
  return session;
}

export function inProcessSession(config: Record<string, string | number> = {}): Session {
  const builder = Session.builder().appName("rill-test").config("rill.transport", "inprocess").log(() => undefined);
  for (const [key, value] of Object.entries(config)) builder.config(key, value);
  return builder.getOrCreate();
}
