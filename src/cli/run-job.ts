// `rill run <job>`: loads a job module, hands it a Session to define and start its queries, then runs them until they
// end, a stop is asked for (Ctrl-C, SIGTERM) or --duration passes, and stops each after a last committed epoch.
import { existsSync, readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { runSqlScript, Session } from "../index.ts";
import type { Shutdown } from "./shutdown.ts";
import { UsageError } from "./usage-error.ts";

/** What a job module exports, as `default` or as `job`. */
export type JobFunction = (session: Session) => unknown;

export interface RunOptions {
  readonly durationMs: number | undefined;
  readonly natsUrl: string | undefined;
  readonly transport: string | undefined;
}

export async function runJob(path: string, options: RunOptions, shutdown: Shutdown): Promise<void> {
  const job = await loadJob(path);
  const builder = Session.builder().appName(path);
  if (options.natsUrl) builder.nats({ servers: options.natsUrl });
  if (options.transport) builder.config("rill.transport", options.transport);
  const session = builder.getOrCreate();
  const print = (line: string): void => {
    if (shutdown.canPrint()) console.log(line);
  };
  try {
    await job(session);
    const queries = session.streams.active;
    if (queries.length === 0) throw new UsageError(`The job '${path}' started no query: call writeStream...start() on the session it is given.`);
    let timer: NodeJS.Timeout | undefined;
    const elapsed = options.durationMs === undefined ? new Promise<never>(() => undefined) : new Promise<string>((done) => (timer = setTimeout(() => done("duration"), options.durationMs)));
    const ended = Promise.all(queries.map((query) => query.awaitTermination().catch(() => undefined)));
    await Promise.race([elapsed, shutdown.requested, ended]);
    clearTimeout(timer);
    await Promise.all(queries.map((query) => query.stop({ graceful: true })));
    for (const query of queries) {
      const failure = query.exception();
      print(`${query.name ?? query.id}: ${query.status.numInputRows} records in, ${query.recentProgress.length} epochs${failure ? `; failed: ${failure.message}` : ""}`);
    }
    if (queries.some((query) => query.exception())) process.exitCode = 1;
  } finally {
    await session.stop();
  }
}

async function loadJob(path: string): Promise<JobFunction> {
  const file = resolve(path);
  if (!existsSync(file)) throw new UsageError(`No job file '${path}'.`);
  // A .sql pipeline file (CREATE TEMPORARY VIEW ... USING, CREATE TABLE ... USING, INSERT INTO ... SELECT): its queries
  // are planned whole before any starts, so a mistake anywhere in it fails before anything runs.
  if (extname(path).toLowerCase() === ".sql") {
    const text = readFileSync(file, "utf8");
    return async (session) => await runSqlScript(session, text);
  }
  let module: { default?: unknown; job?: unknown };
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: unknown; job?: unknown };
  } catch (error) {
    const hint = extname(path) === ".ts" ? " A TypeScript job needs a loader: node --import tsx $(which rill) run job.ts, or compile it to .js." : "";
    throw new UsageError(`Cannot load the job '${path}': ${error instanceof Error ? error.message.split("\n")[0] : String(error)}.${hint}`, { cause: error });
  }
  const job = typeof module.default === "function" ? module.default : module.job;
  if (typeof job !== "function") throw new UsageError(`The job '${path}' exports no function: export default (or export const job =) a function that takes a Session and starts queries.`);
  return job as JobFunction;
}
