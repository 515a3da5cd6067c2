// Test helper: a session on a given NATS server (or in-process), stopped after the test.
import { Session } from "../../src/index.ts";

export function natsSession(url: string, config: Record<string, string | number> = {}): Session {
  const builder = Session.builder().appName("rill-test").nats({ servers: url }).log(() => undefined);
  for (const [key, value] of Object.entries(config)) builder.config(key, value);
  const session = builder.getOrCreate();
  return session;
}

export function inProcessSession(config: Record<string, string | number> = {}): Session {
  const builder = Session.builder().appName("rill-test").config("rill.transport", "inprocess").log(() => undefined);
  for (const [key, value] of Object.entries(config)) builder.config(key, value);
  return builder.getOrCreate();
}
