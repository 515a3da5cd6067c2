// Test helper: a session on a given NATS server (or in-process), stopped after the test.
import { afterEach } from "node:test";
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

/** The session a test has open, and how to stop it; the one still open when a test ends is stopped then. */
export interface TestSession {
  /** Opens a session on the server with `config` (the one open before is not stopped: stop it first). */
  open(config?: Record<string, string | number>): Session;
  /** Stops the open session, if there is one. */
  stop(): Promise<void>;
}

/** Call at a test file's top level: `nats()` is the test server's options (read when a session opens). */
export function useNatsSession(nats: () => NatsOptions): TestSession {
  let session: Session | undefined;
  const stop = async (): Promise<void> => {
    const open = session;
    session = undefined;
    await open?.stop();
  };
  afterEach(stop);
  return { open: (config = {}) => (session = natsSession(nats(), config)), stop };
}
