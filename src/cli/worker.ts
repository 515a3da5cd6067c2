// `rill worker`: a worker process. Usage: rill worker --job <module> [--nats <url>] [--name n] [--slots k] [--heartbeat ms] [--prefix p] [--state-dir folder] [--leave-timeout ms]
// NATS options may also come as JSON in RILL_WORKER_NATS (credentials stay off the command line); the worker exits
// when stdin closes if RILL_WORKER_NATS is set (a local worker whose driver is gone).
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { startWorker, type NatsOptions } from "../index.ts";
import { UsageError } from "./usage-error.ts";

const USAGE = "usage: rill worker --job <module> --nats <url> [--name n] [--slots k] [--heartbeat ms] [--prefix p] [--state-dir folder] [--leave-timeout ms]";

export async function main(args: string[]): Promise<void> {
  let values: { job?: string; nats?: string; name?: string; slots?: string; heartbeat?: string; prefix?: string; "state-dir"?: string; "leave-timeout"?: string };
  try {
    ({ values } = parseArgs({ args, options: { job: { type: "string" }, nats: { type: "string" }, name: { type: "string" }, slots: { type: "string" }, heartbeat: { type: "string" }, prefix: { type: "string" }, "state-dir": { type: "string" }, "leave-timeout": { type: "string" } } }));
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}. ${USAGE}`, { cause: error });
  }
  const fromParent = process.env.RILL_WORKER_NATS;
  const nats: NatsOptions | undefined = values.nats ? { servers: values.nats } : fromParent ? (JSON.parse(fromParent) as NatsOptions) : undefined;
  if (!values.job || !nats) throw new UsageError(USAGE);
  const worker = await startWorker({
    nats,
    job: values.job,
    ...(values.name ? { name: values.name } : {}),
    ...(values.slots ? { slots: Number(values.slots) } : {}),
    ...(values.heartbeat ? { heartbeatIntervalMs: Number(values.heartbeat) } : {}),
    ...(values.prefix ? { subjectPrefix: values.prefix } : {}),
    ...(values["state-dir"] ? { stateDir: values["state-dir"] } : {}),
    ...(values["leave-timeout"] ? { leaveTimeoutMs: Number(values["leave-timeout"]) } : {}),
  });
  process.stderr.write(`rill worker ${worker.name} (pid ${process.pid}) is up\n`);
  let closing = false;
  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    await worker.close();
    process.exit(0);
  };
  // SIGTERM: a graceful leave, the drivers hand this worker's actors over first (no rollback; --leave-timeout).
  process.once("SIGTERM", () => void close());
  process.once("SIGINT", () => void close());
  if (fromParent) {
    process.stdin.resume();
    process.stdin.once("end", () => void close());
  }
}

// Run directly (a local worker the session spawns): the same, with a usage error as one line and status 2.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`rill worker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  });
}
