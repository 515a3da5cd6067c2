#!/usr/bin/env -S node --max-semi-space-size=2 --no-parallel-scavenge --no-concurrent-array-buffer-sweeping
// The `rill` command: demo, run, inspect, param, bench, worker. A user's mistake prints one line and exits with status 2; a
// failure of Rill or of a system it uses prints one line (RILL_DEBUG=1 adds the stack) and exits with status 1.
// The shebang's --max-semi-space-size=2 caps V8's young generation: the demo then peaks under 100 MB (README, Benchmark);
// --no-parallel-scavenge and --no-concurrent-array-buffer-sweeping keep a scavenge from waiting on its own helper threads
// when the cores are busy (src/core/node-flags.ts).
import { createRequire } from "node:module";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { parseDuration } from "../core/duration.ts";
import { RillError } from "../index.ts";
import { runBench } from "./bench.ts";
import { runDemo } from "./demo.ts";
import { main as workerMain } from "./worker.ts";
import { inspectCheckpoint } from "./inspect.ts";
import { paramGet, paramList, paramSet } from "./param.ts";
import { runJob } from "./run-job.ts";
import { handleShutdown } from "./shutdown.ts";
import { UsageError } from "./usage-error.ts";


const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

function integer(name: string, min: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min) throw new InvalidArgumentError(`${name} must be a whole number of at least ${min}.`);
    return number;
  };
}

function positive(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError("It must be a number above 0.");
  return number;
}

function duration(value: string): number {
  try {
    return parseDuration(value, "--duration");
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

const transportOption = (): Option => new Option("--transport <kind>", "nats, or inprocess (no NATS at all)").choices(["nats", "inprocess"]);

export function program(): Command {
  const rill = new Command("rill")
    .description("Rill: Spark Structured Streaming queries as continuous processing in Node.js, over NATS.")
    .version(version, "-V, --version")
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`rill: ${text.replace(/^error: /, "").trimEnd().replaceAll("\n", " ")}\n`) });
  rill.command("demo")
    .description("the main job: counts per activity and strong movements over generated activity data, with a live dashboard")
    .option("--duration <time>", "how long to run, as \"30 seconds\" (default: until Ctrl-C; 30 seconds when not started from a terminal)", duration)
    .option("--rate <n>", "records per second", integer("--rate", 1), 5000)
    .option("--threshold <g>", "print the rows whose acceleration magnitude exceeds this", positive, 12)
    .option("--seed <n>", "generator seed", integer("--seed", 0), 42)
    .option("--partitions <n>", "source partitions and shuffle partitions", integer("--partitions", 1), 2)
    .option("--nats-url <url>", "use this NATS server instead of a private one")
    .addOption(transportOption())
    .option("--ui-port <n>", "port of the live dashboard (a free port if taken)", integer("--ui-port", 0), 4040)
    .option("--no-ui", "no dashboard")
    .option("--workers <n>", "run the demo's queries on n local worker processes (src/cli/demo-job.ts)", integer("--workers", 1))
    .action(async (options: { duration?: number; rate: number; threshold: number; seed: number; partitions: number; natsUrl?: string; transport?: string; uiPort: number; ui: boolean; workers?: number }) => {
      const terminal = Boolean(process.stdin.isTTY || process.stdout.isTTY);
      if (options.workers !== undefined) {
        const { runDemoOnWorkers } = await import("./demo-workers.ts");
        await runDemoOnWorkers({ workers: options.workers, durationMs: options.duration ?? 30_000, rate: String(options.rate), seed: String(options.seed), partitions: String(options.partitions), threshold: String(options.threshold), natsUrl: options.natsUrl });
        return;
      }
      await runDemo({
        durationMs: options.duration ?? (terminal ? undefined : 30_000),
        rate: options.rate, threshold: options.threshold, seed: options.seed, partitions: options.partitions,
        natsUrl: options.natsUrl, transport: options.transport, uiPort: options.ui ? options.uiPort : undefined,
      }, handleShutdown());
    });
  rill.command("run")
    .description("run a job: a module (.mjs, .js, .cjs) whose default export takes a Session and starts queries")
    .argument("<job>", "the job module's path")
    .option("--duration <time>", "stop after this long (default: when the queries end, or Ctrl-C)", duration)
    .option("--nats-url <url>", "use this NATS server instead of a private one")
    .addOption(transportOption())
    .action(async (job: string, options: { duration?: number; natsUrl?: string; transport?: string }) => {
      await runJob(job, { durationMs: options.duration, natsUrl: options.natsUrl, transport: options.transport }, handleShutdown());
    });
  rill.command("inspect")
    .description("print what a checkpoint location holds: the query, committed epochs and offsets, state sizes")
    .argument("<checkpoint>", "the checkpoint location (a folder)")
    .option("--epochs <n>", "committed epochs to list", integer("--epochs", 0), 10)
    .action(async (location: string, options: { epochs: number }) => {
      await inspectCheckpoint(location, options.epochs, (line) => console.log(line));
    });
  const param = rill.command("param").description("read and change the parameters queries read with param('name') (a NATS KV bucket)");
  const paramOptions = (command: Command): Command => command
    .option("--nats <url>", "the NATS server holding the bucket (credentials may be in the URL)", process.env.RILL_NATS_URL ?? "nats://127.0.0.1:4222")
    .option("--bucket <name>", "the KV bucket (rill.params.bucket)", "rill_params");
  paramOptions(param.command("set").description("set a parameter: running queries use the new value from their next epoch").argument("<name>").argument("<value>"))
    .action(async (name: string, value: string, options: { nats: string; bucket: string }) => {
      await paramSet(name, value, options, (line) => console.log(line));
    });
  paramOptions(param.command("get").description("print a parameter's value (with --history, every revision the bucket keeps)").argument("<name>").option("--history", "every revision, oldest first"))
    .action(async (name: string, options: { nats: string; bucket: string; history?: boolean }) => {
      await paramGet(name, options, (line) => console.log(line));
    });
  paramOptions(param.command("ls").description("list every parameter with its value, type and revision"))
    .action(async (options: { nats: string; bucket: string }) => {
      await paramList(options, (line) => console.log(line));
    });
  rill.command("bench")
    .description("run the benchmark harness (from a clone of the Rill repository); options after -- go to it")
    .allowUnknownOption()
    .allowExcessArguments()
    .argument("[args...]", "the harness's own options, e.g. --full")
    .action(async (args: string[]) => {
      process.exitCode = await runBench(args);
    });
  rill.command("worker")
    .description("run a worker process of a cluster deployment")
    .allowUnknownOption()
    .allowExcessArguments()
    .argument("[args...]", "the worker's options")
    .action(async (args: string[]) => {
      await runWorker(args);
    });
  return rill;
}

async function runWorker(args: string[]): Promise<void> {
  await workerMain(args);
}

/** Exit status 2 for the user's mistakes (arguments, a wrong job or query), 1 for the rest. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await program().parseAsync([...argv], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const usersFault = error instanceof UsageError || (error instanceof RillError && error.owner === "user");
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`rill: ${message}\n`);
    if (process.env.RILL_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return usersFault ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
