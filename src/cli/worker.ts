// `rill worker`: a worker process. Usage: worker.ts --job <module> [--nats <url>] [--name n] [--slots k] [--heartbeat ms] [--prefix p]
// NATS options may also come as JSON in RILL_WORKER_NATS (credentials stay off the command line); the worker exits
// when stdin closes if RILL_WORKER_NATS is set (a local worker whose driver is gone).
import { parseArgs } from "node:util";
import { startWorker, type NatsOptions } from "../index.ts";

const { values } = parseArgs({ options: { job: { type: "string" }, nats: { type: "string" }, name: { type: "string" }, slots: { type: "string" }, heartbeat: { type: "string" }, prefix: { type: "string" } } });
const fromParent = process.env.RILL_WORKER_NATS;
const nats: NatsOptions | undefined = values.nats ? { servers: values.nats } : fromParent ? (JSON.parse(fromParent) as NatsOptions) : undefined;
if (!values.job || !nats) {
  process.stderr.write("usage: rill worker --job <module> --nats <url> [--name n] [--slots k] [--heartbeat ms] [--prefix p]\n");
  process.exit(2);
}
const worker = await startWorker({
  nats,
  job: values.job,
  ...(values.name ? { name: values.name } : {}),
  ...(values.slots ? { slots: Number(values.slots) } : {}),
  ...(values.heartbeat ? { heartbeatIntervalMs: Number(values.heartbeat) } : {}),
  ...(values.prefix ? { subjectPrefix: values.prefix } : {}),
});
process.stderr.write(`rill worker ${worker.name} (pid ${process.pid}) is up\n`);
let closing = false;
const close = async (): Promise<void> => {
  if (closing) return;
  closing = true;
  await worker.close();
  process.exit(0);
};
process.once("SIGTERM", () => void close());
process.once("SIGINT", () => void close());
if (fromParent) {
  process.stdin.resume();
  process.stdin.once("end", () => void close());
}
